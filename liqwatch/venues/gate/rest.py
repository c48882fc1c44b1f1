"""gate REST adapter: see the class docstring for which field means what."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any, Literal

from liqwatch.feeds.events import AccountModeName, CollateralRow, CollateralTierRow
from liqwatch.feeds.parse import DataError, MarginMode, PositionSide, as_dict, as_list, lights, num, positive
from liqwatch.feeds.venue_rest import (
    Leg,
    PositionSnapshot,
    VenueRest,
    inverted,
    taken,
    tier_entry,
)

_MODES: dict[str, AccountModeName] = {
    "classic": "single",
    "single_currency": "single",
    "multi_currency": "multi_assets",
    "portfolio": "portfolio",
}
"""``GET /unified/unified_mode`` ``mode`` -> liqwatch's mode."""

if TYPE_CHECKING:
    from liqwatch.feeds.account import Account as AccountConfig


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
    default 0.075%, whatever the account's tier (docs/venues/gate.md, "Fee"; Gate
    support's worked reply quotes "Taker rate = 0.075%"), so the account's rate is not applied.
    :meth:`taker_rates` reads it (``GET /api/v4/futures/usdt/fee`` ``taker_fee`` per contract)
    for when a recorded Gate position shows otherwise: set :attr:`account_taker_rate`.

    BTC-settled (config ``inverse``; ``BTC/USD:BTC``, id ``BTC_USD``): ``GET
    /api/v4/futures/btc/positions``; ``quanto_multiplier`` "0" is 1 USD a contract (ccxt
    ``contractSize`` 1), so size = ``size`` USD; ``margin`` in BTC; coin wallet: ``GET
    /api/v4/futures/btc/accounts`` ``total - isolated_position_margin``; marks from the btc tickers.
    """

    name = "gate"
    tier_source = "/api/v4/futures/usdt/risk_limit_tiers"
    public_host = "https://api.gateio.ws"
    tier_download = "offset_pages"
    tier_boundary = "cap_inclusive"
    tier_inverse_unit = "settle currency (risk_limit of /futures/btc/risk_limit_tiers as published)"
    ccxt_id = "gate"
    liq_field = "liq_price"
    balance_uses_positions = True
    account_taker_rate = False
    fee_endpoint = "GET /api/v4/futures/usdt/fee"

    def __init__(self) -> None:
        super().__init__()
        self._unified: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()
        """Per ccxt client, the latest ``/unified/accounts`` answer (:meth:`collateral` reuses it)."""
        self._futures: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()
        """Per ccxt client, the latest USDT futures account (its ``unrealised_pnl``, for :meth:`collateral`)."""

    async def collateral_tiers(self, ex: Any) -> dict[str, list[CollateralTierRow]]:
        return await gate_discount_tiers(ex)

    async def collateral_table(self, ex: Any) -> dict[str, dict[str, Any]]:
        return {ccy: tier_entry(rows, "value") for ccy, rows in (await gate_discount_tiers(ex)).items() if rows}

    async def collateral(self, ex: Any, account: AccountConfig, mode: AccountModeName) -> list[CollateralRow]:
        """Unified multi-currency margin: every currency of ``GET /unified/accounts`` ``balances``
        (the answer the venue ratio came from). Gate's margin balance is "sum(positive equity x index
        price x discount) + sum(negative equity x index price)" (the API's ``total_margin_balance``),
        with a coin's equity = balance - borrowed + futures unrealized PnL + options value (help
        33018 "Multi-Currency Margin Mode - About Margin and Terminology"): the amount is the
        currency's ``equity``, less the USDT futures account's ``unrealised_pnl`` for USDT (the only
        settle coin; liqwatch adds the PnL at its marks). Price: the coin's index price, the
        ``index_price`` of its USDT perpetual (``GET /futures/usdt/tickers``), USDT at 1 [inf: Gate
        values in USD and names no other source]. Discount: the public ``GET
        /unified/currency_discount_tiers`` tiers by USD value, each slice at its tier's discount
        (Gate's 2024-03-20 "Gradient Margin Adjustment Factors" announcement: 200 BTC at 70,000 USD
        count 5M x 1 + 5M x 0.97 + 4M x 0.95 = 13.65M; ``upper_limit`` "+" = no end). A currency
        not enabled as collateral (``enabled_collateral`` false) counts 0 when positive. A held
        currency without an index price or tiers is refused (DataError): no figure of ours then.

        Portfolio mode: the same balances, prices and discount tiers, shown as the venue's (no figure
        of ours), the USDT row's futures PnL as the PnL Gate settles in it (its equity as sent)."""
        data = taken(self._unified, ex)
        futures = taken(self._futures, ex)
        if mode not in ("multi_assets", "portfolio"):
            return []
        portfolio = mode == "portfolio"
        if data is None:
            data = as_dict(await ex.privateUnifiedGetAccounts())
        if futures is None:
            futures = as_dict(await ex.privateFuturesGetSettleAccounts({"settle": "usdt"}))
        upnl = num(futures.get("unrealised_pnl")) or 0.0
        held: list[tuple[str, float, bool, float]] = []
        for currency, item in as_dict(data.get("balances")).items():
            row = as_dict(item)
            name, equity = str(currency).upper(), num(row.get("equity"))
            if not name or equity is None:
                continue
            amount = equity - upnl if name == self.settle else equity
            pnl = upnl if portfolio and name == self.settle else 0.0
            if amount != 0 or pnl != 0:
                held.append((name, amount, row.get("enabled_collateral") is not False, pnl))
        if not held:
            return []
        prices = await self._index_prices(ex) if any(name != self.settle for name, _, _, _ in held) else {}
        need = {name for name, _, counted, _ in held if counted}
        tables = await self._tables(ex, need) if need else {}
        out: list[CollateralRow] = []
        for name, amount, counted, pnl in held:
            price = 1.0 if name == self.settle else prices.get(name)
            if price is None:
                raise DataError(f"no index_price of a {name}_USDT perpetual for {name} (a {name} balance is held)")
            if not counted:
                out.append(CollateralRow(asset=name, amount=amount, price=price, ratio=0.0, pnl=pnl))
                continue
            tiers = tables.get(name)
            if not tiers:
                raise DataError(f"no /unified/currency_discount_tiers tiers for {name} (a {name} balance is held)")
            out.append(CollateralRow(asset=name, amount=amount, price=price, tiers=tiers, tier_basis="value", pnl=pnl))
        return out

    async def _index_prices(self, ex: Any) -> dict[str, float]:
        """Coin -> the ``index_price`` of its USDT perpetual (``GET /futures/usdt/tickers``)."""
        out: dict[str, float] = {}
        for item in as_list(await ex.publicFuturesGetSettleTickers({"settle": "usdt"})):
            row = as_dict(item)
            contract, price = str(row.get("contract", "")), positive(row.get("index_price"))
            base, sep, quote = contract.partition("_")
            if sep and quote == self.settle and price is not None:
                out[base.upper()] = price
        return out

    async def account_mode(self, ex: Any, account: AccountConfig) -> tuple[AccountModeName, str]:
        data = as_dict(await ex.privateUnifiedGetUnifiedMode())
        name = str(data.get("mode", ""))
        mode = _MODES.get(name)
        if mode is None:
            return "unknown", f"gate unified_mode {name or '(none)'} is not one liqwatch knows"
        return mode, f"gate unified_mode {name}" + (" (classic account)" if name == "classic" else " (unified account)")

    async def venue_ratio(
        self, ex: Any, account: AccountConfig, mode: AccountModeName
    ) -> tuple[float | None, dict[str, float | str | None]]:
        """A unified account's ``total_maintenance_margin_rate`` (``GET /unified/accounts``) is
        margin balance / maintenance margin (liquidation at 1): liqwatch's ratio is its inverse. Read
        for the unified modes (a classic futures account has no such ratio); multi-currency margin
        keeps the answer for :meth:`collateral`."""
        if mode == "single":
            return None, {}
        data = as_dict(await ex.privateUnifiedGetAccounts())
        if mode in ("multi_assets", "portfolio"):
            self._unified[ex] = data
        rate = num(data.get("total_maintenance_margin_rate"))
        inputs: dict[str, float | str | None] = {
            "total_maintenance_margin_rate": rate,
            "total_margin_balance": num(data.get("total_margin_balance")),
            "total_maintenance_margin": num(data.get("total_maintenance_margin")),
        }
        return inverted(rate), inputs

    def options(self) -> dict[str, Any]:
        return {
            "fetchMarkets": {"types": ["swap"]},
            "swap": {"fetchMarkets": {"settlementCurrencies": ["usdt"]}},
            "defaultType": "swap",
            "unifiedAccount": False,
        }

    def download_options(self) -> dict[str, Any]:
        # `tiers update` also loads the BTC-settled (inverse) perpetuals; the live feed stays on usdt
        options = self.options()
        return {**options, "swap": {"fetchMarkets": {"settlementCurrencies": ["usdt", "btc"]}}}

    def positions_params(self, account: AccountConfig) -> dict[str, Any]:
        return {"type": "swap", "settle": "usdt"}

    lists_inverse = True

    def inverse_positions_params(self, account: AccountConfig) -> dict[str, Any] | None:
        return {"type": "swap", "settle": "btc"}

    async def inverse_balances(
        self, ex: Any, account: AccountConfig, positions: PositionSnapshot
    ) -> list[tuple[float, str, float | None]]:
        if not any(p.inverse and p.settle == "BTC" for p in positions.positions):
            return []
        data = as_dict(await ex.privateFuturesGetSettleAccounts({"settle": "btc"}))
        total = num(data.get("total"))
        if total is None:
            raise DataError("BTC futures account has no total")
        isolated = num(data.get("isolated_position_margin"))
        if isolated is None:
            isolated = sum(
                p.isolated_margin or 0.0 for p in positions.positions if p.inverse and p.margin_mode == "isolated"
            )
        return [(total - isolated, "BTC", None)]

    async def fetch_inverse_mark_tickers(self, ex: Any, symbols: list[str]) -> Any:
        return await ex.fetch_tickers(symbols, {"type": "swap", "settle": "btc"})

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

    async def balance(
        self, ex: Any, account: AccountConfig, positions: PositionSnapshot
    ) -> tuple[float, str, float | None]:
        data = as_dict(await ex.privateFuturesGetSettleAccounts({"settle": "usdt"}))
        self._futures[ex] = data
        total = num(data.get("total"))
        if total is None:
            raise DataError("futures account has no total")
        isolated = num(data.get("isolated_position_margin"))
        if isolated is None:
            isolated = sum(
                p.isolated_margin or 0.0 for p in positions.positions if p.margin_mode == "isolated" and not p.inverse
            )
        return total - isolated, self.settle, None

    def maint_amount(self, info: dict[str, Any]) -> float | None:
        return num(info.get("deduction"))

    async def fetch_mark_tickers(self, ex: Any, symbols: list[str]) -> Any:
        return await ex.fetch_tickers(symbols, {"type": "swap", "settle": "usdt"})

    def ticker_mark(self, ticker: dict[str, Any]) -> float | None:
        return positive(as_dict(ticker.get("info")).get("mark_price")) or positive(ticker.get("markPrice"))


