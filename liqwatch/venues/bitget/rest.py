"""bitget REST adapter: see the class docstring for which field means what."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any, Literal

from liqwatch.feeds.events import AccountModeName, CollateralRow, CollateralTierRow
from liqwatch.feeds.parse import DataError, MarginMode, PositionSide, as_dict, as_list, ms_to_s, num, positive
from liqwatch.feeds.venue_rest import (
    Leg,
    PositionSnapshot,
    VenueRest,
    taken,
    tier_entry,
)

if TYPE_CHECKING:
    from liqwatch.feeds.account import Account as AccountConfig


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

    COIN-FUTURES (config ``inverse``; ``BTC/USD:BTC``, id ``BTCUSD``): ``GET
    /api/v2/mix/position/all-position?productType=COIN-FUTURES`` (every margin coin in one read);
    ``total`` is in coin units, so the USD face value is ``total x openPriceAvg`` [derived; the
    coin-M article was not captured, docs/venues/bitget.md]; ``marginSize`` in the coin; coin
    wallets: the COIN-FUTURES accounts rows, same formula; marks from the COIN-FUTURES tickers.
    """

    name = "bitget"
    tier_source = "/api/v2/mix/market/query-position-lever"
    public_host = "https://api.bitget.com"
    tier_inverse_unit = "startUnit/endUnit of productType COIN-FUTURES as published"
    ccxt_id = "bitget"
    liq_field = "liquidationPrice"
    account_taker_rate = True
    fee_endpoint = "GET /api/v2/common/trade-rate"

    def __init__(self) -> None:
        super().__init__()
        self._rows: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()
        """Per ccxt client, the USDT-M account row the venue ratio came from (:meth:`collateral`)."""

    def options(self) -> dict[str, Any]:
        return {"fetchMarkets": {"types": ["swap"]}, "defaultType": "swap", "uta": False}

    async def collateral_tiers(self, ex: Any) -> dict[str, list[CollateralTierRow]]:
        return await bitget_discount_tiers(ex, self.settle)

    async def collateral_table(self, ex: Any) -> dict[str, dict[str, Any]]:
        tables = await bitget_discount_tiers(ex, self.settle)
        return {coin: tier_entry(rows, "value") for coin, rows in tables.items() if rows}

    async def collateral(self, ex: Any, account: AccountConfig, mode: AccountModeName) -> list[CollateralRow]:
        """Multi-asset mode (``assetMode`` union) of the classic USDT-M account: "Multi-asset margin
        = coin A x index price A x haircut A + ..." and a coin's equity = its account assets (the
        balance without unrealized PnL) + uPnL (support 12560603812664 "Risk management for USDT-M
        positions in multi-asset mode"; glossary 12560603815934). The coins: ``assetList`` of the
        USDT-FUTURES account row the venue ratio came from, amount ``balance``; USDT, where the
        list has no row, the wallet (``accountEquity - unrealizedPL - isolatedMargin``, as in
        single-asset mode). Price: in USDT, the unit of Bitget's multi-asset margin, so USDT at 1
        and a coin at the ``indexPrice`` of its USDT perpetual (``GET /api/v2/mix/market/tickers``).
        Haircut: the public ``GET /api/v2/mix/market/discount-rate`` tiers by USDT value, each slice
        at its tier's rate (article 12560603817279: 10 BTC at 60,000 count 100,000 x 0.975 +
        400,000 x 0.97 + 100,000 x 0.965 = 582,000 USDT). A held coin without an index price or
        tiers is refused (DataError): no figure of ours then."""
        row = taken(self._rows, ex)
        if mode != "multi_assets":
            return []
        if row is None:
            row = await self._usdt_row(ex)
        held: dict[str, float] = {}
        for item in as_list(row.get("assetList")):
            coin = as_dict(item)
            name, balance = str(coin.get("coin", "")).upper(), num(coin.get("balance"))
            if name and balance is not None and balance != 0:
                held[name] = balance
        if self.settle not in held:
            equity = num(row.get("accountEquity"))
            if equity is not None:
                wallet = equity - (num(row.get("unrealizedPL")) or 0.0) - (num(row.get("isolatedMargin")) or 0.0)
                if wallet != 0:
                    held = {self.settle: wallet, **held}
        if not held:
            return []
        prices = await self._index_prices(ex) if any(name != self.settle for name in held) else {}
        tables = await self._tables(ex, set(held))
        out: list[CollateralRow] = []
        for name, amount in held.items():
            price = 1.0 if name == self.settle else prices.get(name)
            if price is None:
                raise DataError(f"no indexPrice of a {name}USDT perpetual for {name} (a {name} balance is held)")
            tiers = tables.get(name)
            if not tiers:
                raise DataError(f"no /api/v2/mix/market/discount-rate tiers for {name} (a {name} balance is held)")
            out.append(CollateralRow(asset=name, amount=amount, price=price, tiers=tiers, tier_basis="value"))
        return out

    async def _index_prices(self, ex: Any) -> dict[str, float]:
        """Coin -> the ``indexPrice`` of its USDT perpetual (``GET /api/v2/mix/market/tickers``)."""
        response = as_dict(await ex.publicMixGetV2MixMarketTickers({"productType": "USDT-FUTURES"}))
        out: dict[str, float] = {}
        for item in as_list(response.get("data")):
            ticker = as_dict(item)
            symbol, price = str(ticker.get("symbol", "")).upper(), positive(ticker.get("indexPrice"))
            if symbol.endswith(self.settle) and len(symbol) > len(self.settle) and price is not None:
                out[symbol[: -len(self.settle)]] = price
        return out

    async def _usdt_row(self, ex: Any) -> dict[str, Any]:
        response = as_dict(await ex.privateMixGetV2MixAccountAccounts({"productType": "USDT-FUTURES"}))
        for item in as_list(response.get("data")):
            if str(as_dict(item).get("marginCoin", "")).upper() == self.settle:
                return as_dict(item)
        raise DataError(f"mix accounts have no {self.settle} row")

    async def account_mode(self, ex: Any, account: AccountConfig) -> tuple[AccountModeName, str]:
        """``assetMode`` of the USDT-M account (``GET /api/v2/mix/account/accounts``): ``single``
        or ``union`` (multi-asset mode: every coin counts at its haircut)."""
        asset_mode = str((await self._usdt_row(ex)).get("assetMode", ""))
        if asset_mode == "single":
            return "single", "bitget assetMode single (single-asset mode)"
        if asset_mode == "union":
            return "multi_assets", "bitget assetMode union (multi-asset mode)"
        return "unknown", f"bitget assetMode {asset_mode or '(none)'} is not one liqwatch knows"

    async def venue_ratio(
        self, ex: Any, account: AccountConfig, mode: AccountModeName
    ) -> tuple[float | None, dict[str, float | str | None]]:
        """``crossedRiskRate`` of the USDT-M account: cross maintenance margin / equity as is
        (liquidation at 1); multi-asset mode keeps the row for :meth:`collateral`."""
        if mode == "single":
            return None, {}
        row = await self._usdt_row(ex)
        if mode == "multi_assets":
            self._rows[ex] = row
        rate = num(row.get("crossedRiskRate"))
        inputs: dict[str, float | str | None] = {
            "crossedRiskRate": rate,
            "unionMm": num(row.get("unionMm")),
            "unionTotalMargin": num(row.get("unionTotalMargin")),
        }
        return rate, inputs

    def positions_params(self, account: AccountConfig) -> dict[str, Any]:
        return {"productType": "USDT-FUTURES", "marginCoin": self.settle}

    lists_inverse = True

    def inverse_options(self) -> dict[str, Any]:
        return self.options()  # ccxt's swap markets include COIN-FUTURES

    async def raw_inverse_positions(self, ex: Any, account: AccountConfig) -> list[dict[str, Any]]:
        # the raw endpoint: ccxt's fetch_positions always sends one marginCoin (USDT by default)
        response = as_dict(await ex.privateMixGetV2MixPositionAllPosition({"productType": "COIN-FUTURES"}))
        rows = [as_dict(r) for r in as_list(response.get("data"))]
        return [as_dict(p) for p in as_list(ex.parse_positions(rows))]

    def inverse_contract_size(self, p: dict[str, Any], market: dict[str, Any]) -> float:
        # ``total`` is coin units: the USD face value is fixed at entry
        return positive(p.get("entryPrice")) or 1.0

    async def inverse_balances(
        self, ex: Any, account: AccountConfig, positions: PositionSnapshot
    ) -> list[tuple[float, str, float | None]]:
        settles = sorted({p.settle for p in positions.positions if p.inverse and p.settle})
        if not settles:
            return []
        response = as_dict(await ex.privateMixGetV2MixAccountAccounts({"productType": "COIN-FUTURES"}))
        return [self._wallet(response, coin) for coin in settles]

    async def fetch_inverse_mark_tickers(self, ex: Any, symbols: list[str]) -> Any:
        return await ex.fetch_tickers(symbols, {"productType": "COIN-FUTURES"})

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

    async def balance(
        self, ex: Any, account: AccountConfig, positions: PositionSnapshot
    ) -> tuple[float, str, float | None]:
        response = as_dict(await ex.privateMixGetV2MixAccountAccounts({"productType": "USDT-FUTURES"}))
        return self._wallet(response, self.settle)

    @staticmethod
    def _wallet(response: dict[str, Any], coin: str) -> tuple[float, str, float | None]:
        for item in as_list(response.get("data")):
            row = as_dict(item)
            if str(row.get("marginCoin", "")).upper() != coin:
                continue
            equity = num(row.get("accountEquity"))
            if equity is None:
                break
            upnl = num(row.get("unrealizedPL")) or 0.0
            isolated = num(row.get("isolatedMargin")) or 0.0
            return equity - upnl - isolated, coin, ms_to_s(response.get("requestTime"))
        raise DataError(f"mix accounts have no {coin} row with accountEquity")

    async def fetch_mark_tickers(self, ex: Any, symbols: list[str]) -> Any:
        return await ex.fetch_tickers(symbols, {"productType": "USDT-FUTURES"})

    def ticker_mark(self, ticker: dict[str, Any]) -> float | None:
        return positive(as_dict(ticker.get("info")).get("markPrice"))


