"""Coin-margined (inverse) accounts on the fake REST servers (issue #12, live part): kept apart from
``rest_server.py`` so the other sessions' additions merge without touching these.

``FakeRestServer.add_inverse()`` lists the venue's BTC coin-margined perpetual (Binance
``BTCUSD_PERP`` on dapi, Bybit ``BTCUSD`` of category inverse, OKX ``BTC-USD-SWAP``, Bitget
``BTCUSD`` of COIN-FUTURES, Gate ``BTC_USD`` settled in btc) with its tiers and mark price; then
a test gives the account inverse positions and coin wallets in the venue's own shapes::

    fake.add_inverse()
    fake.set_inverse_positions([...])          # rows as the venue's positions endpoint sends them
    fake.set_inverse_wallet("BTC", 1.5, ...)   # the coin wallet (venue-specific keywords)

OKX serves coin-margined positions from the same ``instType=SWAP`` read as its linear ones (set
them with ``set_positions``); its coin wallet is a detail of the balance.

:func:`answer` is asked first for every request: it answers what belongs to the inverse markets
(dapi paths, ``category=inverse``, ``productType=COIN-FUTURES``, ``settle=btc``) once they were
added, and returns None for everything else (the linear handlers answer).
"""

from __future__ import annotations

import copy
import time
from typing import Any

from aiohttp import web

BINANCE_DAPI_ROUTES: tuple[tuple[str, str, str, bool], ...] = (
    ("GET", "/dapi/v1/exchangeInfo", "dapi_exchange_info", False),
    ("GET", "/dapi/v1/time", "dapi_time", False),
    ("GET", "/dapi/v1/premiumIndex", "dapi_premium_index", False),
    ("GET", "/dapi/v1/positionRisk", "dapi_position_risk", True),
    ("GET", "/dapi/v1/account", "dapi_account", True),
    ("GET", "/dapi/v2/leverageBracket", "dapi_leverage_bracket", True),
    ("GET", "/dapi/v1/leverageBracket", "dapi_leverage_bracket", True),
    ("GET", "/dapi/v1/adlQuantile", "dapi_adl_quantile", True),
)
"""Binance COIN-M routes, served by :func:`answer` (the handler names are never called)."""

MARK = 61000.0
"""The BTC mark every fake serves (the linear fixtures' too)."""

# Binance COIN-M BTCUSD brackets, the 2021 table reconstructed in the reference note (caps in BTC
# notional; cum by the published recursion, 11.605 at level 7). Bracket 1 spells its floor as the
# docs' example does ("qtylFloor").
BINANCE_BTCUSD_BRACKETS: list[dict[str, Any]] = [
    {"bracket": 1, "initialLeverage": 125, "qtyCap": 5, "qtylFloor": 0, "maintMarginRatio": 0.004, "cum": 0.0},
    {"bracket": 2, "initialLeverage": 100, "qtyCap": 10, "qtyFloor": 5, "maintMarginRatio": 0.005, "cum": 0.005},
    {"bracket": 3, "initialLeverage": 50, "qtyCap": 20, "qtyFloor": 10, "maintMarginRatio": 0.01, "cum": 0.055},
    {"bracket": 4, "initialLeverage": 20, "qtyCap": 50, "qtyFloor": 20, "maintMarginRatio": 0.025, "cum": 0.355},
    {"bracket": 5, "initialLeverage": 10, "qtyCap": 100, "qtyFloor": 50, "maintMarginRatio": 0.05, "cum": 1.605},
    {"bracket": 6, "initialLeverage": 5, "qtyCap": 200, "qtyFloor": 100, "maintMarginRatio": 0.1, "cum": 6.605},
    {"bracket": 7, "initialLeverage": 4, "qtyCap": 400, "qtyFloor": 200, "maintMarginRatio": 0.125, "cum": 11.605},
    {"bracket": 8, "initialLeverage": 2, "qtyCap": 1000, "qtyFloor": 400, "maintMarginRatio": 0.15, "cum": 21.605},
]


def _now_ms() -> int:
    return int(time.time() * 1000)


# --------------------------------------------------------------------------- adding the markets


