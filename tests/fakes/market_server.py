"""The public market endpoints of issue #13 on top of each venue's fake REST server
(:class:`tests.fakes.rest_server.FakeRestServer`, whose routes and controls stay as they are):
insurance funds, ADL risk, index and funding. Shapes from ``/work/shared/reference/backstop.md``.

    async with MarketFakeServer("bybit") as fake:
        fake.set("market_adl_alert", [...])   # any payload below by its name, replaced whole

Timestamps are fixed (``T0_MS``) so tests can compare them.
"""

from __future__ import annotations

import copy
from typing import Any

from aiohttp import web

from tests.fakes.rest_server import FakeRestServer, Handler, _bybit, _okx

T0_MS = 1_764_064_800_000
"""2025-11-25 10:00 UTC, the fixtures' own premiumIndex time."""
HOUR_MS = 3_600_000
HLP = "0xdfc24b077bc1425ad1dea75bcb6f8158e10df303"

PAYLOADS: dict[str, dict[str, Any]] = {
    "binance": {
        # without ?symbol: an array of pools (backstop.md §2.1)
        "market_insurance": [
            {
                "symbols": ["BTCUSDT", "BTCUSDC", "ETHUSDT"],
                "assets": [
                    {"asset": "USDT", "marginBalance": "793930579.315848", "updateTime": T0_MS},
                    {"asset": "BTC", "marginBalance": "61.73", "updateTime": T0_MS},
                ],
            },
            {"symbols": ["SOLUSDT"], "assets": [{"asset": "USDT", "marginBalance": "1250000.5", "updateTime": T0_MS}]},
        ],
        "market_adl_risk": [
            {"symbol": "BTCUSDT", "adlRisk": "low", "updateTime": T0_MS},
            {"symbol": "ETHUSDT", "adlRisk": "high", "updateTime": T0_MS},
            {"symbol": "SOLUSDT", "adlRisk": "medium", "updateTime": T0_MS},
        ],
        "market_funding_info": [
            {
                "symbol": "SOLUSDT",
                "adjustedFundingRateCap": "0.02",
                "adjustedFundingRateFloor": "-0.02",
                "fundingIntervalHours": 4,
                "disclaimer": False,
            },
        ],
    },
    "bybit": {
        "market_insurance": {
            "updatedTime": str(T0_MS),
            "list": [
                {
                    "coin": "USDT",
                    "symbols": "BTCUSDT,ETHUSDT,SOLUSDT",
                    "balance": "402531234.5",
                    "value": "402611111.1",
                },
                {"coin": "USDT", "symbols": "FWOGUSDT", "balance": "-5421.30", "value": "-5421.30"},
                {"coin": "USDC", "symbols": "BTCPERP", "balance": "1000000", "value": "999800"},
            ],
        },
        # REST fields (backstop.md §2.1); rows from Bybit's WS example, BTC near its trigger
        "market_adl_alert": {
            "updatedTime": str(T0_MS),
            "list": [
                {
                    "coin": "USDT",
                    "symbol": "BTCUSDT",
                    "balance": "402531234.5",
                    "maxBalance": "",
                    "insurancePnlRatio": "-0.3",
                    "pnlRatio": "-0.27",
                    "adlTriggerThreshold": "10000",
                    "adlStopRatio": "-0.25",
                },
                {
                    "coin": "USDT",
                    "symbol": "ETHUSDT",
                    "balance": "19873.46",
                    "maxBalance": "",
                    "insurancePnlRatio": "-0.3",
                    "pnlRatio": "0.000174",
                    "adlTriggerThreshold": "10000",
                    "adlStopRatio": "-0.25",
                },
                {
                    "coin": "USDT",
                    "symbol": "SOLUSDT",
                    "balance": "-5421.30",
                    "maxBalance": "",
                    "insurancePnlRatio": "-0.3",
                    "pnlRatio": "0",
                    "adlTriggerThreshold": "10000",
                    "adlStopRatio": "-0.25",
                },
            ],
        },
    },
    "okx": {
        "market_insurance_fund": {
            "BTC-USDT": {
                "total": "1369179138.7489",
                "instFamily": "BTC-USDT",
                "instType": "SWAP",
                "details": [
                    {
                        "balance": "8.5",
                        "amt": "",
                        "ccy": "USDT",
                        "type": "regular_update",
                        "maxBal": "10",
                        "maxBalTs": str(T0_MS - HOUR_MS),
                        "decRate": "",
                        "adlType": "",
                        "ts": str(T0_MS),
                    },
                    {
                        "balance": "9.5",
                        "amt": "-1",
                        "ccy": "USDT",
                        "type": "bankruptcy_loss",
                        "maxBal": "10",
                        "maxBalTs": str(T0_MS - HOUR_MS),
                        "decRate": "",
                        "adlType": "",
                        "ts": str(T0_MS - HOUR_MS),
                    },
                    {
                        "balance": "10",
                        "amt": "0.5",
                        "ccy": "USDT",
                        "type": "liquidation_balance_deposit",
                        "maxBal": "10",
                        "maxBalTs": str(T0_MS - 2 * HOUR_MS),
                        "decRate": "",
                        "adlType": "",
                        "ts": str(T0_MS - 2 * HOUR_MS),
                    },
                ],
            },
            "ETH-USDT": {
                "total": "250000000",
                "instFamily": "ETH-USDT",
                "instType": "SWAP",
                "details": [
                    {
                        "balance": "250000000",
                        "amt": "",
                        "ccy": "USDT",
                        "type": "regular_update",
                        "maxBal": "400000000",
                        "maxBalTs": str(T0_MS - HOUR_MS),
                        "decRate": "",
                        "adlType": "bal_adl_start",
                        "ts": str(T0_MS),
                    },
                ],
            },
        },
        "market_index_tickers": [
            {
                "instId": "BTC-USDT",
                "idxPx": "60990.1",
                "high24h": "61100",
                "low24h": "60000",
                "open24h": "60500",
                "sodUtc0": "60500",
                "sodUtc8": "60500",
                "ts": str(T0_MS),
            },
            {
                "instId": "ETH-USDT",
                "idxPx": "3150.2",
                "high24h": "3200",
                "low24h": "3100",
                "open24h": "3150",
                "sodUtc0": "3150",
                "sodUtc8": "3150",
                "ts": str(T0_MS),
            },
        ],
        "market_funding_rate": [
            {
                "instId": "BTC-USDT-SWAP",
                "instType": "SWAP",
                "fundingRate": "0.0001",
                "nextFundingRate": "",
                "fundingTime": str(T0_MS + 6 * HOUR_MS),
                "nextFundingTime": str(T0_MS + 14 * HOUR_MS),
                "method": "current_period",
                "ts": str(T0_MS),
            },
            {
                "instId": "ETH-USDT-SWAP",
                "instType": "SWAP",
                "fundingRate": "-0.00025",
                "nextFundingRate": "",
                "fundingTime": str(T0_MS + 6 * HOUR_MS),
                "nextFundingTime": str(T0_MS + 10 * HOUR_MS),
                "method": "current_period",
                "ts": str(T0_MS),
            },
        ],
    },
    "gate": {
        # [{"t": unix s, "b": balance}] newest first, as Gate pages it
        "market_insurance": [
            {"t": T0_MS // 1000, "b": "66000000.5"},
            {"t": T0_MS // 1000 - 86400, "b": "70000000"},
            {"t": T0_MS // 1000 - 7 * 86400, "b": "60000000"},
        ],
    },
    "bitget": {
        "market_current_fund_rate": [
            {
                "symbol": "BTCUSDT",
                "fundingRate": "0.0001",
                "fundingRateInterval": "8",
                "nextUpdate": str(T0_MS + 6 * HOUR_MS),
                "minFundingRate": "-0.003",
                "maxFundingRate": "0.003",
            },
            {
                "symbol": "ETHUSDT",
                "fundingRate": "0.00005",
                "fundingRateInterval": "4",
                "nextUpdate": str(T0_MS + 2 * HOUR_MS),
                "minFundingRate": "-0.003",
                "maxFundingRate": "0.003",
            },
        ],
    },
    "hyperliquid": {
        "market_vault_details": {
            "name": "Hyperliquidity Provider (HLP)",
            "vaultAddress": HLP,
            "portfolio": [
                [
                    "day",
                    {
                        "accountValueHistory": [[T0_MS - HOUR_MS, "372000000.0"], [T0_MS, "371500000.5"]],
                        "pnlHistory": [],
                        "vlm": "0",
                    },
                ],
                ["week", {"accountValueHistory": [[T0_MS - 86400000, "380000000.0"]], "pnlHistory": [], "vlm": "0"}],
            ],
        },
    },
}


class MarketFakeServer(FakeRestServer):
    """A venue's fake REST server plus its market endpoints (``market_*`` payloads in ``data``)."""

    def __init__(self, venue: str, **kw: Any) -> None:
        super().__init__(venue, **kw)
        for name, payload in PAYLOADS[venue].items():
            self.data[name] = copy.deepcopy(payload)
        if venue == "hyperliquid":  # POST /info also answers vaultDetails
            venue_obj: Any = self.venue
            venue_obj.info = _hyperliquid_info(self, venue_obj.info)

    def _routes(self) -> list[tuple[str, str, Handler]]:
        v = self.venue.name
        d = self.data
        if v == "binance":

            async def insurance(request: web.Request) -> web.Response:
                symbol = request.query.get("symbol")
                pools = d["market_insurance"]
                if symbol:
                    return web.json_response(next((p for p in pools if symbol in p.get("symbols", [])), {}))
                return web.json_response(pools)

            async def adl(request: web.Request) -> web.Response:
                symbol = request.query.get("symbol")
                rows = d["market_adl_risk"]
                if symbol:
                    return web.json_response(next((r for r in rows if r.get("symbol") == symbol), {}))
                return web.json_response(rows)

            async def funding_info(request: web.Request) -> web.Response:
                return web.json_response(d["market_funding_info"])

            return [
                ("GET", "/fapi/v1/insuranceBalance", insurance),
                ("GET", "/fapi/v1/symbolAdlRisk", adl),
                ("GET", "/fapi/v1/fundingInfo", funding_info),
            ]
        if v == "bybit":

            async def by_insurance(request: web.Request) -> web.Response:
                return web.json_response(_bybit(d["market_insurance"]))

            async def by_adl(request: web.Request) -> web.Response:
                return web.json_response(_bybit(d["market_adl_alert"]))

            return [("GET", "/v5/market/insurance", by_insurance), ("GET", "/v5/market/adlAlert", by_adl)]
        if v == "okx":

            async def fund(request: web.Request) -> web.Response:
                family = request.query.get("instFamily")
                if request.query.get("instType") != "SWAP" or not family:
                    return web.json_response({"code": "51000", "msg": "Parameter instFamily error", "data": []}, 400)
                row = d["market_insurance_fund"].get(family)
                return web.json_response(_okx([row] if row is not None else []))

            async def index(request: web.Request) -> web.Response:
                inst = request.query.get("instId")
                return web.json_response(_okx([r for r in d["market_index_tickers"] if r["instId"] == inst]))

            async def funding(request: web.Request) -> web.Response:
                inst = request.query.get("instId")
                return web.json_response(_okx([r for r in d["market_funding_rate"] if r["instId"] == inst]))

            return [
                ("GET", "/api/v5/public/insurance-fund", fund),
                ("GET", "/api/v5/market/index-tickers", index),
                ("GET", "/api/v5/public/funding-rate", funding),
            ]
        if v == "gate":

            async def gate_insurance(request: web.Request) -> web.Response:
                if request.match_info["settle"] != "usdt":
                    return web.json_response([])
                limit = int(request.query.get("limit", "100"))
                return web.json_response(d["market_insurance"][:limit])

            return [("GET", "/api/v4/futures/{settle}/insurance", gate_insurance)]
        if v == "bitget":

            async def fund_rate(request: web.Request) -> web.Response:
                symbol = request.query.get("symbol")
                rows = [r for r in d["market_current_fund_rate"] if r["symbol"] == symbol]
                return web.json_response({"code": "00000", "msg": "success", "requestTime": T0_MS, "data": rows})

            return [("GET", "/api/v2/mix/market/current-fund-rate", fund_rate)]
        return []

    def _app(self) -> web.Application:
        app = super()._app()
        for method, path, handler in self._routes():
            app.router.add_route(method, path, self._wrap(handler, False))
        return app


def _hyperliquid_info(server: MarketFakeServer, base: Handler) -> Handler:
    async def info(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        if isinstance(body, dict) and body.get("type") == "vaultDetails":
            if body.get("vaultAddress") != HLP:
                return web.json_response(None)
            return web.json_response(server.data["market_vault_details"])
        return await base(request)

    return info


__all__ = ["HLP", "HOUR_MS", "PAYLOADS", "T0_MS", "MarketFakeServer"]
