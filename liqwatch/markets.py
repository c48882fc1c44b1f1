"""Bundled market data (tier snapshots, tick and contract sizes) and tier resolution.

Reads the dated JSON snapshots shipped in ``liqwatch/data/tiers/<venue>.json`` (large ones as a
header + index there and one symbol per line in ``<venue>.jsonl``: only the requested symbol's line
is read) and the user's tier cache (:mod:`liqwatch.tiercache`; the fresher of the two wins). User
tier files and per-position tables or overrides take precedence (see :func:`resolve_table`). This module does file
I/O and therefore lives outside ``liqwatch.core``; it never imports ccxt or Textual.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from liqwatch import tiercache
from liqwatch.core.errors import InputError
from liqwatch.core.numfmt import plain, typed
from liqwatch.core.symbols import to_unified, unified_match
from liqwatch.core.tiers import Basis, TierTable, build_table, flat_table
from liqwatch.core.venues import Venue
from liqwatch.data.contracts import INVERSE, LINEAR_CONTRACT_SIZE

if TYPE_CHECKING:
    from datetime import date


@dataclass(frozen=True, slots=True)
class Market:
    symbol: str
    id: str
    table: TierTable
    tick_size: float | None = None
    contract_size: float | None = None
    """Base units (linear) or USD (inverse) per contract, as the snapshot or cache gives it."""
    fetched_at: str = ""
    source_url: str = ""
    inverse: bool = False
    """A coin-margined market (``BTC/USD:BTC``): settled in its base coin, sized in USD."""
    tier_unit: str = ""
    """An inverse cache entry's own words for its bounds (``liqwatch tiers update``)."""

    @property
    def origin(self) -> str:
        """``bundled`` (shipped with liqwatch) or ``cache`` (``liqwatch tiers update``): the table's."""
        return self.table.origin


def _market(venue: Venue, header: Mapping[str, Any], symbol: str, entry: Mapping[str, Any], origin: str) -> Market:
    """One symbol's entry of a snapshot in the loader format, as a Market."""
    basis: Basis = "quantity" if header.get("basis") in ("contracts", "quantity") else "notional"
    boundary = header.get("boundary", venue.default_boundary)
    contract_size = entry.get("contract_size")
    scale = float(contract_size) if basis == "quantity" and contract_size else 1.0
    rows = [dict(row) for row in entry["tiers"]]
    for row in rows:
        if row.get("mmr") is None:
            derived = venue.derive_mmr(float(row["max_leverage"]))
            if derived is None:
                raise ValueError(f"{origin} {venue.name} tiers for {symbol} lack an mmr")
            row["mmr"] = derived
    fetched_at = str(entry.get("fetched_at") or "")
    as_of = str(entry.get("as_of") or header.get("as_of") or fetched_at[:10])
    source = str(entry.get("source") or entry.get("source_url") or header.get("source", ""))
    if origin == "cache" and not entry.get("source"):
        source = foreign_source(venue, str(entry.get("source_url") or "")) or source
    table = build_table(
        rows,
        basis=basis,
        boundary=boundary,
        derive_maint_amount=venue.derives_maint_amount,
        source=source,
        as_of=as_of,
        quantity_scale=scale,
        complete=bool(entry.get("complete", header.get("complete", True))),
        origin=origin,
    )
    return Market(
        symbol=symbol,
        id=str(entry.get("id", symbol)),
        table=table,
        tick_size=entry.get("tick_size"),
        contract_size=contract_size,
        fetched_at=fetched_at,
        source_url=str(entry.get("source_url") or ""),
        inverse=bool(entry.get("inverse")) or is_inverse_symbol(symbol),
        tier_unit=str(entry.get("tier_unit") or ""),
    )


NOT_THE_VENUE = "(not the venue)"


def foreign_source(venue: Venue, url: str) -> str | None:
    """``cache from <scheme://host> (not the venue)`` when ``url`` (a cache entry's ``source_url``)
    is not on one of the venue's own hosts (``Venue.api_domains``; its testnet neither), else None:
    a table from ``tiers update --rest-url``, a proxy or a test server says so wherever it is used.
    An entry without a URL (a hand-written cache) says nothing."""
    if not url:
        return None
    scheme, _, rest = url.partition("://")
    host = rest.split("/", 1)[0].rpartition("@")[2]
    name = host.rsplit(":", 1)[0].lower() if host.count(":") == 1 else host.lower()
    domains = venue.api_domains
    if scheme == "https" and "testnet" not in name and any(name == d or name.endswith("." + d) for d in domains):
        return None
    return f"cache from {scheme}://{host} {NOT_THE_VENUE}"