def binance_inverse(data: dict[str, Any]) -> str:
    linear = next(s for s in data["exchangeInfo"]["symbols"] if s["symbol"] == "BTCUSDT")
    filters = [
        {"filterType": "PRICE_FILTER", "minPrice": "1000", "maxPrice": "4520958", "tickSize": "0.1"},
        {"filterType": "LOT_SIZE", "stepSize": "1", "maxQty": "1000000", "minQty": "1"},
        {"filterType": "MARKET_LOT_SIZE", "stepSize": "1", "maxQty": "60000", "minQty": "1"},
    ]
    symbol = {
        **copy.deepcopy(linear),
        "symbol": "BTCUSD_PERP",
        "pair": "BTCUSD",
        "contractType": "PERPETUAL",
        "contractStatus": "TRADING",
        "contractSize": 100,
        "quoteAsset": "USD",
        "marginAsset": "BTC",
        "pricePrecision": 1,
        "quantityPrecision": 0,
        "equalQtyPrecision": 4,
        "filters": filters,
    }
    symbol.pop("status", None)
    data["dapi_exchangeInfo"] = {
        "timezone": "UTC",
        "rateLimits": [],
        "exchangeFilters": [],
        "symbols": [symbol],
    }
    data["dapi_premiumIndex"] = [
        {
            "symbol": "BTCUSD_PERP",
            "pair": "BTCUSD",
            "markPrice": f"{MARK:.8f}",
            "indexPrice": "60990.12000000",
            "estimatedSettlePrice": "60990.12000000",
            "lastFundingRate": "0.00010000",
            "interestRate": "0.00010000",
            "nextFundingTime": 1764086400000,
            "time": 1764064800000,
        }
    ]
    data["dapi_leverageBracket"] = [{"symbol": "BTCUSD_PERP", "brackets": copy.deepcopy(BINANCE_BTCUSD_BRACKETS)}]
    data["dapi_adlQuantile"] = [{"symbol": "BTCUSD_PERP", "adlQuantile": {"LONG": 0, "SHORT": 0, "BOTH": 2}}]
    data.setdefault("dapi_positionRisk", [])
    data.setdefault("dapi_account", {"assets": [], "positions": [], "canDeposit": True, "canTrade": True})
    return "BTCUSD_PERP"


def bybit_inverse(data: dict[str, Any]) -> str:
    linear = next(r for r in data["instruments"] if r["symbol"] == "BTCUSDT")
    data["inverse_instruments"] = [
        {
            **copy.deepcopy(linear),
            "symbol": "BTCUSD",
            "contractType": "InversePerpetual",
            "quoteCoin": "USD",
            "settleCoin": "BTC",
            "priceScale": "2",
            "priceFilter": {"minPrice": "0.50", "maxPrice": "1999999.00", "tickSize": "0.50"},
            "lotSizeFilter": {"maxOrderQty": "1000000", "minOrderQty": "1", "qtyStep": "1", "maxMktOrderQty": "300000"},
        }
    ]
    ticker = next(r for r in data["tickers"] if r["symbol"] == "BTCUSDT")
    data["inverse_tickers"] = [{**copy.deepcopy(ticker), "symbol": "BTCUSD"}]
    rows = [r for r in data["risk_limit"] if r["symbol"] == "BTCUSDT"]
    # risk limits in BTC (the settle coin): the linear USDT limits / 50,000
    data["inverse_risk_limit"] = [
        {
            **r,
            "symbol": "BTCUSD",
            "riskLimitValue": f"{float(r['riskLimitValue']) / 50000:g}",
            "mmDeduction": f"{float(r['mmDeduction']) / 50000:g}" if r.get("mmDeduction") else "",
        }
        for r in rows
    ]
    data.setdefault("inverse_positions", [])
    return "BTCUSD"


def okx_inverse_extra(data: dict[str, Any]) -> None:
    data["mark_price"] = [
        *data["mark_price"],
        {"instId": "BTC-USD-SWAP", "instType": "SWAP", "markPx": f"{MARK:g}", "ts": "1764064800000"},
    ]


def bitget_inverse_extra(data: dict[str, Any]) -> None:
    ticker = next(r for r in data["tickers"] if r["symbol"] == "BTCUSDT")
    data["coin_tickers"] = [{**copy.deepcopy(ticker), "symbol": "BTCUSD"}]
    data.setdefault("coin_positions", [])
    data.setdefault("coin_accounts", [])
    rates = data["trade_rate"]["data"]
    rates["BTCUSD"] = copy.deepcopy(rates["BTCUSDT"])  # the account's coin-M taker rate


