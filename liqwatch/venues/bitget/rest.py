"""bitget REST adapter: see the class docstring for which field means what."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from liqwatch.feeds.events import AccountModeName
from liqwatch.feeds.parse import DataError, MarginMode, PositionSide, as_dict, as_list, ms_to_s, num, positive
from liqwatch.feeds.venue_rest import (
    Leg,
    PositionSnapshot,
    VenueRest,
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

    def options(self) -> dict[str, Any]:
        return {"fetchMarkets": {"types": ["swap"]}, "defaultType": "swap", "uta": False}

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
        (liquidation at 1); read for the modes liqwatch does not compute."""
        if mode == "single":
            return None, {}
        row = await self._usdt_row(ex)
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
