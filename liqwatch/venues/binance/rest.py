"""binance REST adapter: see the class docstring for which field means what."""

from __future__ import annotations

import re
import weakref
from typing import TYPE_CHECKING, Any, Literal

from liqwatch.feeds.events import AccountModeName, CollateralRow, CollateralTierRow, TierRowData
from liqwatch.feeds.parse import DataError, MarginMode, PositionSide, as_dict, as_list, lights, num, positive
from liqwatch.feeds.venue_rest import (
    Leg,
    PositionSnapshot,
    VenueRest,
    inverted,
    is_inverse,
    ratio_of,
    taken,
)

if TYPE_CHECKING:
    from liqwatch.feeds.account import Account as AccountConfig

_NOT_FOUND = re.compile(r"\b404\b")
_PAPI_ASSET_FIELDS = (
    "crossMarginAsset",
    "crossMarginBorrowed",
    "crossMarginInterest",
    "umWalletBalance",
    "cmWalletBalance",
)
"""The ``GET /papi/v1/balance`` fields of an asset's balance net of borrow: margin asset, its loan
and interest (subtracted), the USDⓈ-M and COIN-M wallets."""


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

    mode (at connect): ``GET /sapi/v1/account/info`` ``isPortfolioMarginRetailEnabled`` true ->
    ``portfolio`` (a failure there is not fatal: a portfolio-margin account's key is refused on the
    fapi endpoints below, -2015); else ``GET /fapi/v1/multiAssetsMargin`` ``multiAssetsMargin`` true,
    or a ``BNFCR`` asset in ``GET /fapi/v3/account`` ``assets[]`` (Credits Trading Mode) ->
    ``multi_assets``; else ``single``. Venue ratio: ``totalMaintMargin / totalMarginBalance`` of the
    balance's ``/fapi/v3/account`` read (USD in multi-assets mode, the USDT asset's in single-asset
    mode); portfolio margin: 1 / ``uniMMR`` of ``GET /papi/v1/account`` (liquidation at uniMMR
    1.05, i.e. 0.952 here), ``accountStatus`` among the inputs and said as the venue's status.

    Portfolio margin (``isPortfolioMarginRetailEnabled`` true, asked once per client, before the
    first positions read: Binance refuses a PM key on the fapi private endpoints, -2015): positions
    ``GET /papi/v1/um/positionRisk`` (ccxt ``fetch_positions`` with ``portfolioMargin``; its
    brackets from ``GET /papi/v1/um/leverageBracket``), their ``liquidationPrice`` the venue's
    estimate, ``leverage`` on the row; COIN-M ``GET /papi/v1/cm/positionRisk`` where the account
    reads inverse; ADL ``GET /papi/v1/um/adlQuantile`` (optional); balance: the USDT row of ``GET
    /papi/v1/balance`` (``umWalletBalance``, the USDⓈ-M wallet), coin wallets its ``cmWalletBalance``.
    The papi rows carry no margin type: each position reads as cross (PM margins the account as a
    whole); ccxt's ``collateral`` and ``marginRatio`` for them are never used.

    COIN-M (config ``inverse``; ccxt ``binanceusdm`` with the inverse markets loaded, symbols
    ``BTC/USD:BTC``): positions ``GET /dapi/v1/positionRisk`` (``positionAmt`` contracts x
    ``contractSize`` USD, 100 for BTC; ``isolatedWallet`` in the coin; ``leverage`` and
    ``marginType`` on the row); coin wallets: each held settle asset's ``crossWalletBalance`` from
    ``GET /dapi/v1/account``; brackets ``GET /dapi/v2/leverageBracket``: ``qtyFloor``/``qtyCap`` in
    coin notional (the docs' example misspells ``qtylFloor``: both read); ADL ``GET
    /dapi/v1/adlQuantile``; marks ``GET /dapi/v1/premiumIndex``. Never ccxt's ``collateral``
    (back-solved, ignores ``cum``).
    """

    name = "binance"
    ccxt_id = "binanceusdm"
    liq_field = "liquidationPrice"
    tiers_need_keys = True
    tier_source = "/fapi/v1/leverageBracket"
    public_host = "https://fapi.binance.com"
    tier_download = "all_at_once"

    lists_inverse = True
    tier_inverse_unit = "coin notional (qtyFloor/qtyCap of /dapi/v2/leverageBracket as published)"

    def __init__(self) -> None:
        super().__init__()
        self._accounts: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()
        """Per ccxt client, the latest ``/fapi/v3/account`` answer (:meth:`balance` reads it, the
        venue ratio of the same cycle reuses it)."""
        self._collateral_source: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()
        """The same answer for :meth:`collateral` (the assets' wallet balances)."""
        self._portfolio: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()
        """Per ccxt client, whether ``/sapi/v1/account/info`` says portfolio margin (asked once)."""
        self._papi_rows: weakref.WeakKeyDictionary[Any, dict[str, dict[str, Any]]] = weakref.WeakKeyDictionary()
        """Per ccxt client, the cycle's ``/papi/v1/balance`` rows (:meth:`balance` reads them,
        :meth:`portfolio_collateral` reuses them: one read per cycle)."""

    async def is_portfolio(self, ex: Any) -> bool:
        """``GET /sapi/v1/account/info`` ``isPortfolioMarginRetailEnabled`` is true, asked once per
        client. A refused key and a passing failure (network, rate limit, maintenance) are raised:
        the cycle fails with the venue's reason and asks again. Any other venue error there (an
        endpoint a testnet or proxy lacks, HTTP 404 included) reads as not portfolio margin: fapi
        answering rules it out, and a PM key refused on fapi fails the first cycle, whose retry
        opens a new client that asks again."""
        found = self._portfolio.get(ex)
        if found is None:
            import ccxt.async_support as ccxt_async

            try:
                info = as_dict(await ex.sapiGetAccountInfo())
            except ccxt_async.AuthenticationError:
                raise
            except ccxt_async.OperationFailed as exc:
                if not _NOT_FOUND.search(str(exc)):
                    raise
                info = {}
            except ccxt_async.BaseError:
                info = {}
            found = self._portfolio[ex] = info.get("isPortfolioMarginRetailEnabled") is True
        return found

    async def raw_positions(self, ex: Any, account: AccountConfig) -> list[dict[str, Any]]:
        if not await self.is_portfolio(ex):
            return await super().raw_positions(ex, account)
        result = await ex.fetch_positions(None, {"portfolioMargin": True})  # GET /papi/v1/um/positionRisk
        return [as_dict(p) for p in as_list(result)]

    async def raw_inverse_positions(self, ex: Any, account: AccountConfig) -> list[dict[str, Any]]:
        if not await self.is_portfolio(ex):
            return await super().raw_inverse_positions(ex, account)
        # GET /papi/v1/cm/positionRisk
        result = await ex.fetch_positions(None, {"subType": "inverse", "portfolioMargin": True})
        return [as_dict(p) for p in as_list(result)]

    async def stream_options(self, ex: Any) -> dict[str, Any]:
        # portfolio margin: ccxt.pro's listen key from POST /papi/v1/listenKey (kept alive with PUT
        # there), the stream at /pm/ws/<listenKey>. A failed question (a refused key, a rate limit)
        # is the REST feed's to report: the stream then tries fapi's listen key, and its next
        # session (a new client) asks again.
        try:
            portfolio = await self.is_portfolio(ex)
        except Exception:
            return {}
        return {"portfolioMargin": True} if portfolio else {}

    def account_status(self, mode: AccountModeName, inputs: dict[str, float | str | None]) -> str | None:
        status = inputs.get("accountStatus") if mode == "portfolio" else None
        return status if isinstance(status, str) and status else None

    async def collateral_table(self, ex: Any) -> dict[str, dict[str, Any]]:
        """``GET /fapi/v1/assetIndex`` (public): each ``<ASSET>USD`` row's ``bidBuffer`` /
        ``askBuffer`` (bid rate = index x (1 - bidBuffer), ask rate = index x (1 + askBuffer))."""
        out: dict[str, dict[str, Any]] = {}
        for item in as_list(await ex.fapiPublicGetAssetIndex()):
            row = as_dict(item)
            symbol = str(row.get("symbol", ""))
            bid, ask = num(row.get("bidBuffer")), num(row.get("askBuffer"))
            if not symbol.endswith("USD") or len(symbol) <= 3 or bid is None or ask is None:
                continue
            if not (0.0 <= bid <= 1.0 and ask >= 0.0) or positive(row.get("index")) is None:
                continue
            out[symbol[:-3]] = {"bid_buffer": bid, "ask_buffer": ask}
        return out

    async def collateral(self, ex: Any, account: AccountConfig, mode: AccountModeName) -> list[CollateralRow]:
        """Multi-Assets Mode: every asset row of ``/fapi/v3/account`` (``walletBalance``, in the
        asset) at its ``GET /fapi/v1/assetIndex`` ``<ASSET>USD`` ``index`` with its ``bidBuffer`` /
        ``askBuffer`` (Binance FAQ "How to calculate margin in Multi-Assets Mode": Account Equity =
        sum min(equity x bidRate, equity x askRate)). An asset holding a balance without a rate
        (BNFCR, a credit in USD) is refused: no figure of ours then."""
        data = taken(self._collateral_source, ex)
        if mode == "portfolio" and await self.is_portfolio(ex):
            return await self.portfolio_collateral(ex)
        if mode != "multi_assets":
            return []
        if data is None:
            data = as_dict(await ex.fapiPrivateV3GetAccount())
        rates = {str(as_dict(r).get("symbol")): as_dict(r) for r in as_list(await ex.fapiPublicGetAssetIndex())}
        out: list[CollateralRow] = []
        for item in as_list(data.get("assets")):
            row = as_dict(item)
            asset = str(row.get("asset", ""))
            amount = num(row.get("walletBalance"))
            if not asset or amount is None:
                continue
            rate = rates.get(f"{asset}USD")
            index = positive(None if rate is None else rate.get("index"))
            bid = num(None if rate is None else rate.get("bidBuffer"))
            ask = num(None if rate is None else rate.get("askBuffer"))
            if rate is None or index is None or bid is None or ask is None:
                if amount != 0:
                    raise DataError(f"no /fapi/v1/assetIndex rate for {asset}USD (a {asset} balance is held)")
                continue
            out.append(CollateralRow(asset=asset, amount=amount, price=index, bid_buffer=bid, ask_buffer=ask))
        return out

    async def collateral_tiers(self, ex: Any) -> dict[str, list[CollateralTierRow]]:
        """Portfolio margin's collateral rates: ``GET /sapi/v1/portfolio/collateralRate`` (ccxt
        ``sapiGetPortfolioCollateralRate``; ``[{"asset", "collateralRate"}]``), each a flat rate
        (one tier from 0 with no end). Read once per :data:`COLLATERAL_TABLE_TTL`, like the other
        venues' tables (:meth:`VenueRest._tables`)."""
        out: dict[str, list[CollateralTierRow]] = {}
        for item in as_list(await ex.sapiGetPortfolioCollateralRate()):
            row = as_dict(item)
            asset, rate = str(row.get("asset", "")).upper(), num(row.get("collateralRate"))
            if asset and rate is not None and 0.0 <= rate <= 1.0:
                out[asset] = [CollateralTierRow(min=0.0, max=None, ratio=rate)]
        return out

    async def portfolio_collateral(self, ex: Any) -> list[CollateralRow]:
        """Portfolio margin: every asset of ``GET /papi/v1/balance`` with a non-zero equity, as the
        uniMMR FAQ counts it ("How is uniMMR calculated": equity = sum min(X x assetIndexPrice x
        collateralRate, X x assetIndexPrice), X = MarginAsset - MarginLoan + futuresAsset +
        futuresUnrealPnL): the amount ``crossMarginAsset - crossMarginBorrowed -
        crossMarginInterest + umWalletBalance + cmWalletBalance`` (the balance net of borrow and
        its interest) and the venue's PnL ``umUnrealizedPNL + cmUnrealizedPNL``; the USD index
        price of ``GET /sapi/v1/portfolio/asset-index-price`` (``assetIndexPrice``, read each cycle
        for the held assets); the flat rate of ``GET /sapi/v1/portfolio/collateralRate`` (read
        every :data:`COLLATERAL_TABLE_TTL` seconds). A negative equity (a loan) counts at full value
        (the ``min``). A held asset without a price or a rate is refused (DataError)."""
        held: list[tuple[str, float, float]] = []
        for name, row in (taken(self._papi_rows, ex) or await self._papi_balance(ex)).items():
            parts = [num(row.get(k)) for k in _PAPI_ASSET_FIELDS]
            pnl = (num(row.get("umUnrealizedPNL")) or 0.0) + (num(row.get("cmUnrealizedPNL")) or 0.0)
            asset, loan, interest, um, cm = (x or 0.0 for x in parts)
            amount = asset - loan - interest + um + cm
            if amount != 0 or pnl != 0:
                held.append((name.upper(), amount, pnl))
        if not held:
            return []
        prices: dict[str, float] = {}
        for name, _, _ in held:  # weight 1 per asset asked (50 for every asset at once)
            found = await ex.sapiGetPortfolioAssetIndexPrice({"asset": name})
            for item in as_list(found) if isinstance(found, list) else [found]:
                row = as_dict(item)
                price = positive(row.get("assetIndexPrice"))
                if str(row.get("asset", "")).upper() == name and price is not None:
                    prices[name] = price
        tables = await self._tables(ex, {name for name, _, _ in held})
        out: list[CollateralRow] = []
        for name, amount, pnl in held:
            price = prices.get(name)
            if price is None:
                raise DataError(f"no /sapi/v1/portfolio/asset-index-price for {name} (a {name} balance is held)")
            tiers = tables.get(name)
            if not tiers:
                raise DataError(f"no /sapi/v1/portfolio/collateralRate for {name} (a {name} balance is held)")
            out.append(CollateralRow(asset=name, amount=amount, price=price, ratio=tiers[0].ratio, pnl=pnl))
        return out

    def options(self) -> dict[str, Any]:
        return {"fetchCurrencies": False, "fetchMarkets": {"types": ["linear"]}}

    async def account_mode(self, ex: Any, account: AccountConfig) -> tuple[AccountModeName, str]:
        if await self.is_portfolio(ex):  # optional: fapi answering below rules portfolio margin out
            return "portfolio", "binance isPortfolioMarginRetailEnabled true (portfolio margin, papi)"
        multi = as_dict(await ex.fapiPrivateGetMultiAssetsMargin()).get("multiAssetsMargin")
        if multi is True or str(multi).lower() == "true":
            return "multi_assets", "binance multiAssetsMargin true (Multi-Assets Mode)"
        data = as_dict(await ex.fapiPrivateV3GetAccount())
        if any(as_dict(a).get("asset") == "BNFCR" for a in as_list(data.get("assets"))):
            return "multi_assets", "binance BNFCR asset in the account (Credits Trading Mode, multi-assets)"
        return "single", "binance multiAssetsMargin false (Single-Asset Mode)"

    async def venue_ratio(
        self, ex: Any, account: AccountConfig, mode: AccountModeName
    ) -> tuple[float | None, dict[str, float | str | None]]:
        if mode == "portfolio":
            data = as_dict(await ex.papiGetAccount())
            uni = num(data.get("uniMMR"))
            inputs: dict[str, float | str | None] = {
                "uniMMR": uni,
                "accountEquity": num(data.get("accountEquity")),
                "accountMaintMargin": num(data.get("accountMaintMargin")),
                "accountStatus": str(data.get("accountStatus", "")) or None,
            }
            return inverted(uni), inputs
        data = taken(self._accounts, ex) or as_dict(await ex.fapiPrivateV3GetAccount())
        self._collateral_source[ex] = data
        mm, equity = num(data.get("totalMaintMargin")), num(data.get("totalMarginBalance"))
        return ratio_of(mm, equity), {"totalMaintMargin": mm, "totalMarginBalance": equity}

    def inverse_options(self) -> dict[str, Any]:
        return {"fetchCurrencies": False, "fetchMarkets": {"types": ["linear", "inverse"]}}

    def download_options(self) -> dict[str, Any]:
        # `tiers update`: the COIN-M perpetuals too (brackets from GET /dapi/v2/leverageBracket)
        return self.inverse_options()

    def inverse_positions_params(self, account: AccountConfig) -> dict[str, Any] | None:
        return {"subType": "inverse"}

    async def inverse_balances(
        self, ex: Any, account: AccountConfig, positions: PositionSnapshot
    ) -> list[tuple[float, str, float | None]]:
        settles = sorted({p.settle for p in positions.positions if p.inverse and p.settle})
        if not settles:
            return []
        if await self.is_portfolio(ex):
            rows = await self._papi_balance(ex)
            out: list[tuple[float, str, float | None]] = []
            for coin in settles:
                value = num(rows.get(coin, {"cmWalletBalance": 0.0}).get("cmWalletBalance"))
                if value is None:
                    raise DataError(f"/papi/v1/balance has no {coin} cmWalletBalance")
                out.append((value, coin, None))
            return out
        data = as_dict(await ex.dapiPrivateGetAccount())
        out = []
        for coin in settles:
            row = next((as_dict(a) for a in as_list(data.get("assets")) if as_dict(a).get("asset") == coin), {})
            value = num(row.get("crossWalletBalance"))
            if value is None:
                raise DataError(f"COIN-M account has no {coin} crossWalletBalance")
            out.append((value, coin, None))
        return out

    async def position_context(self, ex: Any, account: AccountConfig, raw: list[dict[str, Any]]) -> dict[str, Any]:
        context: dict[str, Any] = {}
        if not raw:
            return context
        import ccxt.async_support as ccxt_async

        if await self.is_portfolio(ex):
            # leverage is on the papi rows; ADL from GET /papi/v1/um/adlQuantile (optional)
            try:
                quantiles = await ex.papiGetUmAdlQuantile()
            except ccxt_async.BaseError:
                quantiles = []
            context["adl"] = {
                str(q.get("symbol")): as_dict(q.get("adlQuantile")) for q in as_list(quantiles) if isinstance(q, dict)
            }
            return context
        # Leverage per symbol (v3 positionRisk dropped it). Optional: ignore venue errors here,
        # the positions themselves came through.
        try:
            configs = await ex.fapiPrivateGetSymbolConfig()
        except ccxt_async.BaseError:
            configs = []
        context["leverage"] = {
            str(c.get("symbol")): positive(c.get("leverage")) for c in as_list(configs) if isinstance(c, dict)
        }
        linear = [p for p in raw if as_dict(ex.markets.get(p.get("symbol"))).get("linear")]
        if any("adl" not in as_dict(p.get("info")) and "adlQuantile" not in as_dict(p.get("info")) for p in linear):
            try:
                quantiles = await ex.fapiPrivateGetAdlQuantile()
            except ccxt_async.BaseError:
                quantiles = []
            context["adl"] = {
                str(q.get("symbol")): as_dict(q.get("adlQuantile")) for q in as_list(quantiles) if isinstance(q, dict)
            }
        if any(is_inverse(as_dict(ex.markets.get(p.get("symbol")))) for p in raw):
            # COIN-M rows carry no ADL field: GET /dapi/v1/adlQuantile (optional, as above)
            try:
                quantiles = await ex.dapiPrivateGetAdlQuantile()
            except ccxt_async.BaseError:
                quantiles = []
            context["adl"] = {
                **as_dict(context.get("adl")),
                **{
                    str(q.get("symbol")): as_dict(q.get("adlQuantile"))
                    for q in as_list(quantiles)
                    if isinstance(q, dict)
                },
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

    async def _papi_balance(self, ex: Any) -> dict[str, dict[str, Any]]:
        """``GET /papi/v1/balance``: asset -> its row (``umWalletBalance``, ``cmWalletBalance``,
        ``totalWalletBalance``, ``crossMarginAsset``, ``crossMarginBorrowed``, ...)."""
        rows = [as_dict(r) for r in as_list(await ex.papiGetBalance())]
        return {str(r.get("asset")): r for r in rows if r.get("asset")}

    async def balance(
        self, ex: Any, account: AccountConfig, positions: PositionSnapshot
    ) -> tuple[float, str, float | None]:
        if await self.is_portfolio(ex):
            rows = self._papi_rows[ex] = await self._papi_balance(ex)
            row = rows.get(self.settle)
            if row is None:  # no USDT held at all (a PM account may hold its collateral in other assets)
                return 0.0, self.settle, None
            value = num(row.get("umWalletBalance"))
            if value is None:
                raise DataError(f"/papi/v1/balance has no {self.settle} umWalletBalance")
            return value, self.settle, None
        data = as_dict(await ex.fapiPrivateV3GetAccount())
        self._accounts[ex] = data
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
        inverse = [s for s in wanted if is_inverse(as_dict(ex.markets[s]))]
        linear = [s for s in wanted if s not in inverse]
        out: list[tuple[str, Literal["notional", "quantity"], list[TierRowData], str]] = []
        # portfolio margin: GET /papi/v1/um/leverageBracket (cm for COIN-M); fapi refuses a PM key
        papi = {"portfolioMargin": True} if await self.is_portfolio(ex) else {}
        for group, params, note in (
            (linear, {}, ""),
            (inverse, {"subType": "inverse"}, "COIN-M brackets: qtyFloor/qtyCap in coin notional"),
        ):
            if not group:
                continue
            table = as_dict(await ex.fetch_leverage_tiers(group, {**params, **papi}))
            for symbol in group:
                rows = self.tier_rows(ex, symbol, [as_dict(r) for r in as_list(table.get(symbol))])
                if rows:
                    out.append((symbol, "notional", rows, note))
        return out

    def tier_rows(self, ex: Any, symbol: str, tiers: list[dict[str, Any]]) -> list[TierRowData]:
        rows = super().tier_rows(ex, symbol, tiers)
        if not is_inverse(as_dict(ex.markets.get(symbol))):
            return rows
        # COIN-M: bounds in coin notional (qtyFloor/qtyCap); ccxt reads qtyFloor only, the docs'
        # example spells it "qtylFloor"
        out: list[TierRowData] = []
        for row, tier in zip(rows, tiers, strict=False):
            info = as_dict(tier.get("info"))
            floor = num(info.get("qtyFloor"))
            if floor is None:
                floor = num(info.get("qtylFloor"))
            cap = positive(info.get("qtyCap"))
            update: dict[str, Any] = {}
            if floor is not None:
                update["min_notional"] = floor
            if cap is not None:
                update["max_notional"] = cap
            out.append(row.model_copy(update=update) if update else row)
        return out

    async def fetch_inverse_mark_tickers(self, ex: Any, symbols: list[str]) -> Any:
        return await ex.fetch_mark_prices(symbols, {"subType": "inverse"})

    def maint_amount(self, info: dict[str, Any]) -> float | None:
        return num(info.get("cum"))

    def ticker_mark(self, ticker: dict[str, Any]) -> float | None:
        return positive(as_dict(ticker.get("info")).get("markPrice")) or positive(ticker.get("markPrice"))