def gate_inverse_extra(data: dict[str, Any]) -> None:
    ticker = next(r for r in data["tickers"] if r["contract"] == "BTC_USDT")
    data["btc_tickers"] = [{**copy.deepcopy(ticker), "contract": "BTC_USD"}]
    data.setdefault("btc_positions", [])
    data.setdefault("btc_accounts", {})


# --------------------------------------------------------------------------- the account's side


def set_inverse_positions(venue: str, data: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    key = {"binance": "dapi_positionRisk", "bybit": "inverse_positions", "bitget": "coin_positions"}.get(venue)
    if venue == "gate":
        key = "btc_positions"
    if key is None:
        raise ValueError(f"{venue}: set its coin-margined positions with set_positions (one read holds both)")
    data[key] = copy.deepcopy(rows)


def set_inverse_wallet(venue: str, data: dict[str, Any], coin: str, wallet: float, **fields: Any) -> None:
    """The coin wallet in the venue's shape: ``wallet`` is the cross wallet liqwatch should read
    (the venue's fields around it are derived; ``fields`` add or override raw fields)."""
    if venue == "binance":
        row = {
            "asset": coin,
            "walletBalance": f"{wallet:.8f}",
            "unrealizedProfit": "0.00000000",
            "marginBalance": f"{wallet:.8f}",
            "maintMargin": "0.00000000",
            "initialMargin": "0.00000000",
            "positionInitialMargin": "0.00000000",
            "openOrderInitialMargin": "0.00000000",
            "maxWithdrawAmount": f"{wallet:.8f}",
            "crossWalletBalance": f"{wallet:.8f}",
            "crossUnPnl": "0.00000000",
            "availableBalance": f"{wallet:.8f}",
            "updateTime": 1764064790000,
            **fields,
        }
        assets = [a for a in data["dapi_account"]["assets"] if a["asset"] != coin]
        data["dapi_account"] = {**data["dapi_account"], "assets": [*assets, row]}
    elif venue == "bybit":
        usdt = next(c for c in data["wallet_balance"]["coin"] if c["coin"] == "USDT")
        row = {**copy.deepcopy(usdt), "coin": coin, "walletBalance": f"{wallet:.12g}", "equity": f"{wallet:.12g}"}
        row.update(fields)
        coins = [c for c in data["wallet_balance"]["coin"] if c["coin"] != coin]
        data["wallet_balance"] = {**data["wallet_balance"], "coin": [*coins, row]}
    elif venue == "okx":
        usdt = next(d for d in data["balance"]["details"] if d["ccy"] == "USDT")
        iso_eq = float(fields.pop("isoEq", 0.0))
        upl = float(fields.pop("upl", 0.0))
        iso_upl = float(fields.pop("isoUpl", 0.0))
        eq = wallet + iso_eq + upl - iso_upl
        row = {
            **copy.deepcopy(usdt),
            "ccy": coin,
            "eq": f"{eq:.10g}",
            "cashBal": f"{wallet + iso_eq - iso_upl:.10g}",
            "isoEq": f"{iso_eq:.10g}",
            "upl": f"{upl:.10g}",
            "isoUpl": f"{iso_upl:.10g}",
            **fields,
        }
        details = [d for d in data["balance"]["details"] if d["ccy"] != coin]
        data["balance"] = {**data["balance"], "details": [*details, row]}
    elif venue == "bitget":
        usdt = next(r for r in data["accounts"] if r["marginCoin"] == "USDT")
        isolated = float(fields.pop("isolatedMargin", 0.0))
        upnl = float(fields.pop("unrealizedPL", 0.0))
        row = {
            **copy.deepcopy(usdt),
            "marginCoin": coin,
            "accountEquity": f"{wallet + isolated + upnl:.10g}",
            "unrealizedPL": f"{upnl:.10g}",
            "isolatedMargin": f"{isolated:.10g}",
            "assetList": [{"coin": coin, "balance": f"{wallet + isolated:.10g}", "available": f"{wallet:.10g}"}],
            **fields,
        }
        data["coin_accounts"] = [*(r for r in data["coin_accounts"] if r["marginCoin"] != coin), row]
    elif venue == "gate":
        isolated = float(fields.pop("isolated_position_margin", 0.0))
        base = copy.deepcopy(data["accounts"])
        data["btc_accounts"] = {
            **base,
            "currency": coin,
            "total": f"{wallet + isolated:.10g}",
            "isolated_position_margin": f"{isolated:.10g}",
            "position_margin": f"{isolated:.10g}",
            "unrealised_pnl": "0",
            **fields,
        }
    else:
        raise ValueError(f"{venue} has no coin wallets")


# --------------------------------------------------------------------------- answering


def _bybit(result: Any) -> dict[str, Any]:
    return {"retCode": 0, "retMsg": "OK", "result": result, "retExtInfo": {}, "time": _now_ms()}


def _bitget(rows: Any) -> dict[str, Any]:
    return {"code": "00000", "msg": "success", "requestTime": _now_ms(), "data": rows}


def answer(venue: str, handler: str, request: web.Request, data: dict[str, Any]) -> web.Response | None:
    """The inverse markets' answer to ``request`` (``handler``: the route's handler name), or None."""
    query = request.query
    if venue == "binance" and handler.startswith("dapi_"):
        return _binance(handler, query, data)
    if venue == "bybit" and query.get("category") == "inverse":
        return _bybit_inverse(handler, query, data)  # before add_inverse: no inverse market
    if venue == "bitget" and query.get("productType", "").upper() == "COIN-FUTURES" and "coin_tickers" in data:
        rows = {
            "tickers": "coin_tickers",
            "positions": "coin_positions",
            "accounts": "coin_accounts",
        }.get(handler)
        if rows is not None:
            return web.json_response(_bitget(data[rows]))
        return None
    if venue == "gate" and request.match_info.get("settle") == "btc" and "btc_tickers" in data:
        if handler == "tickers":
            contract = query.get("contract")
            return web.json_response([r for r in data["btc_tickers"] if contract in (None, r["contract"])])
        if handler == "positions":
            return web.json_response(data["btc_positions"])
        if handler == "accounts":
            return web.json_response(data["btc_accounts"])
    return None


NO_COIN_M = {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."}
"""What Binance answers a key without the COIN-M (dapi) permission (``data["dapi_denied"]``)."""


def _binance(handler: str, query: Any, data: dict[str, Any]) -> web.Response:
    # Before add_inverse: COIN-M listing nothing (what an account reading the coin-margined
    # perpetuals by default sees); dapi_exchangeInfo None: the dapi markets cannot be loaded
    info = data.get("dapi_exchangeInfo", {"timezone": "UTC", "rateLimits": [], "exchangeFilters": [], "symbols": []})
    if info is None:
        return web.json_response({"code": -1121, "msg": "Invalid symbol."}, status=400)
    if handler == "dapi_exchange_info":
        return web.json_response({**info, "serverTime": _now_ms()})
    if handler == "dapi_time":
        return web.json_response({"serverTime": _now_ms()})
    if handler == "dapi_position_risk" and data.get("dapi_positionRisk_status"):  # a passing failure
        return web.json_response({"code": -1001, "msg": "Internal error."}, status=data["dapi_positionRisk_status"])
    if data.get("dapi_denied") and handler in ("dapi_position_risk", "dapi_account", "dapi_leverage_bracket"):
        return web.json_response(NO_COIN_M, status=401)
    if handler == "dapi_account":
        return web.json_response(data.get("dapi_account", {"assets": [], "positions": [], "canTrade": True}))
    name = {
        "dapi_premium_index": "dapi_premiumIndex",
        "dapi_position_risk": "dapi_positionRisk",
        "dapi_leverage_bracket": "dapi_leverageBracket",
        "dapi_adl_quantile": "dapi_adlQuantile",
    }[handler]
    rows = data.get(name, [])
    symbol = query.get("symbol")
    if symbol is not None:
        rows = [r for r in rows if r.get("symbol") == symbol]
    return web.json_response(rows)


def _bybit_inverse(handler: str, query: Any, data: dict[str, Any]) -> web.Response | None:
    symbol = query.get("symbol")
    table = {
        "instruments": "inverse_instruments",
        "tickers": "inverse_tickers",
        "risk_limit": "inverse_risk_limit",
        "positions": "inverse_positions",
    }.get(handler)
    if table is None:
        return None
    if handler == "instruments" and query.get("status") == "PreLaunch":
        rows: list[Any] = []
    else:
        rows = [r for r in data.get(table, []) if symbol in (None, r["symbol"])]
    return web.json_response(_bybit({"category": "inverse", "list": rows, "nextPageCursor": ""}))
