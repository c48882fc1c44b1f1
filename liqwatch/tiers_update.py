"""``liqwatch tiers update``: download every perpetual's public tier table and market spec through
ccxt and write them into the tier cache (:mod:`liqwatch.tiercache`), one file per venue.

Sources (all public reads but Binance's, which needs an account's keys):

* Bybit ``GET /v5/market/risk-limit`` (category linear and inverse, paginated by ``cursor`` /
  ``nextPageCursor``); ``mmDeduction`` = maintenance amount.
* OKX ``GET /api/v5/public/position-tiers`` per instrument family (``tdMode`` cross); rows kept in
  contracts (``basis: contracts``) with the instrument's ``ctVal`` as ``contract_size``.
* Gate ``GET /api/v4/futures/{usdt,btc}/risk_limit_tiers`` (paginated by ``offset``); ``deduction``.
* Bitget ``GET /api/v2/mix/market/query-position-lever`` per symbol (USDT-FUTURES and COIN-FUTURES).

Inverse (coin-margined) perpetuals are downloaded too (Binance COIN-M, Bybit, OKX ``BTC-USD-SWAP``,
Gate BTC-settled, Bitget COIN-FUTURES): their entries say ``inverse: true``, ``settle`` and, in
``tier_unit``, what their bounds are in (kept as the venue publishes them). ``liqwatch calc``
prices them from the cache.
* Hyperliquid ``POST /info {"type": "meta"}`` margin tables; mmr = 1/(2 x max leverage).
* Binance ``GET /fapi/v1/leverageBracket`` and, for the COIN-M perpetuals, ``GET
  /dapi/v2/leverageBracket`` (``qtyFloor``/``qtyCap`` in coin notional; private, the same keys):
  with the config's Binance account's keys, else the bundled set is kept. A failure of the COIN-M
  part (no COIN-M permission) leaves the linear tables.

Every call goes through ccxt with its rate limiter on; a 429, a 5xx or a network failure is retried
with exponential backoff (:class:`Retry`). Tables that came through are merged into the cache (a
symbol that failed keeps its previous table); a venue whose download failed entirely exits non-zero.
Read-only by construction: only ``load_markets``, ``fetch_*`` and public GET endpoints (and
Hyperliquid's read ``POST /info``).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from liqwatch.feeds.parse import as_dict, as_list, num, positive
from liqwatch.feeds.venue_rest import is_inverse, price_tick

if TYPE_CHECKING:
    from liqwatch.config import AccountConfig, Secrets
    from liqwatch.feeds.events import TierRowData
    from liqwatch.feeds.venue_rest import VenueRest

T = TypeVar("T")

CONCURRENCY = 8
"""Per-symbol requests in flight at once (ccxt's rate limiter paces them further)."""
PAGE_SIZE = 100
"""Contracts per offset-paged tier request (the venue's maximum)."""


NOT_LISTED = "none of the symbols is a perpetual of this venue"


def kept_bundled(venue: str) -> str:
    return f"{venue}: brackets are private and no {venue} account with keys is configured; kept the bundled set"


# --------------------------------------------------------------------------- retries


@dataclass(slots=True)
class Retry:
    """Retries of one call on a rate limit, a 5xx or a network failure, with exponential backoff
    and jitter. ``sleep`` is injectable (tests make retries instant)."""

    attempts: int = 5
    base: float = 0.5
    cap: float = 20.0
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    retries: int = 0

    async def call(self, fn: Callable[[], Awaitable[T]]) -> T:
        for attempt in range(self.attempts):
            try:
                return await fn()
            except Exception as exc:
                if attempt + 1 >= self.attempts or not retryable(exc):
                    raise
                self.retries += 1
                delay = min(self.cap, self.base * 2**attempt)
                await self.sleep(delay * (0.5 + random.random() / 2))
        raise AssertionError("unreachable")


def retryable(exc: BaseException) -> bool:
    """A rate limit (429/418, ccxt DDoSProtection/RateLimitExceeded), a 5xx, a timeout or a broken
    connection: worth another try. A DNS failure or a refused connection is not (the network is
    plainly down, or the URL is wrong): it fails at once (:func:`liqwatch.feeds.ccxt_client.classify`)."""
    from liqwatch.feeds.ccxt_client import classify

    return classify(exc).transient


# --------------------------------------------------------------------------- results


@dataclass(slots=True)
class VenueResult:
    venue: str
    symbols: dict[str, dict[str, Any]] = field(default_factory=dict)
    """unified symbol -> cache entry (loader format)."""
    failures: dict[str, str] = field(default_factory=dict)
    """symbol (or "*" for the whole venue) -> why."""
    note: str = ""
    skipped: str = ""
    """What was left out and why (a venue's coin-margined markets that could not be loaded)."""
    wanted: int = 0
    seconds: float = 0.0
    retries: int = 0
    error: BaseException | None = None
    """What made the venue unreadable, when ``fatal`` (for a caller's own words: calc's fetch)."""
    fatal: bool = False
    """The venue could not be read at all (its markets did not load): ``failures["*"]`` is the one
    line that says what failed, why and what to do, and the summary."""

    @property
    def failed_entirely(self) -> bool:
        return bool(self.failures) and not self.symbols

    def summary(self) -> str:
        if self.note:
            return self.note
        if self.fatal:
            return self.failures["*"]
        text = f"{self.venue}: {len(self.symbols)}/{self.wanted} tables in {self.seconds:.1f}s"
        if self.retries:
            text += f", {self.retries} retries"
        if self.skipped:
            text += f"; {self.skipped}"
        if self.failures:
            shown = "; ".join(f"{k}: {v}" for k, v in list(self.failures.items())[:3])
            more = f" (+{len(self.failures) - 3} more)" if len(self.failures) > 3 else ""
            text += f"; {len(self.failures)} failed ({shown}{more}); their cached tables kept"
        return text


Progress = Callable[[str, int, int], None]
"""progress(venue, done, total)"""


def _now_iso() -> str:
    from liqwatch.tiercache import utc_now_iso

    return utc_now_iso()


def rows_to_loader(rows: Iterable[TierRowData], scale: float = 1.0) -> list[dict[str, Any]]:
    """TierRowData (base units or notional) as loader rows; ``scale`` divides the bounds (OKX)."""
    out: list[dict[str, Any]] = []
    for r in rows:
        row: dict[str, Any] = {
            "min": r.min_notional / scale,
            "max": (r.max_notional / scale) if r.max_notional is not None else None,
            "mmr": r.mmr,
            "max_leverage": r.max_leverage,
        }
        if r.maint_amount is not None:
            row["maint_amount"] = r.maint_amount
        out.append(row)
    return out


def liquidation_fee(market: dict[str, Any], field: str | None) -> float | None:
    """The market's per-symbol liquidation fee rate from the venue's exchange info (Binance
    ``liquidationFee``, e.g. "0.012500"), or None where the venue has none or it is unreadable."""
    if not field:
        return None
    raw = num(as_dict(market.get("info")).get(field))
    return raw if raw is not None and 0 <= raw < 1 else None


def market_entry(
    adapter: VenueRest,
    ex: Any,
    symbol: str,
    tiers: list[dict[str, Any]],
    source_url: str,
    fee_field: str | None = None,
) -> dict[str, Any]:
    market = as_dict(ex.markets.get(symbol))
    now = _now_iso()
    venue_id = market.get("id")
    if (
        as_dict(market.get("info")).get("name")
        and market.get("swap")
        and "marginTableId" in as_dict(market.get("info"))
    ):
        venue_id = as_dict(market.get("info")).get("name")  # Hyperliquid: the coin name, not the asset index
    entry: dict[str, Any] = {
        "id": venue_id,
        "contract_size": positive(market.get("contractSize")) or 1.0,
        "linear": bool(market.get("linear")),
        "inverse": bool(market.get("inverse")),
        "settle": market.get("settle"),
        "tiers": tiers,
        "fetched_at": now,
        "source_url": source_url,
        "as_of": now[:10],
    }
    if entry["inverse"]:
        entry["tier_unit"] = adapter.tier_inverse_unit or "as published by the venue"
    fee = liquidation_fee(market, fee_field)
    if fee is not None:
        entry["liquidation_fee"] = fee
    tick = price_tick(ex, market) if adapter.tier_tick else None
    if tick is not None:
        entry["tick_size"] = tick
    return entry


def perpetuals(ex: Any, wanted: list[str] | None) -> list[str]:
    """Every perpetual (swap) market's unified symbol, or those of ``wanted`` the venue lists
    (given as unified symbols or venue ids)."""
    swaps = {s: as_dict(m) for s, m in ex.markets.items() if as_dict(m).get("swap")}
    if not wanted:
        return sorted(swaps)
    by_id = {str(m.get("id")).upper(): s for s, m in swaps.items()}
    out: list[str] = []
    for w in wanted:
        symbol = w if w in swaps else by_id.get(w.upper().replace("/", "").replace(":", ""), by_id.get(w.upper()))
        if symbol is not None and symbol not in out:
            out.append(symbol)
    return out


# --------------------------------------------------------------------------- per-venue downloads


class Download:
    """One venue's download over an open ccxt client."""

    def __init__(self, venue: str, adapter: VenueRest, ex: Any, base_url: str, retry: Retry, progress: Progress):
        self.venue = venue
        self.adapter = adapter
        self.ex = ex
        self.source = base_url.rstrip("/") + adapter.tier_source
        self.retry = retry
        self.progress = progress
        from liqwatch.core.venues import VENUES

        self.fee_field = VENUES[venue].liquidation_fee_per_symbol if venue in VENUES else None

    async def run(self, symbols: list[str], result: VenueResult, explicit: bool) -> None:
        style = self.adapter.tier_download
        if style == "per_symbol":
            await self._per_symbol(symbols, result)
        elif style == "cursor_pages":
            await self._cursor_pages(symbols, result, explicit)
        elif style == "offset_pages":
            await self._offset_pages(symbols, result, explicit)
        else:
            await self._all_at_once(symbols, result)

    def _add(self, result: VenueResult, symbol: str, rows: list[TierRowData]) -> None:
        if not rows:
            result.failures[symbol] = "the venue sent no tiers"
            return
        scale = 1.0
        if self.adapter.tier_file_basis == "contracts":
            scale = positive(as_dict(self.ex.markets.get(symbol)).get("contractSize")) or 1.0
        result.symbols[symbol] = market_entry(
            self.adapter, self.ex, symbol, rows_to_loader(rows, scale), self.source, self.fee_field
        )

    async def _per_symbol(self, symbols: list[str], result: VenueResult) -> None:
        from liqwatch.feeds.ccxt_client import failure_reason

        slots = asyncio.Semaphore(CONCURRENCY)
        done = 0

        async def one(symbol: str) -> None:
            nonlocal done
            async with slots:
                try:
                    raw = await self.retry.call(lambda: self.ex.fetch_market_leverage_tiers(symbol))
                    parsed = [as_dict(r) for r in as_list(raw)]
                    self._add(result, symbol, self.adapter.tier_rows(self.ex, symbol, parsed))
                except Exception as exc:
                    result.failures[symbol] = failure_reason(exc)
                done += 1
                self.progress(self.venue, done, len(symbols))

        await asyncio.gather(*(one(s) for s in symbols))

    async def _grouped(
        self, symbols: list[str], result: VenueResult, by_id: dict[str, list[dict[str, Any]]], key: str
    ) -> None:
        for symbol in symbols:
            market = as_dict(self.ex.markets.get(symbol))
            raw = by_id.get(str(market.get("id")))
            if raw is None:
                result.failures.setdefault(symbol, "not in the venue's tier list")
                continue
            parsed = [as_dict(t) for t in as_list(self.ex.parse_market_leverage_tiers(raw, market))]
            self._add(result, symbol, self.adapter.tier_rows(self.ex, symbol, parsed))

    async def _cursor_pages(self, symbols: list[str], result: VenueResult, explicit: bool) -> None:
        from liqwatch.feeds.ccxt_client import failure_reason

        by_id: dict[str, list[dict[str, Any]]] = {}
        categories: dict[str, list[str]] = {}
        for symbol in symbols:
            market = as_dict(self.ex.markets.get(symbol))
            categories.setdefault("inverse" if market.get("inverse") else "linear", []).append(symbol)
        for category, members in categories.items():
            if explicit and len(members) <= CONCURRENCY:
                requests = [{"category": category, "symbol": as_dict(self.ex.markets[s]).get("id")} for s in members]
            else:
                requests = [{"category": category}]
            for request in requests:
                cursor, last = "", ""
                for _page in range(200):
                    params = {**request, **({"cursor": cursor} if cursor else {})}
                    try:
                        response = await self.retry.call(partial(self.ex.publicGetV5MarketRiskLimit, params))
                    except Exception as exc:
                        reason = f"{failure_reason(exc)} (page {_page + 1})"
                        # the symbols of earlier pages came through, but for the last one seen
                        # (Bybit pages rows: its table may go on in the page that failed)
                        for s in members:
                            market_id = as_dict(self.ex.markets[s]).get("id")
                            if request.get("symbol", market_id) == market_id and (
                                market_id not in by_id or market_id == last
                            ):
                                result.failures.setdefault(s, reason)
                        break
                    body = as_dict(as_dict(response).get("result"))
                    for row in as_list(body.get("list")):
                        r = as_dict(row)
                        last = str(r.get("symbol"))
                        by_id.setdefault(last, []).append(r)
                    self.progress(self.venue, len(by_id), len(symbols))
                    cursor = str(body.get("nextPageCursor") or "")
                    if not cursor:
                        break
        for rows in by_id.values():
            rows.sort(key=lambda r: num(r.get("id")) or 0.0)
        await self._grouped([s for s in symbols if s not in result.failures], result, by_id, "symbol")

    async def _offset_pages(self, symbols: list[str], result: VenueResult, explicit: bool) -> None:
        from liqwatch.feeds.ccxt_client import failure_reason

        by_id: dict[str, list[dict[str, Any]]] = {}
        settles: dict[str, list[str]] = {}  # Gate: usdt (linear) and btc (inverse) paths
        for symbol in symbols:
            settle = str(as_dict(self.ex.markets[symbol]).get("settle") or "usdt").lower()
            settles.setdefault(settle, []).append(symbol)
        pages: list[tuple[str, list[str], dict[str, Any]]] = []
        for settle, members in settles.items():
            if explicit and len(members) <= CONCURRENCY:
                pages += [(settle, [s], {"contract": as_dict(self.ex.markets[s]).get("id")}) for s in members]
            else:
                pages.append((settle, members, {}))
        limit = PAGE_SIZE
        for settle, members, extra in pages:
            offset = 0
            for _ in range(1000):
                params = {"settle": settle, "limit": limit, "offset": offset, **extra}
                try:
                    response = await self.retry.call(partial(self.ex.publicFuturesGetSettleRiskLimitTiers, params))
                except Exception as exc:
                    reason = failure_reason(exc)
                    for s in members:
                        if as_dict(self.ex.markets[s]).get("id") not in by_id:
                            result.failures.setdefault(s, reason)
                    break
                contracts: set[str] = set()
                for row in as_list(response):
                    r = as_dict(row)
                    contracts.add(str(r.get("contract")))
                    by_id.setdefault(str(r.get("contract")), []).append(r)
                self.progress(self.venue, len(by_id), len(symbols))
                if extra or len(contracts) < limit:
                    break
                offset += limit
        for rows in by_id.values():
            rows.sort(key=lambda r: num(r.get("tier")) or 0.0)
        await self._grouped([s for s in symbols if s not in result.failures], result, by_id, "contract")

    async def _all_at_once(self, symbols: list[str], result: VenueResult) -> None:
        from liqwatch.feeds.ccxt_client import failure_reason

        # linear and coin-margined (Binance COIN-M: another endpoint, another permission) apart:
        # one group's failure leaves the other's tables
        inverse = [s for s in symbols if is_inverse(as_dict(self.ex.markets.get(s)))]
        linear = [s for s in symbols if s not in inverse]
        for group in (linear, inverse):
            if not group:
                continue
            try:
                found = await self.retry.call(partial(self.adapter.tiers, self.ex, group, True))
            except Exception as exc:
                for symbol in group:
                    result.failures.setdefault(symbol, failure_reason(exc))
                continue
            for symbol, _basis, rows, _note in found:
                self._add(result, symbol, rows)
        for symbol in symbols:
            if symbol not in result.symbols:
                result.failures.setdefault(symbol, "the venue sent no tiers")
        self.progress(self.venue, len(symbols), len(symbols))


# --------------------------------------------------------------------------- one venue


def public_account(venue: str, rest_url: str | None) -> AccountConfig:
    from liqwatch.config import AccountConfig

    return AccountConfig.model_construct(name="tiers", exchange=venue, rest_url=rest_url)


async def download_venue(
    venue: str,
    *,
    symbols: list[str] | None = None,
    rest_url: str | None = None,
    account: AccountConfig | None = None,
    secrets: Secrets | None = None,
    retry: Retry | None = None,
    progress: Progress | None = None,
    timeout: float | None = None,
    linear_only: bool = False,
) -> VenueResult:
    """Download ``venue``'s tables (every perpetual, or ``symbols``); never raises for the venue's
    failures: they are in the result. ``timeout``: seconds per request (ccxt's default else);
    ``linear_only``: load the linear markets only (fewer requests, for one linear symbol)."""
    import ccxt.async_support as ccxt_async

    from liqwatch.config import Secrets
    from liqwatch.feeds.ccxt_client import classify, explain, failure_reason, new_exchange, point_at
    from liqwatch.venues import get_home

    result = VenueResult(venue)
    started = time.perf_counter()
    retry = retry or Retry()
    adapter = get_home(venue).rest
    if adapter.tiers_need_keys and (secrets is None or "apiKey" not in secrets.ccxt_options()):
        result.note = kept_bundled(venue)
        return result
    account = account or public_account(venue, rest_url)
    if rest_url:
        account = account.model_copy(update={"rest_url": rest_url})
    options = adapter.options() if linear_only else adapter.download_options()
    ex = new_exchange(ccxt_async, adapter, account, secrets or Secrets(None, None), options=options)
    if timeout is not None:
        ex.timeout = int(timeout * 1000)
    try:
        point_at(ex, account, no_sandbox=ccxt_async.NotSupported, no_sandbox_message="no testnet for this venue")
        try:
            await retry.call(ex.load_markets)
        except Exception as exc:
            if options == adapter.options() or classify(exc).network:
                result.failures["*"] = explain(venue, exc, host=account.rest_url or adapter.public_host)
                result.fatal, result.error = True, exc
                return result
            # the coin-margined markets could not be loaded (another endpoint): the linear ones still
            await ex.close()
            ex = new_exchange(ccxt_async, adapter, account, secrets or Secrets(None, None), options=adapter.options())
            if timeout is not None:
                ex.timeout = int(timeout * 1000)
            point_at(ex, account, no_sandbox=ccxt_async.NotSupported, no_sandbox_message="no testnet for this venue")
            result.skipped = f"coin-margined markets not loaded ({failure_reason(exc)})"
            try:
                await retry.call(ex.load_markets)
            except Exception as exc2:
                result.failures["*"] = explain(venue, exc2, host=account.rest_url or adapter.public_host)
                result.fatal, result.error = True, exc2
                return result
        wanted = perpetuals(ex, symbols)
        result.wanted = len(wanted)
        if symbols and not wanted:
            result.failures["*"] = NOT_LISTED
            return result
        base = account.rest_url or adapter.public_host
        try:
            await Download(venue, adapter, ex, base, retry, progress or _no_progress).run(wanted, result, bool(symbols))
        except Exception as exc:
            for symbol in wanted:
                result.failures.setdefault(symbol, failure_reason(exc))
        if result.failures and not result.symbols:
            result.failures = {"*": next(iter(result.failures.values())), **result.failures}
    finally:
        await ex.close()
        result.seconds = time.perf_counter() - started
        result.retries = retry.retries
    return result


def live_entries(
    adapter: VenueRest, ex: Any, found: Iterable[tuple[str, Any, list[TierRowData], str]], base_url: str
) -> dict[str, dict[str, Any]]:
    """Cache entries for the tables live mode just read (same format as a download's)."""
    source = base_url.rstrip("/") + adapter.tier_source
    out: dict[str, dict[str, Any]] = {}
    for symbol, _basis, rows, _note in found:
        if not rows:
            continue
        scale = 1.0
        if adapter.tier_file_basis == "contracts":
            scale = positive(as_dict(ex.markets.get(symbol)).get("contractSize")) or 1.0
        out[symbol] = market_entry(adapter, ex, symbol, rows_to_loader(rows, scale), source)
    return out


def save_entries(venue: str, entries: dict[str, dict[str, Any]]) -> None:
    """Merge ``entries`` into the venue's cache file (the other cached symbols stay)."""
    if not entries:
        return
    from liqwatch import tiercache
    from liqwatch.venues import get_home

    adapter = get_home(venue).rest
    header = {"basis": adapter.tier_file_basis, "boundary": adapter.tier_boundary}
    tiercache.write_cache(venue, entries, merge=True, header=header)


def _no_progress(venue: str, done: int, total: int) -> None:
    return None


def save(result: VenueResult) -> None:
    """Merge what came through into the venue's cache file (failed symbols keep their tables)."""
    save_entries(result.venue, result.symbols)
