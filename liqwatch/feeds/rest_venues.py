"""Per-venue REST adapters: which ccxt calls to make and which payload fields mean what.

Each adapter turns ccxt's unified structures (and, where ccxt drops what liqwatch needs, the raw
``info`` payloads) into the normalised :mod:`liqwatch.feeds.events` data. ccxt has no type stubs,
so the exchange object is ``Any`` here; everything leaving this module is a validated pydantic
model or plain floats.

Read-only by construction: only ``fetch_*``/``load_markets`` and read-only implicit GET endpoints
(plus Hyperliquid's ``POST /info``, its read API) are called. Nothing here places, edits or
cancels orders, moves funds or changes leverage, margin or position modes (a test scans for it).

Field mapping (see also ``docs``-style notes on each adapter):

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

import math
import re
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from liqwatch.config import AccountConfig
from liqwatch.core.venues import get_venue
from liqwatch.feeds.events import PositionData, TierRowData

MarginMode = Literal["isolated", "cross"]
PositionSide = Literal["both", "long", "short"]

# Max leverage in a Tiers row must be > 0; venues occasionally send 0 for "not applicable".
_MIN_LEVERAGE = 1.0
_MAX_PAGES = 50
# ccxt's precision modes (ccxt.base.decimal_to_precision; not imported: no ccxt at import time)
_DECIMAL_PLACES = 2
_TICK_SIZE = 4

FEE_REFRESH = 3600.0
"""Seconds an account's taker rates are reused before they are read again (fee tiers change
rarely: once when a client first sees positions, then hourly; never per reconcile)."""
FEE_RETRY = 300.0
"""Seconds before a failed taker-rate lookup is tried again (the venue's default stands in)."""
_MAX_TAKER = 0.01
# ccxt's HTTP error text: "<id> <METHOD> <url> <status> <reason> <body>"
_HTTP_STATUS = re.compile(r"^\S+ (?:GET|POST|PUT|DELETE|PATCH) \S+ (\d{3})\b")


# --------------------------------------------------------------------------- value helpers


def num(value: object) -> float | None:
    """A finite float from a venue value (str/int/float), None for None, "" or garbage."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        f = float(value)
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            f = float(text)
        except ValueError:
            return None
    else:
        return None
    return f if math.isfinite(f) else None


def positive(value: object) -> float | None:
    """``num`` but None unless > 0 (venues print 0/"0"/"" for "no price")."""
    f = num(value)
    return f if f is not None and f > 0 else None


def lights(value: object, offset: int = 0) -> int | None:
    """A venue ADL indicator as 0-5 lights (None when absent or out of range)."""
    f = num(value)
    if f is None:
        return None
    n = int(f) + offset
    return n if 0 <= n <= 5 else None


def ms_to_s(value: object) -> float | None:
    f = positive(value)
    return f / 1000.0 if f is not None else None


def as_dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


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


class DataError(ValueError):
    """A venue payload liqwatch cannot use (mapped to FeedError kind "exchange")."""


@dataclass(frozen=True, slots=True)
class Leg:
    """What is known of a position before its margin is mapped."""

    symbol: str
    side: Literal["long", "short"]
    size: float
    """Base units (contracts x contract size)."""
    entry: float
    market: dict[str, Any]

    @property
    def sign(self) -> int:
        return 1 if self.side == "long" else -1


@dataclass(slots=True)
class TakerRates:
    """One client's (one account's) own taker rates, per unified symbol, and for the symbols
    without one, why."""

    expires: float
    """The adapter's clock (monotonic) after which every rate is read again."""
    rates: dict[str, float] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)


