"""bybit REST adapter: see the class docstring for which field means what."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from liqwatch.feeds.events import AccountModeName, CollateralRow, CollateralTierRow
from liqwatch.feeds.parse import DataError, MarginMode, PositionSide, as_dict, as_list, lights, ms_to_s, num, positive
from liqwatch.feeds.venue_rest import (
    MAX_PAGES,
    Leg,
    PositionSnapshot,
    VenueRest,
    is_inverse,
    ratio_of,
    taken,
    tier_entry,
)
from liqwatch.numfmt import plain

if TYPE_CHECKING:
    from liqwatch.feeds.account import Account as AccountConfig

# Bybit's base (non-VIP) taker rate for USDT perpetuals. The recorded classic payload reserves its
# fee to close at it (0.15 x 2,567.82 x 0.055% = 0.21185); used only when neither bustPrice nor
# the account's own rate (GET /v5/account/fee-rate) is available.
BYBIT_BASE_TAKER = 0.00055

_MODES: dict[str, AccountModeName] = {
    "ISOLATED_MARGIN": "single",
    "REGULAR_MARGIN": "multi_assets",
    "PORTFOLIO_MARGIN": "portfolio",
}
"""``/v5/account/info`` ``marginMode`` -> liqwatch's mode: a unified account in cross margin
values every collateral coin at its tiered collateral value ratio (multi-assets); isolated margin
keeps each position on its own margin (single)."""


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

    Inverse (config ``inverse``; ``BTC/USD:BTC``, id ``BTCUSD``): ``GET /v5/position/list?category=inverse``
    (every settle coin in one read); ``size`` is the USD face value (1 USD contracts: ccxt
    ``contracts`` = USD, ``contractSize`` 1); isolated margin in the coin from ``bustPrice``:
    ``s x Q x (1/bustPrice - 1/entry)``, else ``(positionBalance - t x Q/entry) / (1 + s x t)`` (the
    fee to close, t x Q/bustPrice, taken out); coin wallets: the coin's ``walletBalance`` less
    its isolated inverse positions' ``positionBalance``; marks ``tickers?category=inverse``.
    """

    name = "bybit"
    tier_source = "/v5/market/risk-limit"
    public_host = "https://api.bybit.com"
    tier_download = "cursor_pages"
    tier_boundary = "cap_inclusive"
    ccxt_id = "bybit"
    liq_field = "liqPrice"
    balance_uses_positions = True

    lists_inverse = True
    tier_inverse_unit = "settle coin (riskLimitValue of /v5/market/risk-limit?category=inverse as published)"

    def inverse_positions_params(self, account: AccountConfig) -> dict[str, Any] | None:
        return {"type": "swap", "subType": "inverse"}

    async def raw_inverse_positions(self, ex: Any, account: AccountConfig) -> list[dict[str, Any]]:
        params = self.inverse_positions_params(account)
        return await self._pages(ex, params or {})

    def __init__(self) -> None:
        super().__init__()
        self._wallets: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()
        """Per ccxt client, the latest wallet-balance account row (the venue ratio reuses it)."""
        self._collateral_source: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()
        """The same row for :meth:`collateral` (every coin's wallet balance)."""

    async def collateral_tiers(self, ex: Any) -> dict[str, list[CollateralTierRow]]:
        return await bybit_collateral_tiers(ex)

    async def collateral_table(self, ex: Any) -> dict[str, dict[str, Any]]:
        return {coin: tier_entry(rows) for coin, rows in (await bybit_collateral_tiers(ex)).items() if rows}

    async def collateral(self, ex: Any, account: AccountConfig, mode: AccountModeName) -> list[CollateralRow]:
        """UTA cross (``REGULAR_MARGIN``): every coin of the UNIFIED wallet-balance row (the one the
        balance and ``accountMMRate`` came from): amount ``walletBalance - spotBorrow`` (the
        glossary's margin balance = wallet balance + perp UPL - spot borrow; the perp UPL is
        liqwatch's at its marks), USD index price ``usdValue / equity``, valued at its tiered
        collateral value ratio by quantity from the public ``GET /v5/spot-margin-trade/collateral``
        ``collateralRatioList`` (``maxQty`` "" = no end; Bybit "Assets Collateral Value Ratio List
        (UTA)": sum asset x USD index x ratio; a negative balance at 100 %). A coin Bybit does not
        count (``marginCollateral`` or ``collateralSwitch`` false) counts 0 when positive. A held
        coin without a price or a tier table is refused (DataError): no figure of ours then.

        Portfolio margin (``PORTFOLIO_MARGIN``): the same coins, ratios and prices, shown as the
        venue's (no figure of ours), each with the PnL Bybit settles in it (the coin's
        ``unrealisedPnl``): its equity walletBalance - spotBorrow + unrealisedPnl is what the
        glossary's "Equity is adjusted by the Collateral Value Ratio" applies to."""
        row = taken(self._collateral_source, ex)
        if mode not in ("multi_assets", "portfolio"):
            return []
        portfolio = mode == "portfolio"
        if row is None:
            result = as_dict(await ex.fetch_balance({"type": "swap"}))
            rows = as_list(as_dict(as_dict(result.get("info")).get("result")).get("list"))
            row = as_dict(rows[0]) if rows else {}
        held: list[tuple[str, float, float | None, bool, float]] = []
        for item in as_list(row.get("coin")):
            coin = as_dict(item)
            name = str(coin.get("coin", ""))
            wallet = num(coin.get("walletBalance"))
            if not name or wallet is None:
                continue
            amount = wallet - (num(coin.get("spotBorrow")) or 0.0)
            pnl = (num(coin.get("unrealisedPnl")) or 0.0) if portfolio else 0.0
            if amount == 0 and pnl == 0:
                continue
            equity, usd = num(coin.get("equity")), num(coin.get("usdValue"))
            price = usd / equity if usd is not None and equity else None
            counted = coin.get("marginCollateral") is not False and coin.get("collateralSwitch") is not False
            held.append((name, amount, price if price is not None and price > 0 else None, counted, pnl))
        need = {name for name, _, _, counted, _ in held if counted}
        tables = await self._tables(ex, need) if need else {}
        out: list[CollateralRow] = []
        for name, amount, price, counted, pnl in held:
            if price is None:
                raise DataError(
                    f"wallet-balance gives no USD price for {name} (usdValue / equity; a {name} balance is held)"
                )
            if not counted:
                out.append(CollateralRow(asset=name, amount=amount, price=price, ratio=0.0, pnl=pnl))
                continue
            tiers = tables.get(name)
            if not tiers:
                raise DataError(f"no /v5/spot-margin-trade/collateral tiers for {name} (a {name} balance is held)")
            out.append(
                CollateralRow(asset=name, amount=amount, price=price, tiers=tiers, tier_basis="quantity", pnl=pnl)
            )
        return out

    def options(self) -> dict[str, Any]:
        return {"fetchMarkets": {"types": ["linear"]}, "defaultType": "swap", "defaultSubType": "linear"}

    async def account_mode(self, ex: Any, account: AccountConfig) -> tuple[AccountModeName, str]:
        """``GET /v5/account/info``: ``unifiedMarginStatus`` 1 is a classic account (one wallet per
        coin: single); a unified one by its ``marginMode``."""
        info = as_dict(as_dict(await ex.privateGetV5AccountInfo()).get("result"))
        status = str(info.get("unifiedMarginStatus", ""))
        if status == "1":
            return "single", "bybit unifiedMarginStatus 1 (classic account)"
        margin_mode = str(info.get("marginMode", ""))
        mode = _MODES.get(margin_mode)
        if mode is None:
            return "unknown", f"bybit marginMode {margin_mode or '(none)'} is not one liqwatch knows"
        return mode, f"bybit marginMode {margin_mode} (unified)"

    async def venue_ratio(
        self, ex: Any, account: AccountConfig, mode: AccountModeName
    ) -> tuple[float | None, dict[str, float | str | None]]:
        """``accountMMRate`` of ``/v5/account/wallet-balance?accountType=UNIFIED`` (total MM / margin
        balance after haircuts: liqwatch's convention as is); Bybit says its account-wide fields do
        not apply to isolated margin, so none there."""
        if mode not in ("multi_assets", "portfolio"):
            taken(self._wallets, ex)
            return None, {}
        row = taken(self._wallets, ex)
        if row is None:
            result = as_dict(await ex.fetch_balance({"type": "swap"}))
            rows = as_list(as_dict(as_dict(result.get("info")).get("result")).get("list"))
            row = as_dict(rows[0]) if rows else {}
        self._collateral_source[ex] = row
        rate = num(row.get("accountMMRate"))
        mm, balance = num(row.get("totalMaintenanceMargin")), num(row.get("totalMarginBalance"))
        inputs: dict[str, float | str | None] = {
            "accountMMRate": rate,
            "totalMaintenanceMargin": mm,
            "totalMarginBalance": balance,
        }
        return (rate if rate is not None else ratio_of(mm, balance)), inputs

    def download_options(self) -> dict[str, Any]:
        return {**self.options(), "fetchMarkets": {"types": ["linear", "inverse"]}}

    def positions_params(self, account: AccountConfig) -> dict[str, Any]:
        return {"type": "swap", "subType": "linear", "settleCoin": self.settle}

    async def raw_positions(self, ex: Any, account: AccountConfig) -> list[dict[str, Any]]:
        """Every page of ``/v5/position/list`` (200 a page; ccxt puts the cursor on the first row)."""
        return await self._pages(ex, self.positions_params(account))

    @staticmethod
    async def _pages(ex: Any, params: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            page = [as_dict(p) for p in as_list(await ex.fetch_positions(None, params))]
            out.extend(page)
            cursor = as_dict(page[0].get("info")).get("nextPageCursor") if page else None
            if not isinstance(cursor, str) or not cursor or cursor in seen:
                return out
            seen.add(cursor)
            params = {**params, "cursor": cursor}
        raise DataError(f"more than {MAX_PAGES} pages of positions")

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
                inverse = is_inverse(as_dict(ex.markets[p["symbol"]]))
                key, category = ("taker_inverse", "inverse") if inverse else ("taker", "linear")
                if key not in context:  # needed once a bustPrice is missing
                    context[key] = await self._taker_rates(ex, category)
        return context

    async def _account_mode(self, ex: Any) -> dict[str, Any]:
        info = as_dict(await ex.privateGetV5AccountInfo())
        return {"account_margin_mode": str(as_dict(info.get("result")).get("marginMode", ""))}

    @staticmethod
    async def _taker_rates(ex: Any, category: str = "linear") -> dict[str, float]:
        """The account's taker rate per symbol id; {} when Bybit will not say (optional: the base
        rate stands in)."""
        import ccxt.async_support as ccxt_async

        try:
            response = as_dict(await ex.privateGetV5AccountFeeRate({"category": category}))
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
                held = (
                    f"; positionBalance {plain(reserved, 10)} holds the fee to close too"
                    if reserved is not None
                    else ""
                )
                return margin, f"size x |entry - bustPrice {plain(bust, 10)}|{held}"
        if reserved is None:
            return None, ""
        own = as_dict(context.get("taker")).get(str(info.get("symbol")))
        rate = own if isinstance(own, float) else BYBIT_BASE_TAKER
        margin = (reserved - leg.size * leg.entry * rate) / (1 - leg.sign * rate)
        if isinstance(own, float):
            return (
                margin,
                f"positionBalance {plain(reserved, 10)} less the fee to close at the account's {plain(rate * 100)}% "
                "taker rate",
            )
        return margin, (
            f"positionBalance {plain(reserved, 10)} less the fee to close at an assumed {plain(rate * 100)}% "
            "(Bybit's base taker rate; the account's own was unavailable)"
        )

    def inverse_margin(
        self, p: dict[str, Any], info: dict[str, Any], context: dict[str, Any], leg: Leg
    ) -> tuple[float | None, str]:
        """The coin margin of an inverse position, without the fee to close: from ``bustPrice``
        (where equity is zero) M = s x Q x (1/BP - 1/EP); else positionBalance = M + t x Q/BP with
        1/BP = 1/EP + s x M/Q, i.e. M = (positionBalance - t x Q/EP) / (1 + s x t)."""
        reserved = self._reserved(info)
        bust = self._bust(leg.market, info)
        q, ep, s = leg.size, leg.entry, leg.sign
        if bust is not None:
            margin = s * q * (1 / bust - 1 / ep)
            if margin > 0:
                held = (
                    f"; positionBalance {plain(reserved, 10)} holds the fee to close too"
                    if reserved is not None
                    else ""
                )
                return margin, f"size x |1/bustPrice {plain(bust, 10)} - 1/entry| (coin){held}"
        if reserved is None:
            return None, ""
        own = as_dict(context.get("taker_inverse")).get(str(info.get("symbol")))
        rate = own if isinstance(own, float) else BYBIT_BASE_TAKER
        margin = (reserved - rate * q / ep) / (1 + s * rate)
        whose = "the account's"
        if not isinstance(own, float):
            whose = "an assumed (Bybit's base; the account's was unavailable)"
        return (
            margin,
            f"positionBalance {plain(reserved, 10)} less the fee to close at {whose} {plain(rate * 100)}% taker rate",
        )

    def mark_price(self, p: dict[str, Any], info: dict[str, Any]) -> float | None:
        return positive(info.get("markPrice")) or positive(p.get("markPrice"))

    def adl(self, p: dict[str, Any], info: dict[str, Any], context: dict[str, Any]) -> int | None:
        return lights(info.get("adlRankIndicator"))

    async def balance(
        self, ex: Any, account: AccountConfig, positions: PositionSnapshot
    ) -> tuple[float, str, float | None]:
        return (await self._pool_wallets(ex, positions, [self.settle]))[0]

    async def balances(
        self, ex: Any, account: AccountConfig, positions: PositionSnapshot
    ) -> list[tuple[float, str, float | None]]:
        """One wallet-balance read for every pool: USDT, and each held inverse settle coin."""
        coins = [self.settle]
        if self.reads_inverse(account):
            coins += sorted({p.settle for p in positions.positions if p.inverse and p.settle} - {self.settle})
        return await self._pool_wallets(ex, positions, coins)

    async def _pool_wallets(
        self, ex: Any, positions: PositionSnapshot, coins: list[str]
    ) -> list[tuple[float, str, float | None]]:
        """Per coin: ``walletBalance`` less the whole ``positionBalance`` of every isolated
        position settled in it (the wallet holds them, fee reserve included)."""
        result = as_dict(await ex.fetch_balance({"type": "swap"}))
        response = as_dict(result.get("info"))
        wallets: dict[str, float] = {}
        for account_row in as_list(as_dict(response.get("result")).get("list")):
            self._wallets[ex] = as_dict(account_row)
            for coin in as_list(as_dict(account_row).get("coin")):
                row = as_dict(coin)
                value = num(row.get("walletBalance"))
                if isinstance(row.get("coin"), str) and value is not None:
                    wallets[row["coin"]] = value
        out: list[tuple[float, str, float | None]] = []
        for coin in coins:
            wallet = wallets.get(coin)
            if wallet is None:
                raise DataError(f"wallet-balance has no {coin} walletBalance")
            isolated = 0.0
            for p in positions.raw:
                info = as_dict(p.get("info"))
                settle = str(as_dict(ex.markets.get(p.get("symbol"))).get("settle") or self.settle)
                if settle == coin and self.margin_mode(p, info, positions.context) == "isolated":
                    isolated += self._reserved(info) or 0.0
            out.append((wallet - isolated, coin, ms_to_s(response.get("time"))))
        return out

    def maint_amount(self, info: dict[str, Any]) -> float | None:
        return num(info.get("mmDeduction"))

    async def fetch_mark_tickers(self, ex: Any, symbols: list[str]) -> Any:
        return await ex.fetch_tickers(symbols, {"type": "swap", "subType": "linear"})

    async def fetch_inverse_mark_tickers(self, ex: Any, symbols: list[str]) -> Any:
        return await ex.fetch_tickers(symbols, {"type": "swap", "subType": "inverse"})

    def ticker_mark(self, ticker: dict[str, Any]) -> float | None:
        return positive(as_dict(ticker.get("info")).get("markPrice")) or positive(ticker.get("markPrice"))


def collateral_tier_rows(rows: list[Any]) -> list[CollateralTierRow]:
    """``collateralRatioList`` rows (``minQty``, ``maxQty`` "" = no end, ``collateralRatio``) in
    ascending order; raises DataError for a row that is not numbers."""
    out: list[CollateralTierRow] = []
    for item in rows:
        tier = as_dict(item)
        low, ratio = num(tier.get("minQty")), num(tier.get("collateralRatio"))
        high = None if tier.get("maxQty") in ("", None) else num(tier.get("maxQty"))
        if low is None or ratio is None or (high is None and tier.get("maxQty") not in ("", None)):
            raise DataError(f"malformed collateralRatioList row {tier!r}")
        out.append(CollateralTierRow(min=low, max=high, ratio=ratio))
    return sorted(out, key=lambda t: t.min)


async def bybit_collateral_tiers(ex: Any) -> dict[str, list[CollateralTierRow]]:
    """Every coin's tiered collateral value ratios by quantity: the public ``GET
    /v5/spot-margin-trade/collateral`` (no ``currency``: every coin) -> coin -> tiers."""
    response = as_dict(await ex.publicGetV5SpotMarginTradeCollateral())
    out: dict[str, list[CollateralTierRow]] = {}
    for item in as_list(as_dict(response.get("result")).get("list")):
        entry = as_dict(item)
        currency = entry.get("currency")
        if isinstance(currency, str) and currency:
            out[currency.upper()] = collateral_tier_rows(as_list(entry.get("collateralRatioList")))
    return out