def discount_rate_rows(entry: dict[str, Any]) -> list[CollateralTierRow]:
    """One coin's ``discountRateList`` of ``/api/v2/mix/market/discount-rate`` as USDT-value tiers
    (``minAmount``, ``maxAmount`` "-1" or "" = no end, ``discountRate``), ascending; raises
    DataError for a row that is not numbers."""
    out: list[CollateralTierRow] = []
    for item in as_list(entry.get("discountRateList")):
        tier = as_dict(item)
        low, rate = num(tier.get("minAmount")), num(tier.get("discountRate"))
        top = tier.get("maxAmount")
        high = None if top in ("-1", "", None) or num(top) == -1 else num(top)
        if low is None or rate is None or (high is None and top not in ("-1", "", None) and num(top) != -1):
            raise DataError(f"malformed discountRateList row {tier!r}")
        out.append(CollateralTierRow(min=low, max=high, ratio=rate))
    return sorted(out, key=lambda t: t.min)


async def bitget_discount_tiers(ex: Any, settle: str = "USDT") -> dict[str, list[CollateralTierRow]]:
    """Every coin's multi-asset haircut tiers: the public ``GET /api/v2/mix/market/discount-rate``
    -> coin -> tiers. USDT, the margin unit, counts whole where the list has no row for it
    ("USDT equity remains unchanged", glossary 12560603815934)."""
    response = as_dict(await ex.publicMixGetV2MixMarketDiscountRate())
    out: dict[str, list[CollateralTierRow]] = {}
    for item in as_list(response.get("data")):
        entry = as_dict(item)
        coin = entry.get("coin")
        if isinstance(coin, str) and coin:
            out[coin.upper()] = discount_rate_rows(entry)
    if out and settle not in out:
        out[settle] = [CollateralTierRow(min=0.0, max=None, ratio=1.0)]
    return out