def discount_tier_rows(entry: dict[str, Any]) -> list[CollateralTierRow]:
    """One currency's ``discount_tiers`` of ``/unified/currency_discount_tiers`` as USD-value tiers
    (``lower_limit``, ``upper_limit`` "+" = no end, ``discount``), ascending; raises DataError for a
    row that is not numbers."""
    out: list[CollateralTierRow] = []
    for item in as_list(entry.get("discount_tiers")):
        tier = as_dict(item)
        low, rate = num(tier.get("lower_limit")), num(tier.get("discount"))
        top = tier.get("upper_limit")
        high = None if top in ("+", "", None) else num(top)
        if low is None or rate is None or (high is None and top not in ("+", "", None)):
            raise DataError(f"malformed currency_discount_tiers row {tier!r}")
        out.append(CollateralTierRow(min=low, max=high, ratio=rate))
    return sorted(out, key=lambda t: t.min)


async def gate_discount_tiers(ex: Any) -> dict[str, list[CollateralTierRow]]:
    """Every currency's discount tiers: the public ``GET /unified/currency_discount_tiers`` (ccxt
    4.5.90 lists it among the private unified calls and has no public unified host, so it is asked
    as a public call on the unified host: no key) -> currency -> tiers. The docs print the list
    inside a list; both shapes are read."""
    hosts = ex.urls["api"]
    hosts["public"].setdefault("unified", hosts["private"]["unified"])
    response = await ex.request("currency_discount_tiers", ["public", "unified"], "GET", {})
    entries: list[Any] = []
    for item in as_list(response):
        entries.extend(as_list(item) if isinstance(item, list) else [item])
    out: dict[str, list[CollateralTierRow]] = {}
    for item in entries:
        entry = as_dict(item)
        currency = entry.get("currency")
        if isinstance(currency, str) and currency:
            out[currency.upper()] = discount_tier_rows(entry)
    return out