class LazyMarkets(Mapping[str, Market]):
    """Upper-case unified symbol -> Market, built on first access from the snapshot's entry.

    An indexed snapshot (``index`` + ``data`` file, see scripts/build_tier_index.py) is read one
    line at a time: looking a symbol up reads the small index and that symbol's line only."""

    def __init__(self, venue: Venue, header: dict[str, Any], origin: str, reader: Any = None) -> None:
        self._venue = venue
        self._header = header
        self._origin = origin
        self._reader = reader  # (offset, length) -> bytes, for an indexed snapshot
        self._index: dict[str, list[Any]] = header.get("index") or {}
        self._inline: dict[str, Any] = header.get("symbols") or {}
        self.names = {name.upper(): name for name in (self._index or self._inline)}
        """Upper-case unified symbol -> the snapshot's spelling: ``key in markets.names`` is the
        membership test without a Python-level ``__contains__`` call (once per position of a file)."""
        self._built: dict[str, Market] = {}
        self.reads = 0
        """How many symbol entries were read from the data file (tests check the laziness)."""

    def entry(self, key: str) -> dict[str, Any] | None:
        name = self.names.get(key)
        if name is None:
            return None
        if name in self._inline:
            found: dict[str, Any] = self._inline[name]
            return found
        _, offset, length = self._index[name]
        self.reads += 1
        loaded: dict[str, Any] = json.loads(self._reader(int(offset), int(length)))
        return loaded

    def __getitem__(self, key: str) -> Market:
        market = self._built.get(key)
        if market is None:
            entry = self.entry(key)
            if entry is None:
                raise KeyError(key)
            market = _market(self._venue, self._header, self.names[key], entry, self._origin)
            self._built[key] = market
        return market

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)

    def __contains__(self, key: object) -> bool:
        return key in self.names

    def ids(self) -> dict[str, str]:
        """Upper-case native id -> upper-case unified symbol."""
        out: dict[str, str] = {}
        if self._index:
            for name, (native, _off, _len) in self._index.items():
                out[str(native).upper()] = name.upper()
        else:
            for name, entry in self._inline.items():
                out[str(entry.get("id", name)).upper()] = name.upper()
        return out


