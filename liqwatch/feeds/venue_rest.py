"""The REST adapter every venue's ``liqwatch/venues/<venue>/rest.py`` subclasses: which ccxt calls
to make and which payload fields mean what, with the defaults most venues share.

Each adapter turns ccxt's unified structures (and, where ccxt drops what liqwatch needs, the raw
``info`` payloads) into the normalised :mod:`liqwatch.feeds.events` data. ccxt has no type stubs,
so the exchange object is ``Any`` here; everything leaving an adapter is a validated pydantic
model or plain floats.

Read-only by construction: only ``fetch_*``/``load_markets`` and read-only implicit GET endpoints
(plus Hyperliquid's ``POST /info``, its read API) are called. Nothing here places, edits or
cancels orders, moves funds or changes leverage, margin or position modes (a test scans for it).

Field mapping (each adapter's docstring says where its venue differs):
* size = ccxt ``contracts`` x ``contractSize`` (base units).
* exchange liquidation price: None where the venue sends none, "", 0 or "0".
* isolated margin = the margin the venue's own liquidation formula uses, excluding unrealized PnL:
  Binance ``isolatedWallet``; Bybit ``size x |avgPrice - bustPrice|`` (``positionBalance`` holds the
  fee to close too, which Bybit's formula leaves out; see :class:`BybitRest`); OKX ``margin``;
  Hyperliquid ``leverage.rawUsd + szi*entryPx`` (= ``marginUsed - unrealizedPnl`` without its
  rounding); Bitget ``marginSize``; Gate ``margin``. README "Which payload fields feed the margin"
  says what each includes.
* ADL lights 0-5: Binance ``adl``/``adlQuantile`` 0-4 + 1; Bybit ``adlRankIndicator``, OKX ``adl``,
  Gate ``adl_ranking`` as they are; Hyperliquid and Bitget none.
* cross wallet balance (settle currency, excluding unrealized PnL and isolated margin): see each
  adapter's ``balance``.
* tick: the market's ``precision.price`` (ccxt tick-size mode on every venue here).
* fee rate: where the venue's formula counts the liquidation fee at the account's own taker rate
  (OKX, Bitget) each position carries that rate, read from the venue once per client and every
  :data:`FEE_REFRESH` seconds; where it cannot be read, ``fee_note`` says the venue's default was
  assumed. Binance and Hyperliquid count no fee; Bybit reads its rate only to take the fee to
  close out of ``positionBalance``; Gate prints its price at its default rate (see each adapter).
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from liqwatch.core.venues import get_venue
from liqwatch.feeds.ccxt_client import failure_reason
from liqwatch.feeds.events import AccountModeName, CollateralRow, CollateralTierRow, PositionData, TierRowData
from liqwatch.feeds.parse import DataError, MarginMode, PositionSide, as_dict, as_list, ms_to_s, num, positive
from liqwatch.numfmt import plain

if TYPE_CHECKING:
    from liqwatch.feeds.account import Account as AccountConfig

# Max leverage in a Tiers row must be > 0; venues occasionally send 0 for "not applicable".
MIN_LEVERAGE = 1.0
MAX_PAGES = 50
"""Pages of positions read at most (venues that page them)."""
# ccxt's precision modes (ccxt.base.decimal_to_precision; not imported: no ccxt at import time)
_DECIMAL_PLACES = 2
_TICK_SIZE = 4

FEE_REFRESH = 3600.0
"""Seconds an account's taker rates are reused before they are read again (fee tiers change
rarely: once when a client first sees positions, then hourly; never per reconcile)."""
FEE_RETRY = 300.0
"""Seconds before a failed taker-rate lookup is tried again (the venue's default stands in)."""
_MAX_TAKER = 0.01


COLLATERAL_TABLE_TTL = 600.0
"""Seconds a venue's public collateral-rate table read in live mode is reused (Bybit tiered
collateral ratios, OKX discount-rate tiers): they change by announcement, not by the minute."""


def tier_entry(rows: list[CollateralTierRow], basis: str = "quantity") -> dict[str, Any]:
    """Tiers (by quantity, or by USD ``value``) as a collateral-cache entry
    (:meth:`VenueRest.collateral_table`)."""
    return {"tiers": [{"min": r.min, "max": r.max, "ratio": r.ratio} for r in rows], "tier_basis": basis}


def ratio_of(mm: float | None, equity: float | None) -> float | None:
    """Maintenance margin / equity (1.0 = liquidation); None where either is unknown or the
    equity is not positive."""
    if mm is None or equity is None or equity <= 0:
        return None
    return mm / equity


def inverted(value: float | None) -> float | None:
    """1 / a ratio the venue quotes as equity / maintenance margin (OKX ``mgnRatio``, Gate
    ``total_maintenance_margin_rate``, Binance PM ``uniMMR``); None for None or a value <= 0."""
    if value is None or value <= 0:
        return None
    return 1.0 / value


def taken(kept: weakref.WeakKeyDictionary[Any, dict[str, Any]], ex: Any) -> dict[str, Any] | None:
    """What an adapter kept for ``ex`` from this cycle's balance read (removed: read once)."""
    return kept.pop(ex) if ex in kept else None


def first_tier_amount(rows: list[TierRowData]) -> list[TierRowData]:
    """Venues leave the first tier's maintenance amount empty (it is 0 by definition): fill it in
    when every other tier has one, so the table keeps the venue's amounts."""
    if len(rows) > 1 and rows[0].maint_amount is None and all(r.maint_amount is not None for r in rows[1:]):
        return [rows[0].model_copy(update={"maint_amount": 0.0}), *rows[1:]]
    return rows


def price_tick(ex: Any, market: dict[str, Any]) -> float | None:
    """The market's price tick from ccxt's ``precision.price`` (None where it has none)."""
    value = positive(as_dict(market.get("precision")).get("price"))
    if value is None:
        return None
    mode = getattr(ex, "precisionMode", None)
    if mode == _TICK_SIZE:
        return value
    if mode == _DECIMAL_PLACES:
        return float(10.0 ** -round(value))
    return None  # significant digits: no fixed tick


class InverseUnavailable(Exception):
    """Reading the coin-margined perpetuals (their positions or coin wallets) failed: the caller
    reads the account without them (:meth:`VenueRest.reads_inverse` off) and says so once."""

    def __init__(self, cause: Exception) -> None:
        super().__init__(str(cause))
        self.cause = cause


@contextmanager
def inverse_part() -> Iterator[None]:
    """Any failure inside is the coin-margined part's: raised as :class:`InverseUnavailable`."""
    try:
        yield
    except InverseUnavailable:
        raise
    except Exception as exc:
        raise InverseUnavailable(exc) from exc


def is_inverse(market: dict[str, Any]) -> bool:
    """A coin-margined (inverse) contract market as ccxt describes it."""
    return bool(market.get("contract")) and bool(market.get("inverse")) and not market.get("linear")


@dataclass(frozen=True, slots=True)
class Leg:
    """What is known of a position before its margin is mapped."""

    symbol: str
    side: Literal["long", "short"]
    size: float
    """Base units (contracts x contract size); USD face value for an inverse market."""
    entry: float
    market: dict[str, Any]
    inverse: bool = False

    @property
    def sign(self) -> int:
        return 1 if self.side == "long" else -1


@dataclass(frozen=True, slots=True)
class PositionSnapshot:
    """One read of an account's open linear positions."""

    raw: list[dict[str, Any]]
    """ccxt position structures (``info``: the venue's row)."""
    context: dict[str, Any]
    """The adapter's per-snapshot context (account margin mode, leverage, ADL, taker rates)."""
    positions: list[PositionData]


EMPTY_SNAPSHOT = PositionSnapshot([], {}, [])


@dataclass(slots=True)
class TakerRates:
    """One client's (one account's) own taker rates, per unified symbol, and for the symbols
    without one, why."""

    expires: float
    """The adapter's clock (monotonic) after which every rate is read again."""
    rates: dict[str, float] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------- base adapter


class VenueRest:
    """What differs between venues. Subclasses override the hooks they need."""

    name: ClassVar[str]
    ccxt_id: ClassVar[str]
    settle: ClassVar[str] = "USDT"
    tiers_need_keys: ClassVar[bool] = False
    account_taker_rate: ClassVar[bool] = False
    """The venue's liquidation formula counts the fee at the account's own taker rate: each
    position carries that rate (:meth:`taker_rates`, read once per client and every
    :data:`FEE_REFRESH` seconds), or a ``fee_note`` saying the venue's default was assumed."""
    fee_endpoint: ClassVar[str] = ""
    """Where :meth:`taker_rates` reads them (named in notes)."""

    def __init__(self) -> None:
        self._taker_cache: weakref.WeakKeyDictionary[Any, TakerRates] = weakref.WeakKeyDictionary()
        self.clock: Callable[[], float] = time.monotonic
        """What the taker-rate cache ages by."""
        self._table_cache: weakref.WeakKeyDictionary[Any, tuple[float, dict[str, list[CollateralTierRow]]]] = (
            weakref.WeakKeyDictionary()
        )
        """Per ccxt client, the venue's collateral table and when it was read (kept
        :data:`COLLATERAL_TABLE_TTL` seconds: the venue re-tiers rarely)."""

    async def collateral_tiers(self, ex: Any) -> dict[str, list[CollateralTierRow]]:
        """The venue's public collateral-rate table, coin -> tiers (venues that read one say how)."""
        raise NotImplementedError(f"{self.name}: no collateral table")

    async def _tables(self, ex: Any, need: set[str]) -> dict[str, list[CollateralTierRow]]:
        """The collateral table, read again once it is older than the TTL or lacks a coin in ``need``."""
        now = time.monotonic()
        kept = self._table_cache.get(ex)
        if kept is not None and now - kept[0] < COLLATERAL_TABLE_TTL and need <= kept[1].keys():
            return kept[1]
        tables = await self.collateral_tiers(ex)
        self._table_cache[ex] = (now, tables)
        return tables

    def options(self) -> dict[str, Any]:
        """ccxt constructor options (market types to load, no currency/account probes)."""
        return {}

    # ---- coin-margined (inverse) perpetuals: read where listed unless the account says ``inverse = false``

    lists_inverse: ClassVar[bool] = False
    """The venue lists coin-margined perpetuals liqwatch can read (config ``inverse``)."""

    def reads_inverse(self, account: AccountConfig) -> bool:
        """Whether ``account``'s feed reads the coin-margined perpetuals: where the venue lists
        them, unless the config says ``inverse = false``."""
        return self.lists_inverse and account.inverse is not False

    def account_options(self, account: AccountConfig) -> dict[str, Any]:
        """ccxt options for ``account``'s live client: :meth:`inverse_options` where it reads the
        coin-margined perpetuals too, else :meth:`options`."""
        return self.inverse_options() if self.reads_inverse(account) else self.options()

    def inverse_options(self) -> dict[str, Any]:
        """ccxt options that load the linear and the inverse perpetuals."""
        return self.download_options()

    def inverse_positions_params(self, account: AccountConfig) -> dict[str, Any] | None:
        """ccxt ``fetch_positions`` params of the coin-margined positions, where a call of their
        own reads them (None: the linear call returns them too, e.g. OKX ``instType=SWAP``)."""
        return None

    async def raw_inverse_positions(self, ex: Any, account: AccountConfig) -> list[dict[str, Any]]:
        params = self.inverse_positions_params(account)
        if params is None:
            return []
        result = await ex.fetch_positions(None, params)
        return [as_dict(p) for p in as_list(result)]

    async def inverse_balances(
        self, ex: Any, account: AccountConfig, positions: PositionSnapshot
    ) -> list[tuple[float, str, float | None]]:
        """(cross wallet balance, coin, venue timestamp or None) per coin wallet behind the
        coin-margined contracts: what a cross inverse position of that settle coin is backed by."""
        return []

    async def account_figures(self, ex: Any, account: AccountConfig) -> dict[str, tuple[float | None, float | None]]:
        """Per currency, (maintenance margin, equity) as the venue reports them for an account-level
        margin, read by :meth:`balances` (Deribit's account summaries); {} elsewhere."""
        return {}

    async def balances(
        self, ex: Any, account: AccountConfig, positions: PositionSnapshot
    ) -> list[tuple[float, str, float | None]]:
        """Every pool's cross wallet: the settle currency's (:meth:`balance`), then the coin
        wallets where the account reads its inverse perpetuals."""
        out = [await self.balance(ex, account, positions)]
        if self.reads_inverse(account):
            seen = {out[0][1]}
            with inverse_part():
                found = await self.inverse_balances(ex, account, positions)
            out += [b for b in found if b[1] not in seen]
        return out

    # ---- the account's margin mode and the venue's own account ratio (issue #21)

    async def account_mode(self, ex: Any, account: AccountConfig) -> tuple[AccountModeName, str]:
        """(mode, the venue's own words for it), read once at connect. Raises whatever ccxt raises
        (the client makes the mode ``unknown`` with the reason). Venues without a mode liqwatch
        does not compute say ``single``."""
        return "single", f"{self.name}: one wallet per settle coin (the venue has no other mode liqwatch reads)"

    async def venue_ratio(
        self, ex: Any, account: AccountConfig, mode: AccountModeName
    ) -> tuple[float | None, dict[str, float | str | None]]:
        """(the venue's account ratio as maintenance margin / equity, 1.0 = liquidation; the fields
        it comes from), read each REST cycle after :meth:`balances` (an adapter may reuse what that
        read kept); (None, {}) where the venue gives none. Raises whatever ccxt raises."""
        return None, {}

    async def stream_options(self, ex: Any) -> dict[str, Any]:
        """ccxt options the account's private position stream needs on its client ``ex``, asked
        when a session starts (Binance portfolio margin: ``portfolioMargin``, the papi listen key
        and ``/pm/ws`` stream); {} elsewhere. Raises whatever ccxt raises."""
        return {}

    def account_status(self, mode: AccountModeName, inputs: dict[str, float | str | None]) -> str | None:
        """The venue's own word for the account's risk state among :meth:`venue_ratio`'s inputs
        (Binance portfolio margin ``accountStatus``: NORMAL, MARGIN_CALL, SUPPLY_MARGIN,
        REDUCE_ONLY, ACTIVE_LIQUIDATION, FORCE_LIQUIDATION, BANKRUPTED); None where it gives none."""
        return None

    async def collateral_table(self, ex: Any) -> dict[str, dict[str, Any]]:
        """The venue's public collateral-rate table as collateral-cache entries (asset ->
        ``{"tiers": [{min, max, ratio}], "tier_basis"}`` or ``{"bid_buffer", "ask_buffer"}``), for
        ``liqwatch tiers update --collateral`` (``Venue.collateral_table_source`` names the endpoint);
        {} where liqwatch reads none. Raises whatever ccxt raises."""
        return {}

    async def collateral(self, ex: Any, account: AccountConfig, mode: AccountModeName) -> list[CollateralRow]:
        """Every collateral asset of a ``multi_assets`` account, valued as the venue publishes it,
        read after :meth:`venue_ratio`; [] where liqwatch does not compute the mode from it.
        Raises whatever ccxt raises, or DataError for an asset the venue gives no rate for."""
        return []

    def config(self, account: AccountConfig) -> dict[str, Any]:
        """Extra ccxt constructor keys (besides options and credentials)."""
        return {}

    # ---- positions

    async def raw_positions(self, ex: Any, account: AccountConfig) -> list[dict[str, Any]]:
        result = await ex.fetch_positions(None, self.positions_params(account))
        return [as_dict(p) for p in as_list(result)]

    def positions_params(self, account: AccountConfig) -> dict[str, Any]:
        return {}

    async def snapshot(self, ex: Any, account: AccountConfig) -> PositionSnapshot:
        """Every open linear position (and inverse one where the account reads them): the venue's
        rows, their context and what they map to."""
        rows = await self.raw_positions(ex, account)
        if self.reads_inverse(account):
            with inverse_part():
                rows = rows + await self.raw_inverse_positions(ex, account)
        return await self.snapshot_of(ex, account, rows)

    async def snapshot_of(
        self, ex: Any, account: AccountConfig, rows: list[dict[str, Any]], read: dict[str, Any] | None = None
    ) -> PositionSnapshot:
        """The snapshot of ``rows`` (ccxt position structures, open or not); ``read``: what the
        adapter kept from the same read for the snapshot's context (e.g. the whole response)."""
        inverse = self.reads_inverse(account)
        raw = [p for p in rows if self._is_open(ex, p, inverse=inverse)]
        context = await self.position_context(ex, account, raw)
        if read:
            context = {**read, **context}
        if raw and self.account_taker_rate:
            context = {**context, "taker_rates": await self.account_taker_rates(ex, [str(p["symbol"]) for p in raw])}
        return PositionSnapshot(raw, context, [self.position(ex, p, context) for p in raw])

    async def positions(self, ex: Any, account: AccountConfig) -> list[PositionData]:
        return (await self.snapshot(ex, account)).positions

    # ---- the account's taker rate

    async def taker_rates(self, ex: Any, symbols: list[str]) -> dict[str, float]:
        """The account's taker rate per symbol of ``symbols`` the venue gives one for (a positive
        fraction: 0.0005 = 0.05%). Raises whatever ccxt raises."""
        return {}

    async def account_taker_rates(self, ex: Any, symbols: list[str]) -> TakerRates:
        """``taker_rates`` for ``symbols``, cached per ccxt client: a symbol is looked up once
        and again after :data:`FEE_REFRESH` seconds (:data:`FEE_RETRY` after a failure). Never
        raises: a symbol without a rate has a problem instead, and the default rate stands in."""
        now = self.clock()
        entry = self._taker_cache.get(ex)
        if entry is None or now >= entry.expires:
            entry = TakerRates(expires=now + FEE_REFRESH)
            self._taker_cache[ex] = entry
        missing = sorted(set(symbols) - entry.rates.keys() - entry.problems.keys())
        if not missing:
            return entry
        try:
            found, reason = await self.taker_rates(ex, missing), "the venue gave no rate for this market"
        except Exception as exc:  # optional data: a failure must never fail the snapshot
            found, reason = {}, failure_reason(exc)
        for symbol in missing:
            rate = found.get(symbol)
            if rate is not None and 0 <= rate < _MAX_TAKER:
                entry.rates[symbol] = rate
            else:
                entry.problems[symbol] = reason if rate is None else f"an implausible taker rate {plain(rate)}"
        if any(symbol in entry.problems for symbol in missing):
            entry.expires = min(entry.expires, now + FEE_RETRY)
        return entry

    def fee(self, symbol: str, context: dict[str, Any]) -> tuple[float | None, str]:
        """(the account's taker rate for ``symbol``, or None and why the default is assumed)."""
        found = context.get("taker_rates")
        if not isinstance(found, TakerRates):
            return None, ""
        rate = found.rates.get(symbol)
        if rate is not None:
            return rate, ""
        default = get_venue(self.name).default_fee_rate
        why = found.problems.get(symbol, "not looked up")
        return None, (
            f"the account's taker rate could not be read ({self.fee_endpoint}: {why}); "
            f"the venue's default {plain(default * 100)}% is assumed"
        )

    async def position_context(self, ex: Any, account: AccountConfig, raw: list[dict[str, Any]]) -> dict[str, Any]:
        """Extra, per-snapshot data some venues need (account margin mode, ADL, leverage)."""
        return {}

    def _is_open(self, ex: Any, p: dict[str, Any], *, inverse: bool = False) -> bool:
        contracts = num(p.get("contracts"))
        if not contracts:
            return False
        symbol = p.get("symbol")
        if not isinstance(symbol, str) or symbol not in ex.markets:
            return False
        market = as_dict(ex.markets[symbol])
        return bool(market.get("contract")) and (bool(market.get("linear")) or (inverse and is_inverse(market)))

    def position(self, ex: Any, p: dict[str, Any], context: dict[str, Any]) -> PositionData:
        info = as_dict(p.get("info"))
        symbol = str(p["symbol"])
        market = as_dict(ex.markets[symbol])
        contracts = abs(num(p.get("contracts")) or 0.0)
        contract_size = positive(p.get("contractSize")) or positive(market.get("contractSize")) or 1.0
        side = self.side(p, info)
        entry = positive(p.get("entryPrice"))
        if entry is None:
            raise DataError(f"position {symbol} {side} has no entry price")
        margin_mode = self.margin_mode(p, info, context)
        inverse = is_inverse(market)
        if inverse:
            contract_size = self.inverse_contract_size(p, market)
        size = contracts * contract_size
        margin, note = (None, "")
        if margin_mode == "isolated":
            leg = Leg(symbol, side, size, entry, market, inverse)
            margin, note = (self.inverse_margin if inverse else self.isolated_margin)(p, info, context, leg)
        fee_rate, fee_note = self.fee(symbol, context)
        settle = market.get("settle")
        return PositionData(
            inverse=inverse,
            settle=settle.upper() if isinstance(settle, str) and settle else None,
            contracts=contracts,
            symbol=symbol,
            side=side,
            size=size,
            entry_price=entry,
            margin_mode=margin_mode,
            position_side=self.position_side(p, info),
            leverage=self.leverage(p, info, context),
            isolated_margin=margin,
            mark_price=self.mark_price(p, info),
            exchange_liquidation_price=self.liquidation_price(p, info),
            adl_lights=self.adl(p, info, context),
            contract_size=contract_size,
            tick_size=price_tick(ex, market),
            margin_note=note,
            fee_rate=fee_rate,
            fee_note=fee_note,
        )

    def inverse_contract_size(self, p: dict[str, Any], market: dict[str, Any]) -> float:
        """USD per contract of a coin-margined market (ccxt ``contractSize``: Binance BTC 100,
        OKX ``ctVal`` 100, Bybit 1 with ``contracts`` in USD, Gate ``quanto_multiplier`` 0 -> 1)."""
        return positive(market.get("contractSize")) or positive(p.get("contractSize")) or 1.0

    def inverse_margin(
        self, p: dict[str, Any], info: dict[str, Any], context: dict[str, Any], leg: Leg
    ) -> tuple[float | None, str]:
        """The isolated margin of a coin-margined position, in the settle coin: the same field as
        the linear one on every venue here except Bybit (see its adapter)."""
        return self.isolated_margin(p, info, context, leg)

    def side(self, p: dict[str, Any], info: dict[str, Any]) -> Literal["long", "short"]:
        side = p.get("side")
        if side in ("long", "short"):
            return "long" if side == "long" else "short"
        contracts = num(p.get("contracts")) or 0.0
        return "short" if contracts < 0 else "long"

    def margin_mode(self, p: dict[str, Any], info: dict[str, Any], context: dict[str, Any]) -> MarginMode:
        mode = p.get("marginMode")
        if mode == "isolated" or p.get("isolated") is True:
            return "isolated"
        return "cross"

    def position_side(self, p: dict[str, Any], info: dict[str, Any]) -> PositionSide:
        return "both"

    def leverage(self, p: dict[str, Any], info: dict[str, Any], context: dict[str, Any]) -> float | None:
        return positive(p.get("leverage"))

    def isolated_margin(
        self, p: dict[str, Any], info: dict[str, Any], context: dict[str, Any], leg: Leg
    ) -> tuple[float | None, str]:
        """(the margin the venue's liquidation formula uses, how it was derived when not a field)."""
        return num(p.get("positionMargin")), ""

    def mark_price(self, p: dict[str, Any], info: dict[str, Any]) -> float | None:
        return positive(p.get("markPrice"))

    liq_field: ClassVar[str] = ""
    """The raw payload field of the venue's liquidation price (ccxt derives one on some venues)."""

    def liquidation_price(self, p: dict[str, Any], info: dict[str, Any]) -> float | None:
        if self.liq_field:
            return positive(info.get(self.liq_field))
        return positive(p.get("liquidationPrice"))

    def adl(self, p: dict[str, Any], info: dict[str, Any], context: dict[str, Any]) -> int | None:
        return None

    # ---- balance

    balance_uses_positions: ClassVar[bool] = False
    """:meth:`balance` reads the positions snapshot (fetched for it when the caller has none)."""

    async def balance(
        self, ex: Any, account: AccountConfig, positions: PositionSnapshot
    ) -> tuple[float, str, float | None]:
        """(cross wallet balance, currency, venue timestamp in seconds or None). ``positions`` is
        the snapshot the caller already took (empty unless :attr:`balance_uses_positions`)."""
        raise NotImplementedError

    # ---- tiers

    async def tiers(
        self, ex: Any, symbols: list[str], has_keys: bool
    ) -> list[tuple[str, Literal["notional", "quantity"], list[TierRowData], str]]:
        """(symbol, basis, rows, note) per symbol the venue could give tiers for."""
        out: list[tuple[str, Literal["notional", "quantity"], list[TierRowData], str]] = []
        for symbol in symbols:
            if symbol not in ex.markets:
                continue
            rows = await ex.fetch_market_leverage_tiers(symbol)
            built = self.tier_rows(ex, symbol, [as_dict(r) for r in as_list(rows)])
            if built:
                out.append((symbol, self.tier_basis, built, self.tier_note))
        return out

    tier_basis: ClassVar[Literal["notional", "quantity"]] = "notional"
    tier_note: ClassVar[str] = ""

    # ---- `liqwatch tiers update` (liqwatch/tiers_update.py): where and how a venue's tables download
    tier_source: ClassVar[str] = ""
    """The public endpoint path the tables come from (the cache's ``source_url``)."""
    public_host: ClassVar[str] = ""
    tier_download: ClassVar[Literal["per_symbol", "cursor_pages", "offset_pages", "all_at_once"]] = "per_symbol"
    tier_file_basis: ClassVar[Literal["notional", "contracts"]] = "notional"
    tier_boundary: ClassVar[Literal["floor_inclusive", "cap_inclusive"]] = "floor_inclusive"
    tier_tick: ClassVar[bool] = True
    tier_inverse_unit: ClassVar[str] = ""
    """What an inverse (coin-margined) market's cached tier bounds are in, written into its entry
    as ``tier_unit`` (they are kept as the venue publishes them)."""
    """The market's ``precision.price`` is a fixed tick (not significant figures)."""

    def download_options(self) -> dict[str, Any]:
        """ccxt options for the download (every perpetual: linear and inverse where listed)."""
        return self.options()

    def tier_market_id(self, market: dict[str, Any]) -> Any:
        return market.get("id")

    def tier_rows(self, ex: Any, symbol: str, tiers: list[dict[str, Any]]) -> list[TierRowData]:
        rows: list[TierRowData] = []
        for t in tiers:
            mmr = num(t.get("maintenanceMarginRate"))
            if mmr is None:
                continue
            rows.append(
                TierRowData(
                    min_notional=num(t.get("minNotional")) or 0.0,
                    max_notional=positive(t.get("maxNotional")),
                    mmr=mmr,
                    max_leverage=positive(t.get("maxLeverage")) or MIN_LEVERAGE,
                    maint_amount=self.maint_amount(as_dict(t.get("info"))),
                )
            )
        return first_tier_amount(rows)

    def maint_amount(self, info: dict[str, Any]) -> float | None:
        return None

    # ---- marks

    async def marks(self, ex: Any, symbols: list[str]) -> list[tuple[str, float, float | None]]:
        """(symbol, mark price, venue timestamp in seconds or None). Never a last or mid price."""
        wanted = [s for s in symbols if s in ex.markets]
        if not wanted:
            return []
        inverse = [s for s in wanted if is_inverse(as_dict(ex.markets[s]))]
        linear = [s for s in wanted if s not in inverse]
        tickers: dict[str, Any] = {}
        if linear:
            tickers.update(as_dict(await self.fetch_mark_tickers(ex, linear)))
        if inverse:  # venues serve them from other endpoints (or with other params)
            tickers.update(as_dict(await self.fetch_inverse_mark_tickers(ex, inverse)))
        out: list[tuple[str, float, float | None]] = []
        for symbol in wanted:
            ticker = as_dict(tickers.get(symbol))
            price = self.ticker_mark(ticker)
            if price is not None:
                out.append((symbol, price, ms_to_s(ticker.get("timestamp"))))
        return out

    async def fetch_mark_tickers(self, ex: Any, symbols: list[str]) -> Any:
        return await ex.fetch_mark_prices(symbols)

    async def fetch_inverse_mark_tickers(self, ex: Any, symbols: list[str]) -> Any:
        return await self.fetch_mark_tickers(ex, symbols)

    def ticker_mark(self, ticker: dict[str, Any]) -> float | None:
        return positive(ticker.get("markPrice"))