def failure_reason(exc: BaseException) -> str:
    """A short reason for a failed call, without its URL or payload (no query, no secret)."""
    status = _HTTP_STATUS.match(str(exc))
    name = type(exc).__name__
    return f"HTTP {status.group(1)}, {name}" if status else name


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

    def options(self) -> dict[str, Any]:
        """ccxt constructor options (market types to load, no currency/account probes)."""
        return {}

    def config(self, account: AccountConfig) -> dict[str, Any]:
        """Extra ccxt constructor keys (besides options and credentials)."""
        return {}

    # ---- positions

    async def raw_positions(self, ex: Any, account: AccountConfig) -> list[dict[str, Any]]:
        result = await ex.fetch_positions(None, self.positions_params(account))
        return [as_dict(p) for p in as_list(result)]

    def positions_params(self, account: AccountConfig) -> dict[str, Any]:
        return {}

    async def positions(self, ex: Any, account: AccountConfig) -> list[PositionData]:
        raw = [p for p in await self.raw_positions(ex, account) if self._is_open(ex, p)]
        context = await self.position_context(ex, account, raw)
        if raw and self.account_taker_rate:
            context = {**context, "taker_rates": await self.account_taker_rates(ex, [str(p["symbol"]) for p in raw])}
        return [self.position(ex, p, context) for p in raw]

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
                entry.problems[symbol] = reason if rate is None else f"an implausible taker rate {rate:g}"
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
            f"the venue's default {default * 100:g}% is assumed"
        )

    async def position_context(self, ex: Any, account: AccountConfig, raw: list[dict[str, Any]]) -> dict[str, Any]:
        """Extra, per-snapshot data some venues need (account margin mode, ADL, leverage)."""
        return {}

    def _is_open(self, ex: Any, p: dict[str, Any]) -> bool:
        contracts = num(p.get("contracts"))
        if not contracts:
            return False
        symbol = p.get("symbol")
        if not isinstance(symbol, str) or symbol not in ex.markets:
            return False
        market = as_dict(ex.markets[symbol])
        return bool(market.get("contract")) and bool(market.get("linear"))

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
        size = contracts * contract_size
        margin, note = (None, "")
        if margin_mode == "isolated":
            margin, note = self.isolated_margin(p, info, context, Leg(symbol, side, size, entry, market))
        fee_rate, fee_note = self.fee(symbol, context)
        return PositionData(
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

    async def balance(self, ex: Any, account: AccountConfig) -> tuple[float, str, float | None]:
        """(cross wallet balance, currency, venue timestamp in seconds or None)."""
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
                    max_leverage=positive(t.get("maxLeverage")) or _MIN_LEVERAGE,
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
        tickers = as_dict(await self.fetch_mark_tickers(ex, wanted))
        out: list[tuple[str, float, float | None]] = []
        for symbol in wanted:
            ticker = as_dict(tickers.get(symbol))
            price = self.ticker_mark(ticker)
            if price is not None:
                out.append((symbol, price, ms_to_s(ticker.get("timestamp"))))
        return out

    async def fetch_mark_tickers(self, ex: Any, symbols: list[str]) -> Any:
        return await ex.fetch_mark_prices(symbols)

    def ticker_mark(self, ticker: dict[str, Any]) -> float | None:
        return positive(ticker.get("markPrice"))


# --------------------------------------------------------------------------- Binance USDⓈ-M


class BinanceRest(VenueRest):
    """Binance USDⓈ-M (ccxt ``binanceusdm``).

    positions: ``GET /fapi/v3/positionRisk`` (v3 rows carry no leverage/marginType: isolated is
    ``isolatedWallet != 0``; leverage from ``GET /fapi/v1/symbolConfig``); isolated margin =
    ``isolatedWallet`` (``isolatedMargin`` includes unrealized PnL); ADL = ``adl`` (v3) or
    ``adlQuantile`` 0-4 -> 1-5 lights, falling back to ``GET /fapi/v1/adlQuantile``.
    balance: the USDT asset's ``crossWalletBalance`` from ``GET /fapi/v3/account``
    (``totalCrossWalletBalance`` when the asset row is missing).
    tiers: ``GET /fapi/v1/leverageBracket`` (private: needs keys); ``cum`` = maintenance amount.
    marks: ``GET /fapi/v1/premiumIndex`` ``markPrice``.
    """

    name = "binance"
    ccxt_id = "binanceusdm"
    liq_field = "liquidationPrice"
    tiers_need_keys = True

    def options(self) -> dict[str, Any]:
        return {"fetchCurrencies": False, "fetchMarkets": {"types": ["linear"]}}

    async def position_context(self, ex: Any, account: AccountConfig, raw: list[dict[str, Any]]) -> dict[str, Any]:
        context: dict[str, Any] = {}
        if not raw:
            return context
        import ccxt.async_support as ccxt_async

        # Leverage per symbol (v3 positionRisk dropped it). Optional: ignore venue errors here,
        # the positions themselves came through.
        try:
            configs = await ex.fapiPrivateGetSymbolConfig()
        except ccxt_async.BaseError:
            configs = []
        context["leverage"] = {
            str(c.get("symbol")): positive(c.get("leverage")) for c in as_list(configs) if isinstance(c, dict)
        }
        if any("adl" not in as_dict(p.get("info")) and "adlQuantile" not in as_dict(p.get("info")) for p in raw):
            try:
                quantiles = await ex.fapiPrivateGetAdlQuantile()
            except ccxt_async.BaseError:
                quantiles = []
            context["adl"] = {
                str(q.get("symbol")): as_dict(q.get("adlQuantile")) for q in as_list(quantiles) if isinstance(q, dict)
            }
        return context

    def margin_mode(self, p: dict[str, Any], info: dict[str, Any], context: dict[str, Any]) -> MarginMode:
        margin_type = str(info.get("marginType", "")).lower()
        if margin_type in ("isolated", "cross"):
            return "isolated" if margin_type == "isolated" else "cross"
        if info.get("isolated") is True:
            return "isolated"
        wallet = num(info.get("isolatedWallet"))
        if wallet is not None:
            return "isolated" if wallet != 0 else "cross"
        return super().margin_mode(p, info, context)

    def position_side(self, p: dict[str, Any], info: dict[str, Any]) -> PositionSide:
        side = str(info.get("positionSide", "BOTH")).upper()
        return "long" if side == "LONG" else "short" if side == "SHORT" else "both"

    def leverage(self, p: dict[str, Any], info: dict[str, Any], context: dict[str, Any]) -> float | None:
        lev = positive(info.get("leverage")) or positive(p.get("leverage"))
        if lev is None:
            lev = as_dict(context.get("leverage")).get(str(info.get("symbol")))
        return lev

    def isolated_margin(
        self, p: dict[str, Any], info: dict[str, Any], context: dict[str, Any], leg: Leg
    ) -> tuple[float | None, str]:
        # the isolated wallet: margin in (opening and added), less fees and funding paid from it;
        # the WB of Binance's formula. isolatedMargin = isolatedWallet + unrealized PnL.
        return num(info.get("isolatedWallet")), ""

    def mark_price(self, p: dict[str, Any], info: dict[str, Any]) -> float | None:
        return positive(info.get("markPrice")) or positive(p.get("markPrice"))

    def adl(self, p: dict[str, Any], info: dict[str, Any], context: dict[str, Any]) -> int | None:
        for key in ("adl", "adlQuantile"):
            if key in info:
                return lights(info[key], offset=1)
        quantile = as_dict(as_dict(context.get("adl")).get(str(info.get("symbol"))))
        side = str(info.get("positionSide", "BOTH")).upper()
        for key in (side, "HEDGE", "BOTH"):
            if key in quantile:
                return lights(quantile[key], offset=1)
        return None

    async def balance(self, ex: Any, account: AccountConfig) -> tuple[float, str, float | None]:
        data = as_dict(await ex.fapiPrivateV3GetAccount())
        for asset in as_list(data.get("assets")):
            row = as_dict(asset)
            if row.get("asset") == self.settle:
                value = num(row.get("crossWalletBalance"))
                if value is not None:
                    return value, self.settle, None
        value = num(data.get("totalCrossWalletBalance"))
        if value is None:
            raise DataError("account has neither a USDT crossWalletBalance nor totalCrossWalletBalance")
        return value, self.settle, None

    async def tiers(
        self, ex: Any, symbols: list[str], has_keys: bool
    ) -> list[tuple[str, Literal["notional", "quantity"], list[TierRowData], str]]:
        wanted = [s for s in symbols if s in ex.markets]
        if not wanted:
            return []
        table = as_dict(await ex.fetch_leverage_tiers(wanted))
        out: list[tuple[str, Literal["notional", "quantity"], list[TierRowData], str]] = []
        for symbol in wanted:
            rows = self.tier_rows(ex, symbol, [as_dict(r) for r in as_list(table.get(symbol))])
            if rows:
                out.append((symbol, "notional", rows, ""))
        return out

    def maint_amount(self, info: dict[str, Any]) -> float | None:
        return num(info.get("cum"))

    def ticker_mark(self, ticker: dict[str, Any]) -> float | None:
        return positive(as_dict(ticker.get("info")).get("markPrice")) or positive(ticker.get("markPrice"))


# --------------------------------------------------------------------------- Bybit v5


# Bybit's base (non-VIP) taker rate for USDT perpetuals. The recorded classic payload reserves its
# fee to close at it (0.15 x 2,567.82 x 0.055% = 0.21185); used only when neither bustPrice nor
# the account's own rate (GET /v5/account/fee-rate) is available.
BYBIT_BASE_TAKER = 0.00055


class BybitRest(VenueRest):
    """Bybit v5 linear USDT perpetuals.

    positions: ``GET /v5/position/list?category=linear&settleCoin=USDT``; isolated when the
    position's ``tradeMode`` is 1 (classic / UTA 1.0) or the account's ``marginMode`` (``GET
    /v5/account/info``) is ``ISOLATED_MARGIN`` (UTA 2.0); isolated margin = IM + added margin
    without the fee to close (see :meth:`isolated_margin`); hedge legs from ``positionIdx`` 1/2;
    ADL = ``adlRankIndicator`` as is; ``liqPrice`` "" -> None.
    balance: the USDT coin's ``walletBalance`` from ``GET /v5/account/wallet-balance`` less every
    isolated position's whole ``positionBalance`` (the wallet holds it, fee reserve included).
    tiers: public ``GET /v5/market/risk-limit`` per symbol; ``mmDeduction`` when sent.
    marks: ``GET /v5/market/tickers?category=linear`` ``markPrice``.
    """

    name = "bybit"
    ccxt_id = "bybit"
    liq_field = "liqPrice"

    def options(self) -> dict[str, Any]:
        return {"fetchMarkets": {"types": ["linear"]}, "defaultType": "swap", "defaultSubType": "linear"}

    def positions_params(self, account: AccountConfig) -> dict[str, Any]:
        return {"type": "swap", "subType": "linear", "settleCoin": self.settle}

    async def raw_positions(self, ex: Any, account: AccountConfig) -> list[dict[str, Any]]:
        """Every page of ``/v5/position/list`` (200 a page; ccxt puts the cursor on the first row)."""
        params = self.positions_params(account)
        out: list[dict[str, Any]] = []
        seen: set[str] = set()
        for _ in range(_MAX_PAGES):
            page = [as_dict(p) for p in as_list(await ex.fetch_positions(None, params))]
            out.extend(page)
            cursor = as_dict(page[0].get("info")).get("nextPageCursor") if page else None
            if not isinstance(cursor, str) or not cursor or cursor in seen:
                return out
            seen.add(cursor)
            params = {**params, "cursor": cursor}
        raise DataError(f"more than {_MAX_PAGES} pages of positions")

    async def position_context(self, ex: Any, account: AccountConfig, raw: list[dict[str, Any]]) -> dict[str, Any]:
        if not raw:
            return {}
        context = await self._account_mode(ex)
        for p in raw:
            info = as_dict(p.get("info"))
            if (
                self.margin_mode(p, info, context) == "isolated"
                and self._bust(as_dict(ex.markets[p["symbol"]]), info) is None
            ):
                context["taker"] = await self._taker_rates(ex)  # needed once a bustPrice is missing
                break
        return context

    async def _account_mode(self, ex: Any) -> dict[str, Any]:
        info = as_dict(await ex.privateGetV5AccountInfo())
        return {"account_margin_mode": str(as_dict(info.get("result")).get("marginMode", ""))}

    @staticmethod
    async def _taker_rates(ex: Any) -> dict[str, float]:
        """The account's taker rate per symbol id; {} when Bybit will not say (optional: the base
        rate stands in)."""
        import ccxt.async_support as ccxt_async

        try:
            response = as_dict(await ex.privateGetV5AccountFeeRate({"category": "linear"}))
        except ccxt_async.BaseError:
            return {}
        rates: dict[str, float] = {}
        for row in as_list(as_dict(response.get("result")).get("list")):
            item = as_dict(row)
            rate = num(item.get("takerFeeRate"))
            if isinstance(item.get("symbol"), str) and rate is not None and 0 <= rate < 0.01:
                rates[item["symbol"]] = rate
        return rates

    @staticmethod
    def _reserved(info: dict[str, Any]) -> float | None:
        """What the position holds: ``positionBalance`` (``positionIM`` where that is empty or 0)."""
        return num(info.get("positionBalance")) or num(info.get("positionIM"))

    @staticmethod
    def _bust(market: dict[str, Any], info: dict[str, Any]) -> float | None:
        """``bustPrice``, None when empty or pinned to the market's price limits (then not the
        position's own)."""
        bust = positive(info.get("bustPrice"))
        if bust is None:
            return None
        limits = as_dict(as_dict(market.get("limits")).get("price"))
        low, high = positive(limits.get("min")), positive(limits.get("max"))
        if (low is not None and bust <= low) or (high is not None and bust >= high):
            return None
        return bust

    def margin_mode(self, p: dict[str, Any], info: dict[str, Any], context: dict[str, Any]) -> MarginMode:
        if str(info.get("tradeMode")) == "1" or context.get("account_margin_mode") == "ISOLATED_MARGIN":
            return "isolated"
        return "cross"

    def position_side(self, p: dict[str, Any], info: dict[str, Any]) -> PositionSide:
        idx = str(info.get("positionIdx", "0"))
        return "long" if idx == "1" else "short" if idx == "2" else "both"

    def isolated_margin(
        self, p: dict[str, Any], info: dict[str, Any], context: dict[str, Any], leg: Leg
    ) -> tuple[float | None, str]:
        """IM + extra margin, without the fee to close: the margin Bybit's published formula uses
        (help "Liquidation Price (USDT Contract)"; the recorded ETHUSDT payload matches it).

        ``positionBalance`` (and ``positionIM`` on some UTA accounts) also holds the estimated fee
        to close, Q x bankruptcy price x taker rate. Exact, from ``bustPrice`` (where the margin is
        zero, so it moves with added margin, realised PnL and funding): long Q x (EP - BP), short
        Q x (BP - EP). UTA sends ``bustPrice`` "": then positionBalance = M + Q x BP x t with
        BP = EP - s x M / Q, i.e. M = (positionBalance - Q x EP x t) / (1 - s x t), t the account's
        taker rate (``GET /v5/account/fee-rate``), else Bybit's base 0.055% (approximate).
        """
        reserved = self._reserved(info)
        bust = self._bust(leg.market, info)
        if bust is not None:
            margin = leg.sign * leg.size * (leg.entry - bust)
            if margin > 0:
                held = f"; positionBalance {reserved:.10g} holds the fee to close too" if reserved is not None else ""
                return margin, f"size x |entry - bustPrice {bust:.10g}|{held}"
        if reserved is None:
            return None, ""
        own = as_dict(context.get("taker")).get(str(info.get("symbol")))
        rate = own if isinstance(own, float) else BYBIT_BASE_TAKER
        margin = (reserved - leg.size * leg.entry * rate) / (1 - leg.sign * rate)
        if isinstance(own, float):
            return (
                margin,
                f"positionBalance {reserved:.10g} less the fee to close at the account's {rate * 100:g}% taker rate",
            )
        return margin, (
            f"positionBalance {reserved:.10g} less the fee to close at an assumed {rate * 100:g}% "
            "(Bybit's base taker rate; the account's own was unavailable)"
        )

    def mark_price(self, p: dict[str, Any], info: dict[str, Any]) -> float | None:
        return positive(info.get("markPrice")) or positive(p.get("markPrice"))

    def adl(self, p: dict[str, Any], info: dict[str, Any], context: dict[str, Any]) -> int | None:
        return lights(info.get("adlRankIndicator"))

    async def balance(self, ex: Any, account: AccountConfig) -> tuple[float, str, float | None]:
        result = as_dict(await ex.fetch_balance({"type": "swap"}))
        response = as_dict(result.get("info"))
        wallet: float | None = None
        for account_row in as_list(as_dict(response.get("result")).get("list")):
            for coin in as_list(as_dict(account_row).get("coin")):
                row = as_dict(coin)
                if row.get("coin") == self.settle:
                    wallet = num(row.get("walletBalance"))
        if wallet is None:
            raise DataError("wallet-balance has no USDT walletBalance")
        raw = [p for p in await self.raw_positions(ex, account) if self._is_open(ex, p)]
        context = await self._account_mode(ex) if raw else {}
        isolated = 0.0
        for p in raw:
            info = as_dict(p.get("info"))
            if self.margin_mode(p, info, context) == "isolated":
                isolated += self._reserved(info) or 0.0
        return wallet - isolated, self.settle, ms_to_s(response.get("time"))

    def maint_amount(self, info: dict[str, Any]) -> float | None:
        return num(info.get("mmDeduction"))

    async def fetch_mark_tickers(self, ex: Any, symbols: list[str]) -> Any:
        return await ex.fetch_tickers(symbols, {"type": "swap", "subType": "linear"})

    def ticker_mark(self, ticker: dict[str, Any]) -> float | None:
        return positive(as_dict(ticker.get("info")).get("markPrice")) or positive(ticker.get("markPrice"))


# --------------------------------------------------------------------------- OKX v5


class OkxRest(VenueRest):
    """OKX v5 USDT-margined SWAP.

    positions: ``GET /api/v5/account/positions?instType=SWAP``; size = ``pos`` contracts x ``ctVal``;
    margin mode ``mgnMode``; hedge legs ``posSide`` long/short (``net`` = one-way); isolated margin =
    ``margin`` (excludes ``upl``); ``liqPx`` "" -> None; ADL = ``adl`` 1-5 as is.
    balance: USDT detail of ``GET /api/v5/account/balance``: ``eq - isoEq - (upl - isoUpl)`` (cross
    equity less cross unrealized PnL), falling back to ``cashBal``.
    tiers: public ``GET /api/v5/public/position-tiers`` (``tdMode`` cross); ``minSz``/``maxSz`` are
    contracts, converted to base units with ``ctVal`` (basis "quantity"); each tier's floor is the
    previous tier's cap (OKX prints fractional minSz); no maintenance amount.
    marks: ``GET /api/v5/public/mark-price?instType=SWAP`` ``markPx``.
    taker rate (the liquidation fee's, in the formula): ``GET /api/v5/account/trade-fee?instType=SWAP``,
    the ``feeGroup`` entry of the market's ``groupId`` (public instruments), else ``takerU``
    (USDT-margined; ``takerUSDC`` for USDC); OKX signs charges negative. Not ccxt's
    ``fetch_trading_fee``: it reads ``taker`` first, the crypto-margined contracts' rate.
    """

    name = "okx"
    ccxt_id = "okx"
    liq_field = "liqPx"
    tier_basis = "quantity"
    tier_note = "OKX position tiers: contracts converted to base units with ctVal"
    account_taker_rate = True
    fee_endpoint = "GET /api/v5/account/trade-fee"

    def options(self) -> dict[str, Any]:
        return {"fetchMarkets": {"types": ["swap"]}, "defaultType": "swap"}

    def positions_params(self, account: AccountConfig) -> dict[str, Any]:
        return {"instType": "SWAP"}

    def margin_mode(self, p: dict[str, Any], info: dict[str, Any], context: dict[str, Any]) -> MarginMode:
        mode = str(info.get("mgnMode", p.get("marginMode") or "cross"))
        return "isolated" if mode == "isolated" else "cross"

    def position_side(self, p: dict[str, Any], info: dict[str, Any]) -> PositionSide:
        side = str(info.get("posSide", "net"))
        return "long" if side == "long" else "short" if side == "short" else "both"

    def side(self, p: dict[str, Any], info: dict[str, Any]) -> Literal["long", "short"]:
        pos_side = str(info.get("posSide", "net"))
        if pos_side in ("long", "short"):
            return "long" if pos_side == "long" else "short"
        pos = num(info.get("pos"))
        if pos is not None and pos != 0:
            return "long" if pos > 0 else "short"
        return super().side(p, info)

    def leverage(self, p: dict[str, Any], info: dict[str, Any], context: dict[str, Any]) -> float | None:
        return positive(info.get("lever")) or positive(p.get("leverage"))

    def isolated_margin(
        self, p: dict[str, Any], info: dict[str, Any], context: dict[str, Any], leg: Leg
    ) -> tuple[float | None, str]:
        # isolated ``margin`` (added or reduced with the position; no fee reserve): the numerator
        # of mgnRatio = (margin + upl) / (MM + liquidation fee). ``imr`` is the cross field.
        return num(info.get("margin")), ""

    def mark_price(self, p: dict[str, Any], info: dict[str, Any]) -> float | None:
        return positive(info.get("markPx")) or positive(p.get("markPrice"))

    def adl(self, p: dict[str, Any], info: dict[str, Any], context: dict[str, Any]) -> int | None:
        return lights(info.get("adl"))

    async def taker_rates(self, ex: Any, symbols: list[str]) -> dict[str, float]:
        response = as_dict(await ex.privateGetAccountTradeFee({"instType": "SWAP"}))
        row = next((as_dict(r) for r in as_list(response.get("data")) if as_dict(r)), {})
        groups = {
            str(g.get("groupId")): g
            for g in (as_dict(item) for item in as_list(row.get("feeGroup")))
            if g.get("groupId") not in (None, "")
        }
        out: dict[str, float] = {}
        for symbol in symbols:
            market = as_dict(ex.markets.get(symbol))
            group = groups.get(str(as_dict(market.get("info")).get("groupId")))
            if group is not None:
                value = num(group.get("taker"))
            else:  # the per-margin-currency fields (deprecated in the docs, still sent)
                value = num(row.get({"USDT": "takerU", "USDC": "takerUSDC"}.get(str(market.get("settle")), "")))
            if value is not None:
                out[symbol] = -value  # OKX: negative = charged, positive = rebate
        return out

    async def balance(self, ex: Any, account: AccountConfig) -> tuple[float, str, float | None]:
        response = as_dict(await ex.privateGetAccountBalance({"ccy": self.settle}))
        for entry in as_list(response.get("data")):
            for detail in as_list(as_dict(entry).get("details")):
                row = as_dict(detail)
                if row.get("ccy") != self.settle:
                    continue
                ts = None  # uTime is the last change, not the time of the answer
                eq = num(row.get("eq"))
                if eq is not None:
                    iso_eq = num(row.get("isoEq")) or 0.0
                    upl = num(row.get("upl")) or 0.0
                    iso_upl = num(row.get("isoUpl")) or 0.0
                    return eq - iso_eq - (upl - iso_upl), self.settle, ts
                cash = num(row.get("cashBal"))
                if cash is not None:
                    return cash, self.settle, ts
        raise DataError("account balance has no USDT detail")

    def tier_rows(self, ex: Any, symbol: str, tiers: list[dict[str, Any]]) -> list[TierRowData]:
        ct_val = positive(as_dict(ex.markets[symbol]).get("contractSize")) or 1.0
        rows: list[TierRowData] = []
        floor = 0.0
        for t in sorted(tiers, key=lambda r: num(r.get("tier")) or 0.0):
            mmr = num(t.get("maintenanceMarginRate"))
            cap = positive(t.get("maxNotional"))
            if mmr is None:
                continue
            rows.append(
                TierRowData(
                    min_notional=floor,
                    max_notional=cap * ct_val if cap is not None else None,
                    mmr=mmr,
                    max_leverage=positive(t.get("maxLeverage")) or _MIN_LEVERAGE,
                    maint_amount=None,
                )
            )
            if cap is not None:
                floor = cap * ct_val
        return rows

    def ticker_mark(self, ticker: dict[str, Any]) -> float | None:
        return positive(as_dict(ticker.get("info")).get("markPx")) or positive(ticker.get("markPrice"))


# --------------------------------------------------------------------------- Hyperliquid


class HyperliquidRest(VenueRest):
    """Hyperliquid perps, monitored by wallet address (no key).

    positions: ``POST /info {"type": "clearinghouseState", "user": wallet}``; isolated margin =
    ``leverage.rawUsd + szi*entryPx`` (the margin posted; ``marginUsed`` includes unrealized PnL),
    falling back to ``marginUsed - unrealizedPnl``; mark = ``positionValue / |szi|``;
    ``liquidationPx`` null -> None; no ADL indicator.
    balance: ``crossMarginSummary.accountValue`` minus the unrealized PnL of cross positions
    (account value is wallet + PnL; isolated positions are outside the cross summary). USDC.
    tiers: ``POST /info {"type": "meta"}``: ``universe[].marginTableId`` -> ``marginTables``;
    mmr = 1/(2 x maxLeverage) per tier; a table id without an entry means one tier at the asset's
    ``maxLeverage``. No maintenance amount (derived by the core).
    marks: ``POST /info {"type": "metaAndAssetCtxs"}`` ``markPx`` (not ``midPx``).
    """

    name = "hyperliquid"
    ccxt_id = "hyperliquid"
    settle = "USDC"

    def options(self) -> dict[str, Any]:
        return {"fetchMarkets": {"types": ["swap"]}, "defaultType": "swap"}

    def config(self, account: AccountConfig) -> dict[str, Any]:
        return {"walletAddress": account.wallet} if account.wallet else {}

    def positions_params(self, account: AccountConfig) -> dict[str, Any]:
        return {"user": account.wallet}

    def leverage(self, p: dict[str, Any], info: dict[str, Any], context: dict[str, Any]) -> float | None:
        lev = as_dict(as_dict(info.get("position")).get("leverage"))
        return positive(lev.get("value")) or positive(p.get("leverage"))

    def isolated_margin(
        self, p: dict[str, Any], info: dict[str, Any], context: dict[str, Any], leg: Leg
    ) -> tuple[float | None, str]:
        # rawUsd + szi x mark is marginUsed (the isolated account value: funding included), so
        # rawUsd + szi x entryPx is that value at entry; the core adds szi x (mark - entryPx) back.
        entry = as_dict(info.get("position"))
        raw_usd = num(as_dict(entry.get("leverage")).get("rawUsd"))
        szi = num(entry.get("szi"))
        entry_px = num(entry.get("entryPx"))
        if raw_usd is not None and szi is not None and entry_px is not None:
            return raw_usd + szi * entry_px, ""
        used = num(entry.get("marginUsed"))
        upnl = num(entry.get("unrealizedPnl")) or 0.0
        if used is None:
            return None, ""
        return used - upnl, "marginUsed - unrealizedPnl (no leverage.rawUsd): off by the PnL's rounding"

    def liquidation_price(self, p: dict[str, Any], info: dict[str, Any]) -> float | None:
        return positive(as_dict(info.get("position")).get("liquidationPx"))

    def mark_price(self, p: dict[str, Any], info: dict[str, Any]) -> float | None:
        entry = as_dict(info.get("position"))
        value = num(entry.get("positionValue"))
        szi = num(entry.get("szi"))
        if value is not None and szi:
            return positive(abs(value / szi))
        return positive(p.get("markPrice"))

    async def _state(self, ex: Any, account: AccountConfig) -> dict[str, Any]:
        return as_dict(await ex.publicPostInfo({"type": "clearinghouseState", "user": account.wallet}))

    async def balance(self, ex: Any, account: AccountConfig) -> tuple[float, str, float | None]:
        state = await self._state(ex, account)
        summary = as_dict(state.get("crossMarginSummary"))
        value = num(summary.get("accountValue"))
        if value is None:
            raise DataError("clearinghouseState has no crossMarginSummary.accountValue")
        cross_upnl = 0.0
        for item in as_list(state.get("assetPositions")):
            entry = as_dict(as_dict(item).get("position"))
            if as_dict(entry.get("leverage")).get("type") != "isolated":
                cross_upnl += num(entry.get("unrealizedPnl")) or 0.0
        return value - cross_upnl, self.settle, ms_to_s(state.get("time"))

    def _market_by_name(self, ex: Any) -> dict[str, str]:
        out: dict[str, str] = {}
        for symbol, market in ex.markets.items():
            m = as_dict(market)
            if m.get("swap"):
                name = as_dict(m.get("info")).get("name") or m.get("base")
                if isinstance(name, str):
                    out[name] = symbol
        return out

    async def tiers(
        self, ex: Any, symbols: list[str], has_keys: bool
    ) -> list[tuple[str, Literal["notional", "quantity"], list[TierRowData], str]]:
        wanted = {s for s in symbols if s in ex.markets}
        if not wanted:
            return []
        meta = as_dict(await ex.publicPostInfo({"type": "meta"}))
        tables: dict[int, list[dict[str, Any]]] = {}
        for item in as_list(meta.get("marginTables")):
            if isinstance(item, list) and len(item) == 2:
                table_id = num(item[0])
                if table_id is not None:
                    tables[int(table_id)] = [as_dict(t) for t in as_list(as_dict(item[1]).get("marginTiers"))]
        by_name = self._market_by_name(ex)
        out: list[tuple[str, Literal["notional", "quantity"], list[TierRowData], str]] = []
        for asset in as_list(meta.get("universe")):
            a = as_dict(asset)
            symbol = by_name.get(str(a.get("name")))
            if symbol not in wanted or symbol is None:
                continue
            table_id = num(a.get("marginTableId"))
            tiers = tables.get(int(table_id)) if table_id is not None else None
            if not tiers:
                max_lev = positive(a.get("maxLeverage"))
                if max_lev is None:
                    continue
                tiers = [{"lowerBound": "0", "maxLeverage": max_lev}]
            bounds: list[tuple[float, float]] = []
            for t in tiers:
                lev = positive(t.get("maxLeverage"))
                if lev is not None:
                    bounds.append((num(t.get("lowerBound")) or 0.0, lev))
            bounds.sort()
            rows = [
                TierRowData(
                    min_notional=lower,
                    max_notional=bounds[i + 1][0] if i + 1 < len(bounds) else None,
                    mmr=1.0 / (2.0 * lev),
                    max_leverage=lev,
                    maint_amount=None,
                )
                for i, (lower, lev) in enumerate(bounds)
            ]
            if rows:
                out.append((symbol, "notional", rows, "mmr = 1/(2 x max leverage) of the Hyperliquid margin table"))
        return out

    async def marks(self, ex: Any, symbols: list[str]) -> list[tuple[str, float, float | None]]:
        wanted = {s for s in symbols if s in ex.markets}
        if not wanted:
            return []
        response = as_list(await ex.publicPostInfo({"type": "metaAndAssetCtxs"}))
        if len(response) < 2:
            raise DataError("metaAndAssetCtxs: expected [meta, assetCtxs]")
        universe = as_list(as_dict(response[0]).get("universe"))
        contexts = as_list(response[1])
        by_name = self._market_by_name(ex)
        out: list[tuple[str, float, float | None]] = []
        for asset, ctx in zip(universe, contexts, strict=False):
            symbol = by_name.get(str(as_dict(asset).get("name")))
            if symbol is None or symbol not in wanted:
                continue
            price = positive(as_dict(ctx).get("markPx"))
            if price is not None:
                out.append((symbol, price, None))
        return out


# --------------------------------------------------------------------------- Bitget v2 (mix)


class BitgetRest(VenueRest):
    """Bitget v2 USDT-M futures (classic account).

    positions: ``GET /api/v2/mix/position/all-position?productType=USDT-FUTURES&marginCoin=USDT``;
    ``marginMode`` isolated/crossed; hedge legs from ``posMode`` hedge_mode + ``holdSide``; isolated
    margin = ``marginSize``; ``liquidationPrice`` "0" -> None; no ADL indicator in v2.
    balance: ``GET /api/v2/mix/account/accounts``: ``accountEquity - unrealizedPL - isolatedMargin``.
    tiers: public ``GET /api/v2/mix/market/query-position-lever``; no maintenance amount.
    marks: ``GET /api/v2/mix/market/tickers`` ``markPrice``.
    taker rate (in the formula's denominator): ``GET /api/v2/common/trade-rate?symbol=..&businessType=mix``
    ``takerFeeRate``, one call per symbol held.
    """

    name = "bitget"
    ccxt_id = "bitget"
    liq_field = "liquidationPrice"
    account_taker_rate = True
    fee_endpoint = "GET /api/v2/common/trade-rate"

    def options(self) -> dict[str, Any]:
        return {"fetchMarkets": {"types": ["swap"]}, "defaultType": "swap", "uta": False}

    def positions_params(self, account: AccountConfig) -> dict[str, Any]:
        return {"productType": "USDT-FUTURES", "marginCoin": self.settle}

    def margin_mode(self, p: dict[str, Any], info: dict[str, Any], context: dict[str, Any]) -> MarginMode:
        return "isolated" if str(info.get("marginMode", "")).lower() == "isolated" else "cross"

    def position_side(self, p: dict[str, Any], info: dict[str, Any]) -> PositionSide:
        if str(info.get("posMode", "")) != "hedge_mode":
            return "both"
        return "long" if str(info.get("holdSide")) == "long" else "short"

    def side(self, p: dict[str, Any], info: dict[str, Any]) -> Literal["long", "short"]:
        hold = str(info.get("holdSide", ""))
        if hold in ("long", "short"):
            return "long" if hold == "long" else "short"
        return super().side(p, info)

    def isolated_margin(
        self, p: dict[str, Any], info: dict[str, Any], context: dict[str, Any], leg: Leg
    ) -> tuple[float | None, str]:
        # positionMargin of Bitget's formula (support 12560603808759); no fee reserve: a recorded
        # payload's marginSize is Q x EP / leverage exactly, and its liquidationPrice follows.
        return num(info.get("marginSize")), ""

    def mark_price(self, p: dict[str, Any], info: dict[str, Any]) -> float | None:
        return positive(info.get("markPrice")) or positive(p.get("markPrice"))

    async def taker_rates(self, ex: Any, symbols: list[str]) -> dict[str, float]:
        out: dict[str, float] = {}
        for symbol in symbols:
            market_id = as_dict(ex.markets.get(symbol)).get("id")
            request = {"symbol": market_id, "businessType": "mix"}
            response = as_dict(await ex.privateCommonGetV2CommonTradeRate(request))
            rate = num(as_dict(response.get("data")).get("takerFeeRate"))
            if rate is not None:
                out[symbol] = rate
        return out

    async def balance(self, ex: Any, account: AccountConfig) -> tuple[float, str, float | None]:
        response = as_dict(await ex.privateMixGetV2MixAccountAccounts({"productType": "USDT-FUTURES"}))
        for item in as_list(response.get("data")):
            row = as_dict(item)
            if row.get("marginCoin", "").upper() != self.settle:
                continue
            equity = num(row.get("accountEquity"))
            if equity is None:
                break
            upnl = num(row.get("unrealizedPL")) or 0.0
            isolated = num(row.get("isolatedMargin")) or 0.0
            return equity - upnl - isolated, self.settle, ms_to_s(response.get("requestTime"))
        raise DataError("mix accounts have no USDT row with accountEquity")

    async def fetch_mark_tickers(self, ex: Any, symbols: list[str]) -> Any:
        return await ex.fetch_tickers(symbols, {"productType": "USDT-FUTURES"})

    def ticker_mark(self, ticker: dict[str, Any]) -> float | None:
        return positive(as_dict(ticker.get("info")).get("markPrice"))


# --------------------------------------------------------------------------- Gate v4 futures


class GateRest(VenueRest):
    """Gate v4 USDT-settled perpetual futures (classic futures account).

    positions: ``GET /api/v4/futures/usdt/positions``; size = ``size`` contracts x
    ``quanto_multiplier``; margin mode ``pos_margin_mode`` where sent (current schema), else
    ``leverage`` "0" = cross; leverage ``lever`` (current schema), else ``leverage`` or
    ``cross_leverage_limit``; hedge legs from ``mode`` dual_long/dual_short; isolated margin =
    ``margin``; ``liq_price`` "0" -> None; ADL = ``adl_ranking`` 1-5 as is (other values: None).
    balance: ``GET /api/v4/futures/usdt/accounts``: ``total`` (wallet, excludes unrealized PnL)
    less ``isolated_position_margin`` (or less every isolated position's margin when absent).
    tiers: public ``GET /api/v4/futures/usdt/risk_limit_tiers``; ``deduction`` = maintenance amount.
    marks: ``GET /api/v4/futures/usdt/tickers`` ``mark_price``.
    taker rate: Gate's printed liquidation price and the fee reserve in ``margin`` are at its
    default 0.075%, whatever the account's tier (the reference notes on recorded responses; Gate
    support's worked reply quotes "Taker rate = 0.075%"), so the account's rate is not applied.
    :meth:`taker_rates` reads it (``GET /api/v4/futures/usdt/fee`` ``taker_fee`` per contract)
    for when a recorded Gate position shows otherwise: set :attr:`account_taker_rate`.
    """

    name = "gate"
    ccxt_id = "gate"
    liq_field = "liq_price"
    account_taker_rate = False
    fee_endpoint = "GET /api/v4/futures/usdt/fee"

    def options(self) -> dict[str, Any]:
        return {
            "fetchMarkets": {"types": ["swap"]},
            "swap": {"fetchMarkets": {"settlementCurrencies": ["usdt"]}},
            "defaultType": "swap",
            "unifiedAccount": False,
        }

    def positions_params(self, account: AccountConfig) -> dict[str, Any]:
        return {"type": "swap", "settle": "usdt"}

    def margin_mode(self, p: dict[str, Any], info: dict[str, Any], context: dict[str, Any]) -> MarginMode:
        # The current schema says it (its docs example: leverage "0", pos_margin_mode "isolated");
        # "leverage 0 = cross" is the older convention, for payloads without pos_margin_mode.
        mode = str(info.get("pos_margin_mode") or "").lower()
        if mode in ("isolated", "cross"):
            return "isolated" if mode == "isolated" else "cross"
        leverage = num(info.get("leverage"))
        if leverage is not None:
            return "cross" if leverage == 0 else "isolated"
        return super().margin_mode(p, info, context)

    def position_side(self, p: dict[str, Any], info: dict[str, Any]) -> PositionSide:
        mode = str(info.get("mode", "single"))
        return "long" if mode == "dual_long" else "short" if mode == "dual_short" else "both"

    def side(self, p: dict[str, Any], info: dict[str, Any]) -> Literal["long", "short"]:
        size = num(info.get("size"))
        if size:
            return "long" if size > 0 else "short"
        return super().side(p, info)

    def leverage(self, p: dict[str, Any], info: dict[str, Any], context: dict[str, Any]) -> float | None:
        lev = positive(info.get("lever")) or positive(info.get("leverage"))
        return lev or positive(info.get("cross_leverage_limit"))

    def isolated_margin(
        self, p: dict[str, Any], info: dict[str, Any], context: dict[str, Any], leg: Leg
    ) -> tuple[float | None, str]:
        # position ``margin``: Gate reserves the close fee in it and its formula (help 27724) uses
        # it as it is, with the taker rate in the denominator.
        return num(info.get("margin")), ""

    def mark_price(self, p: dict[str, Any], info: dict[str, Any]) -> float | None:
        return positive(info.get("mark_price")) or positive(p.get("markPrice"))

    def adl(self, p: dict[str, Any], info: dict[str, Any], context: dict[str, Any]) -> int | None:
        value = lights(info.get("adl_ranking"))
        return value if value is not None and value >= 1 else None

    async def taker_rates(self, ex: Any, symbols: list[str]) -> dict[str, float]:
        response = as_dict(await ex.privateFuturesGetSettleFee({"settle": "usdt"}))  # {contract: {taker_fee, ..}}
        out: dict[str, float] = {}
        for symbol in symbols:
            rate = num(as_dict(response.get(str(as_dict(ex.markets.get(symbol)).get("id")))).get("taker_fee"))
            if rate is not None:
                out[symbol] = rate
        return out

    async def balance(self, ex: Any, account: AccountConfig) -> tuple[float, str, float | None]:
        data = as_dict(await ex.privateFuturesGetSettleAccounts({"settle": "usdt"}))
        total = num(data.get("total"))
        if total is None:
            raise DataError("futures account has no total")
        isolated = num(data.get("isolated_position_margin"))
        if isolated is None:
            positions = await self.positions(ex, account)
            isolated = sum(p.isolated_margin or 0.0 for p in positions if p.margin_mode == "isolated")
        return total - isolated, self.settle, None

    def maint_amount(self, info: dict[str, Any]) -> float | None:
        return num(info.get("deduction"))

    async def fetch_mark_tickers(self, ex: Any, symbols: list[str]) -> Any:
        return await ex.fetch_tickers(symbols, {"type": "swap", "settle": "usdt"})

    def ticker_mark(self, ticker: dict[str, Any]) -> float | None:
        return positive(as_dict(ticker.get("info")).get("mark_price")) or positive(ticker.get("markPrice"))


ADAPTERS: dict[str, VenueRest] = {
    a.name: a for a in (BinanceRest(), BybitRest(), OkxRest(), HyperliquidRest(), BitgetRest(), GateRest())
}