@dataclass(frozen=True, slots=True)
class Bundle:
    venue: str
    as_of: str
    source: str
    markets: LazyMarkets
    by_id: dict[str, str]
    origin: str = "bundled"
    slash_ids: bool = field(init=False)
    """Whether a native id has a "/" (none does today): else a key with one is never an id."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "slash_ids", any("/" in native for native in self.by_id))


def _read_bundle_json(venue: str) -> tuple[dict[str, Any], Any] | None:
    base = resources.files("liqwatch.data.tiers")
    path = base.joinpath(f"{venue}.json")
    if not path.is_file():
        return None
    header: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    data_name = header.get("data")
    reader = None
    if data_name:
        data_path = base.joinpath(str(data_name))

        def reader(offset: int, length: int) -> bytes:
            with data_path.open("rb") as handle:
                handle.seek(offset)
                return handle.read(length)

    return header, reader


@cache
def bundle(venue: Venue) -> Bundle:
    """The venue's bundled snapshot: its header and index, loaded once, lazily, only for the venue
    asked for; each market is built on first access (``Bundle.markets``)."""
    header, reader = _read_bundle_json(venue.name) or ({"symbols": {}, "as_of": "", "source": ""}, None)
    markets = LazyMarkets(venue, header, "bundled", reader)
    return Bundle(venue.name, header.get("as_of", ""), header.get("source", ""), markets, markets.ids())


CACHE_RECHECK = 1.0
"""Seconds during which a look at the cache file stands (a portfolio looks symbols up thousands
of times; a long-running dashboard sees another process's update within this)."""

_cache_seen: dict[tuple[str, str | None, int], tuple[float, Bundle | None]] = {}


def cached(venue: Venue) -> Bundle | None:
    """The venue's tier cache (``liqwatch tiers update``), or None when there is none. A corrupt
    cache file is ignored with one warning line on stderr (liqwatch.tiercache). The file is
    looked at again after CACHE_RECHECK seconds, at once after this process wrote it."""
    key = (venue.name, os.environ.get(tiercache.ENV_VAR), tiercache.generation())
    now = time.monotonic()
    seen = _cache_seen.get(key)
    if seen is not None and now - seen[0] < CACHE_RECHECK:
        return seen[1]
    path = tiercache.cache_path(venue.name)
    try:
        st = path.stat()
    except OSError:
        found = None
    else:
        found = _cached(venue, str(path), st.st_mtime_ns, st.st_size)
    _cache_seen[key] = (now, found)
    return found


@cache
def _cached(venue: Venue, path: str, mtime_ns: int, size: int) -> Bundle | None:
    from liqwatch import tiercache

    raw = tiercache.read_cache(venue.name)
    if raw is None:
        return None
    markets = LazyMarkets(venue, raw, "cache")
    return Bundle(venue.name, "", "", markets, markets.ids(), origin="cache")


def _fresher(bundled: Market | None, cached_market: Market | None) -> Market | None:
    """The cached market unless the bundled one is strictly newer (by ``as_of``)."""
    if bundled is None or cached_market is None:
        return cached_market or bundled
    if bundled.table.as_of and bundled.table.as_of > (cached_market.table.as_of or ""):
        return bundled
    return cached_market


def _lookup(sources: tuple[Bundle, Bundle | None], key: str, *, by_id: bool) -> Market | None:
    """The market named ``key`` (a native id when ``by_id``, else an upper-case unified symbol) in
    the bundled snapshot and the cache, the fresher of the two (once per position of a file)."""
    bundled, cache = sources
    name = bundled.by_id.get(key) if by_id else key if key in bundled.markets.names else None
    found = bundled.markets[name] if name is not None else None
    if cache is None:
        return found
    name = cache.by_id.get(key) if by_id else key if key in cache.markets.names else None
    return _fresher(found, cache.markets[name] if name is not None else None)


Sources = tuple[Bundle, Bundle | None]


def sources(venue: Venue) -> Sources:
    """The venue's bundled snapshot and tier cache as they stand now: a command that looks up many
    symbols (a portfolio file) takes them once and passes them to :func:`find_market`."""
    return (bundle(venue), cached(venue))


def bundled_only(venue: Venue) -> Sources:
    """The venue's bundled snapshot alone, never the cache: the demo's tables (``liqwatch demo``,
    ``watch --demo``) are the same on every machine, whatever ``tiers update`` fetched."""
    return (bundle(venue), None)


def find_market(
    venue: Venue, symbol: str, known: Sources | None = None, *, inverse: bool = False
) -> tuple[str, Market | None]:
    """(unified symbol, market or None): the bundled or cached tables of the symbol, the fresher
    of the two when both exist (``known``: from :func:`sources`, else looked at now). Raises
    InputError for an unreadable symbol.

    Coin-margined (inverse) symbols — ``BTC/USD:BTC`` or a venue id (``BTCUSD_PERP``, ``BTCUSD``,
    ``BTC-USD-SWAP``, ``BTC_USD``) — resolve to ``BASE/USD:BASE`` when ``inverse`` is true (the
    caller builds inverse specs: ``liqwatch calc``); otherwise they are refused in one line."""
    key = symbol.strip().upper()
    tables = known if known is not None else (bundle(venue), cached(venue))
    slash_ids = tables[0].slash_ids or (tables[1] is not None and tables[1].slash_ids)
    found = _lookup(tables, key, by_id=True) if slash_ids or "/" not in key else None
    if found is not None:
        held = unified_match(found.symbol.upper())  # a cached coin-margined entry (tiers update)
        if held is not None and (held.group(3) != held.group(2) or held.group(2) == "USD"):
            _coin_margined(venue, symbol, held.group(1), held.group(2), held.group(3), inverse)
        return found.symbol, found
    if key.endswith("USD_PERP") and len(key) > 8:  # Binance COIN-M ids (BTCUSD_PERP)
        base = key.removesuffix("USD_PERP")
        unified = _coin_margined(venue, symbol, base, "USD", base, inverse)
        market = _lookup(tables, unified, by_id=False)
        return (market.symbol if market else unified), market
    parts = unified_match(key)  # the usual form first: one match, no rebuilding
    if parts is not None:
        unified = key
        base, quote, settle = parts.groups()
    else:
        converted = to_unified(symbol, venue.settle)
        if converted is None:
            raise InputError("symbol", f"cannot read {symbol!r} as a symbol (use e.g. BTC/USDT:USDT)")
        unified = converted
        base, _, rest = unified.partition("/")
        quote, _, settle = rest.partition(":")
    if settle != quote or quote == "USD":
        unified = _coin_margined(venue, symbol, base, quote, settle, inverse)
    market = _lookup(tables, unified, by_id=False)
    return (market.symbol if market else unified), market


def is_inverse_symbol(symbol: str) -> bool:
    """True for a unified coin-margined symbol (``BTC/USD:BTC``: settled in its base coin)."""
    base, _, rest = symbol.upper().partition("/")
    return rest.partition(":")[2] == base and bool(base)


def inverse_unified(symbol: str) -> str | None:
    """``BASE/USD:BASE`` for a coin-margined symbol as a user may type it (``BTC/USD:BTC``,
    ``BTCUSD_PERP``, ``BTCUSD``, ``BTC-USD-SWAP``, ``BTC_USD``), else None. No table is looked at."""
    key = symbol.strip().upper()
    if key.endswith("USD_PERP") and len(key) > 8:
        base = key.removesuffix("USD_PERP")
        return f"{base}/USD:{base}"
    unified = to_unified(key)
    if unified is None:
        return None
    base, _, rest = unified.partition("/")
    quote, _, settle = rest.partition(":")
    return f"{base}/USD:{base}" if quote == "USD" and settle in ("USD", base) else None


def settle_of(symbol: str) -> str:
    """The settle currency of a unified symbol (``BTC/USD:BTC`` -> ``BTC``)."""
    return symbol.rpartition(":")[2].upper()


def contract_size_for(venue: Venue, symbol: str, market: Market | None, inverse: bool) -> float | None:
    """The bundled (or cached) contract size of ``symbol``: USD per contract for an inverse market,
    base units for a linear one; None where liqwatch does not know it."""
    if inverse:
        family = INVERSE.get(venue.name)
        if family is None or family.btc_contract_size is None:
            return None  # Bitget: not even a cached size is trusted (ccxt's unit is unverified)
        if market is not None and market.contract_size:
            return float(market.contract_size)
        return family.contract_size(symbol.partition("/")[0])
    if market is not None and market.contract_size:
        return float(market.contract_size)
    return LINEAR_CONTRACT_SIZE.get(venue.name)


def inverse_table_refusal(venue: Venue, symbol: str, market: Market) -> str | None:
    """Why a coin-margined market's bundled or cached table cannot be used, or None."""
    family = INVERSE.get(venue.name)
    if not market.inverse or (family is not None and family.tier_bounds is not None):
        return None
    base = symbol.partition("/")[0]
    return (
        f"the {venue.name} tier table of {symbol} is in a unit liqwatch has not verified "
        f"({market.tier_unit or 'not stated'}); give mmr (and maint_amount, in {base}) or a tiers table "
        f"(bounds in {base})"
    )


def _coin_margined(venue: Venue, symbol: str, base: str, quote: str, settle: str, allowed: bool) -> str:
    """The unified symbol of a coin-margined market (``BASE/USD:BASE``), or InputError where it
    cannot be computed: not asked for, a venue without such markets, or neither linear nor inverse."""
    if quote != "USD" or settle not in ("USD", base):
        raise InputError(
            "symbol",
            f"{symbol} is quoted in {quote} and settled in {settle}: liqwatch computes linear perpetuals "
            f"(settled in the quote) and coin-margined ones (settled in the base, quoted in USD) only",
        )
    if not allowed:
        refuse_inverse(venue, symbol, base)
    if not venue.supports_inverse or venue.name not in INVERSE:
        if venue.inverse_refusal:  # it lists them, but liqwatch cannot price them there (Deribit)
            raise InputError("symbol", f"{symbol} is a coin-margined (inverse) market: {venue.inverse_refusal}")
        raise InputError(
            "symbol",
            f"{venue.label or venue.name} lists no coin-margined (inverse) markets: use "
            f"{base}/{venue.settle}:{venue.settle}",
        )
    return f"{base}/USD:{base}"


def stale_days(table: TierTable, today: date | None = None) -> int | None:
    """Days since the table's ``as_of`` (None when it has no readable date). Day numbers are
    computed by hand rather than with ``datetime``, whose import `liqwatch calc` need not pay."""
    day = _day_number(table.as_of[:10])
    if day is None:
        return None
    now = today.toordinal() - _EPOCH_ORDINAL if today is not None else int(time.time() // 86400)
    return now - day


_EPOCH_ORDINAL = 719163  # date(1970, 1, 1).toordinal()


def _day_number(text: str) -> int | None:
    """Days since 1970-01-01 of an ISO ``YYYY-MM-DD`` date (proleptic Gregorian), else None."""
    parts = text.split("-")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return None
    y, m, d = (int(p) for p in parts)
    if not (1 <= m <= 12 and 1 <= d <= 31):
        return None
    y -= m <= 2  # March-based year (days-from-civil)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


STALE_DAYS = 30


STALE_LINES = 3
"""More stale tables than this (a large portfolio) become one summary line."""


def stale_warnings(tables: Iterable[tuple[str, TierTable]], today: date | None = None) -> list[str]:
    """One line per (symbol, table) older than STALE_DAYS days, for stderr; beyond STALE_LINES
    tables, one line that counts them and names the oldest."""
    stale: list[tuple[int, str, TierTable]] = []
    seen: set[str] = set()
    for symbol, table in tables:
        if table.origin not in ("bundled", "cache") or symbol in seen:  # a file's own list is never stale
            continue
        seen.add(symbol)
        age = stale_days(table, today)
        if age is not None and age > STALE_DAYS:
            stale.append((age, symbol, table))
    if len(stale) > STALE_LINES:
        age, symbol, table = max(stale, key=lambda item: item[0])
        return [
            f"warning: {len(stale)} tier tables are over {STALE_DAYS} days old (oldest: {symbol}, {age} days, "
            f"{table.origin}, as of {table.as_of}); refresh them with `liqwatch tiers update`"
        ]
    return [
        f"warning: {symbol} tier table is {age} days old ({table.origin}, as of {table.as_of}); "
        "refresh it with `liqwatch tiers update`"
        for age, symbol, table in stale
    ]


def refuse_inverse(venue: Venue, symbol: str, base: str) -> None:
    """Coin-margined (inverse) markets need their own maths: refuse rather than compute them with
    the linear formula."""
    if venue.inverse_refusal:  # the venue lists them, but liqwatch cannot price them there (Deribit)
        raise InputError("symbol", f"{symbol} is a coin-margined (inverse) market: {venue.inverse_refusal}")
    raise InputError(
        "symbol",
        f"{symbol} is a coin-margined (inverse) market; liqwatch computes linear {venue.settle}-settled "
        f"perpetuals only for now: use the linear market (e.g. {base}/{venue.settle}:{venue.settle})",
    )


def table_from_rows(venue: Venue, rows: Sequence[Mapping[str, Any]], source: str, origin: str = "file") -> TierTable:
    """A user-supplied notional tier table with the venue's boundary and maintenance-amount rules.
    Raises InputError("tiers", ...) for overlapping brackets or an empty bracket."""
    ordered = sorted(rows, key=lambda r: r.get("min_notional") or 0.0)
    for low, high in itertools.pairwise(ordered):
        cap = low.get("max_notional")
        if cap is not None and cap > (high.get("min_notional") or 0.0):
            raise InputError("tiers", "tiers overlap: each max_notional must be <= the next min_notional")
    for row in ordered:
        cap = row.get("max_notional")
        if cap is not None and cap <= (row.get("min_notional") or 0.0):
            raise InputError("tiers", "max_notional must be greater than min_notional")
    prepared: list[dict[str, float | None]] = []
    for row in rows:
        mmr = row.get("mmr")
        if mmr is None:
            mmr = venue.derive_mmr(float(row["max_leverage"] or 0))
            if mmr is None:
                raise InputError("tiers", f"every tier needs an mmr on {venue.name}")
        prepared.append(
            {
                "min": row.get("min_notional", 0.0),
                "max": row.get("max_notional"),
                "mmr": mmr,
                "max_leverage": row["max_leverage"],
                "maint_amount": row.get("maint_amount"),
            }
        )
    return build_table(
        prepared,
        basis="notional",
        boundary=venue.default_boundary,
        derive_maint_amount=venue.derives_maint_amount,
        source=source,
        origin=origin,
    )


def mmr_refusal(mmr: float, *, percent_sign: bool = True) -> str:
    """Why a maintenance margin rate outside [0, 1) is refused: a rate of 1 or more (100 %) is never
    a venue's, it is a percentage typed as a fraction (``--mmr 0.5`` meant as 0.5 % is 50 %; ``--mmr
    5`` is 500 %), so the message gives the fraction to type (and, where a ``%`` is read: calc's
    flags, the percentage)."""
    if not (math.isfinite(mmr) and mmr >= 1):
        return f"must be in [0, 1), got {typed(mmr)}"
    shown = typed(mmr)
    way = f"{typed(mmr / 100)} or {shown}%" if percent_sign else typed(mmr / 100)
    example = "0.005 or 0.5%" if percent_sign else "0.005"
    return (
        f"{shown} is a maintenance margin rate of {plain(mmr * 100)} %, and no venue's reaches 100 %: give a "
        f"fraction below 1 (0.5 % is {example}); for {shown} % give {way}"
    )


def resolve_table(
    venue: Venue,
    symbol: str,
    market: Market | None,
    *,
    position_tiers: TierTable | None = None,
    user_tables: Mapping[str, TierTable] | None = None,
    mmr: float | None = None,
    maint_amount: float | None = None,
    max_leverage: float | None = None,
    bracket_value: float = 0.0,
    field_prefix: str = "",
    percent_sign: bool = True,
) -> TierTable:
    """Pick the tier table for a position: overrides > per-position table > user file > bundled.

    ``mmr`` / ``maint_amount`` pin one bracket for every price (the user states the rate). A
    ``max_leverage`` on a venue that derives MMR from it (Hyperliquid) defines the bracket: one
    bracket with MMR = 1/(2 x L) and no deduction. Elsewhere it replaces the brackets' leverage cap.
    Whatever is returned is the table the maths uses, so every reported bracket field is its own.
    """
    base: TierTable | None = position_tiers
    if base is None and user_tables:
        base = user_tables.get(symbol.upper())
    refusal = None
    if base is None and market is not None:
        refusal = inverse_table_refusal(venue, symbol, market) if market.inverse else None
        if refusal is None:
            base = market.table
    derived = venue.derive_mmr(max_leverage) if max_leverage is not None else None
    if derived is not None and mmr is None:
        # The venue defines the bracket by its max leverage (Hyperliquid MMR = 1/(2L)): the override
        # is the whole bracket, its MMR and (one bracket, no deduction) its maintenance amount.
        if not 0 <= derived < 1:
            raise InputError(f"{field_prefix}max_leverage", f"gives an MMR of {plain(derived)}; must be in [0, 1)")
        return flat_table(derived, maint_amount if maint_amount is not None else 0.0, max_leverage or 0.0)
    if mmr is not None or maint_amount is not None:
        current = base.lookup(bracket_value) if base is not None else None
        if mmr is None:
            if current is None:
                raise InputError(f"{field_prefix}mmr", f"unknown symbol {symbol} on {venue.name}: give mmr too")
            mmr = current.mmr
            amount = maint_amount if maint_amount is not None else current.maint_amount
        else:
            amount = maint_amount if maint_amount is not None else 0.0
        if not 0 <= mmr < 1:
            raise InputError(f"{field_prefix}mmr", mmr_refusal(mmr, percent_sign=percent_sign))
        lev = max_leverage or (current.max_leverage if current is not None else float("inf"))
        return flat_table(mmr, amount, lev, source="override")
    if base is not None and max_leverage is not None:
        return base.with_max_leverage(max_leverage)
    if base is None:
        if refusal is not None:
            raise InputError(f"{field_prefix}symbol", refusal)
        if is_inverse_symbol(symbol):
            coin = symbol.partition("/")[0]
            family = INVERSE.get(venue.name)
            update = (
                f"get it with `liqwatch tiers update --exchange {venue.name} --symbol {symbol}`, or "
                if family is not None and family.tiers_update and family.tier_bounds is not None
                else ""
            )
            raise InputError(
                f"{field_prefix}symbol",
                f"no bundled or cached tier table for the coin-margined {symbol} on {venue.name}; {update}"
                f"give mmr (and maint_amount, in {coin}) or a tiers table (bounds in {coin})",
            )
        raise InputError(
            f"{field_prefix}symbol",
            f"unknown symbol {symbol} on {venue.name}: no bundled or cached tier table; get it with "
            f"`liqwatch tiers update --exchange {venue.name} --symbol {symbol}`, "
            "or give mmr/max_leverage or a tiers table",
        )
    return base
