"""Fake venue REST APIs (aiohttp on 127.0.0.1, port 0) speaking each venue's wire format.

The payloads come from ``tests/fixtures/<venue>/*.json`` (recorded-style, trimmed to BTC/ETH/SOL
perpetuals). Private endpoints accept any signature but require the venue's API-key header to
carry the configured key, and answer a wrong key with the venue's real auth-error status and
payload (``errors.json``). Test controls::

    async with FakeRestServer("binance") as fake:      # fake.url -> "http://127.0.0.1:PORT"
        fake.set_positions([...])                       # raw venue payload (the fixture's shape)
        fake.set_balance({...})
        fake.set("premiumIndex", [...])                  # any fixture by name
        fake.fail_next("rate_limit", 2)                  # the venue's own rate-limit answer, twice
        # kinds: auth | permission | rate_limit | http_429 (bare 429) | server_error | maintenance
        fake.set("trade_fee_status", 500)               # the fee endpoints alone (OKX trade_fee,
                                                        # Bitget trade_rate, Gate fee): a bare 500/404
        await fake.restart()                            # same port, state kept
        fake.requests                                   # [(method, path, query)] seen, in order
        fake.synthesize(600)                            # + 600 synthetic perpetuals (X0..X599) cloned
                                                        # from BTC: markets, tiers (tiers update)
        fake.set("page_size", 50)                       # Bybit risk-limit / Gate tiers: contracts per page
        fake.set("fail_tiers", {"ETHUSDT": 500})        # a tier request naming (or a page holding) that
                                                        # venue id answers a bare HTTP error, every time
        fake.set_mode("multi_assets")                   # the account-mode payloads of that mode
                                                        # (tests/fixtures/<venue>/modes.json; the
                                                        # default answers are the "single" ones)

A failure queued with ``fail_next`` applies to the next requests whatever the endpoint.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.fakes import inverse_rest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
FAILURE_KINDS = ("auth", "permission", "rate_limit", "http_429", "server_error", "maintenance")
DEFAULT_KEY = "fake-api-key-0123456789"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _now_ms() -> int:
    return int(time.time() * 1000)


def _page(data: dict[str, Any], rows: list[dict[str, Any]], key: str, cursor: str) -> tuple[list[Any], str]:
    """``rows`` of ``data["page_size"]`` venue ids from ``cursor`` (an offset) on, and the next cursor."""
    size = data.get("page_size")
    if not size:
        return rows, ""
    ids = list(dict.fromkeys(r[key] for r in rows))
    start = int(cursor or 0)
    chosen = set(ids[start : start + int(size)])
    nxt = str(start + int(size)) if start + int(size) < len(ids) else ""
    return [r for r in rows if r[key] in chosen], nxt


def _failed_tiers(data: dict[str, Any], rows: list[dict[str, Any]], key: str) -> web.Response | None:
    """``fake.set("fail_tiers", {venue_id: status})``: a tier answer holding that id fails."""
    failing = data.get("fail_tiers") or {}
    for row in rows:
        status = failing.get(row.get(key))
        if status:
            return web.Response(text=f"HTTP {status}", status=int(status))
    return None


def _clone(row: Any, name: str) -> Any:
    return json.loads(json.dumps(row).replace("BTC", name))


def _scripted(venue: FakeVenue, name: str) -> web.Response | None:
    """``fake.set("<name>_status", 500)`` (or 404): that one endpoint answers a bare HTTP error."""
    status = venue.data.get(f"{name}_status")
    return None if status is None else web.Response(text=f"HTTP {status}", status=int(status))


class FakeVenue:
    """One venue's routes. ``routes`` lists (method, path, handler name, private)."""

    name: str = ""
    key_header: str = ""
    positions_fixture: str = ""
    balance_fixture: str = ""
    routes: tuple[tuple[str, str, str, bool], ...] = ()

    def __init__(self, server: FakeRestServer) -> None:
        self.server = server

    @property
    def data(self) -> dict[str, Any]:
        return self.server.data

    def failure(self, kind: str) -> web.Response:
        if kind == "http_429":
            return web.Response(text="Too Many Requests", status=429)
        spec = self.data["errors"][kind]
        if "body" in spec:
            return web.json_response(spec["body"], status=spec["status"])
        return web.Response(text=spec.get("text", ""), status=spec["status"], content_type="text/html")

    def key_ok(self, request: web.Request) -> bool:
        return request.headers.get(self.key_header) == self.server.api_key

    def fixture(self, name: str) -> web.Response:
        return web.json_response(self.data[name])


# --------------------------------------------------------------------------- Binance USDⓈ-M


class FakeBinance(FakeVenue):
    name = "binance"
    key_header = "X-MBX-APIKEY"
    positions_fixture = "positionRisk"
    balance_fixture = "account"
    routes = (
        ("GET", "/fapi/v1/exchangeInfo", "exchange_info", False),
        ("GET", "/fapi/v1/time", "time", False),
        ("GET", "/fapi/v1/premiumIndex", "premium_index", False),
        ("GET", "/fapi/v1/leverageBracket", "leverage_bracket", True),
        ("GET", "/fapi/v3/positionRisk", "position_risk", True),
        ("GET", "/fapi/v2/positionRisk", "position_risk", True),
        ("GET", "/fapi/v3/account", "account", True),
        ("GET", "/fapi/v1/adlQuantile", "adl_quantile", True),
        ("GET", "/fapi/v1/symbolConfig", "symbol_config", True),
        ("GET", "/fapi/v1/multiAssetsMargin", "multi_assets_margin", True),
        ("GET", "/sapi/v1/account/info", "sapi_account_info", True),
        ("GET", "/papi/v1/account", "papi_account", True),
        ("GET", "/papi/v1/um/positionRisk", "papi_um_position_risk", True),
        ("GET", "/papi/v1/cm/positionRisk", "papi_cm_position_risk", True),
        ("GET", "/papi/v1/um/leverageBracket", "papi_um_leverage_bracket", True),
        ("GET", "/papi/v1/cm/leverageBracket", "papi_cm_leverage_bracket", True),
        ("GET", "/papi/v1/um/adlQuantile", "papi_um_adl_quantile", True),
        ("GET", "/papi/v1/balance", "papi_balance", True),
        ("GET", "/sapi/v1/portfolio/collateralRate", "portfolio_collateral_rate", True),
        ("GET", "/sapi/v1/portfolio/asset-index-price", "portfolio_asset_index_price", True),
        ("GET", "/fapi/v1/assetIndex", "asset_index", False),
    )

    async def asset_index(self, request: web.Request) -> web.Response:
        if "assetIndex" not in self.data:
            return web.Response(text="Not Found", status=404)
        return self._by_symbol(request, "assetIndex")

    async def multi_assets_margin(self, request: web.Request) -> web.Response:
        return (
            self._refused()
            or _scripted(self, "multiAssetsMargin")
            or web.json_response(self.data.get("multiAssetsMargin", self.data["modes"]["single"]["multiAssetsMargin"]))
        )

    async def sapi_account_info(self, request: web.Request) -> web.Response:
        return _scripted(self, "sapi_account_info") or web.json_response(
            self.data.get("sapi_account_info", self.data["modes"]["single"]["sapi_account_info"])
        )

    async def papi_account(self, request: web.Request) -> web.Response:
        if "papi_account" not in self.data:  # not a portfolio-margin account
            return web.json_response({"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."}, 401)
        return web.json_response(self.data["papi_account"])

    def _papi(self, name: str) -> web.Response:
        """A papi endpoint (tests/fixtures/binance/papi.json ``name``): a portfolio-margin account's
        answer (``set_mode("portfolio")``), else the key refused (-2015), as papi_account."""
        if "papi_account" not in self.data:
            return web.json_response({"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."}, 401)
        return _scripted(self, f"papi_{name}") or web.json_response(self.data["papi"][name])

    async def papi_um_position_risk(self, request: web.Request) -> web.Response:
        return self._papi("um_positionRisk")

    async def papi_cm_position_risk(self, request: web.Request) -> web.Response:
        return self._papi("cm_positionRisk")

    async def papi_um_adl_quantile(self, request: web.Request) -> web.Response:
        return self._papi("um_adlQuantile")

    async def papi_balance(self, request: web.Request) -> web.Response:
        return self._papi("balance")

    async def portfolio_collateral_rate(self, request: web.Request) -> web.Response:
        return self._papi("collateralRate")

    async def portfolio_asset_index_price(self, request: web.Request) -> web.Response:
        """Every asset's index price, or with ``asset`` that one's (a list of one, as documented)."""
        if "papi_account" not in self.data:
            return self._papi("assetIndexPrice")  # the refusal
        rows = self.data["papi"]["assetIndexPrice"]
        asset = request.query.get("asset")
        return web.json_response(rows if asset is None else [r for r in rows if r["asset"] == asset])

    async def papi_cm_leverage_bracket(self, request: web.Request) -> web.Response:
        if "papi_account" not in self.data:
            return self._papi("cm_leverageBracket")  # the refusal
        return web.json_response(self.data.get("dapi_leverageBracket", []))  # dapi's shape (add_inverse)

    async def papi_um_leverage_bracket(self, request: web.Request) -> web.Response:
        if "papi_account" not in self.data:
            return self._papi("um_leverageBracket")  # the refusal
        return await self.leverage_bracket(request)  # the fapi shape

    async def exchange_info(self, request: web.Request) -> web.Response:
        return web.json_response({**self.data["exchangeInfo"], "serverTime": _now_ms()})

    async def time(self, request: web.Request) -> web.Response:
        return web.json_response({"serverTime": _now_ms()})

    def _by_symbol(self, request: web.Request, name: str) -> web.Response:
        rows = self.data[name]
        symbol = request.query.get("symbol")
        if symbol is None:
            return web.json_response(rows)
        match = [r for r in rows if r.get("symbol") == symbol]
        if not match:
            return web.json_response({"code": -1121, "msg": "Invalid symbol."}, status=400)
        return web.json_response(match[0] if name == "premiumIndex" else match)

    async def premium_index(self, request: web.Request) -> web.Response:
        return self._by_symbol(request, "premiumIndex")

    async def leverage_bracket(self, request: web.Request) -> web.Response:
        return _failed_tiers(self.data, self.data["leverageBracket"], "symbol") or self._by_symbol(
            request, "leverageBracket"
        )

    def _refused(self) -> web.Response | None:
        """A portfolio-margin account (``set_mode("portfolio")``): fapi refuses its key (-2015)."""
        if not self.data.get("fapi_refused"):
            return None
        return web.json_response({"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."}, status=401)

    async def position_risk(self, request: web.Request) -> web.Response:
        return self._refused() or self._by_symbol(request, "positionRisk")

    async def account(self, request: web.Request) -> web.Response:
        return self._refused() or self.fixture("account")

    async def adl_quantile(self, request: web.Request) -> web.Response:
        return self._by_symbol(request, "adlQuantile")

    async def symbol_config(self, request: web.Request) -> web.Response:
        return self._by_symbol(request, "symbolConfig")


# --------------------------------------------------------------------------- Bybit v5


def _bybit(result: Any, code: int = 0, msg: str = "OK") -> dict[str, Any]:
    return {"retCode": code, "retMsg": msg, "result": result, "retExtInfo": {}, "time": _now_ms()}


class FakeBybit(FakeVenue):
    name = "bybit"
    key_header = "X-BAPI-API-KEY"
    positions_fixture = "positions"
    balance_fixture = "wallet_balance"
    routes = (
        ("GET", "/v5/market/time", "time", False),
        ("GET", "/v5/market/instruments-info", "instruments", False),
        ("GET", "/v5/market/tickers", "tickers", False),
        ("GET", "/v5/market/risk-limit", "risk_limit", False),
        ("GET", "/v5/position/list", "positions", True),
        ("GET", "/v5/account/wallet-balance", "wallet_balance", True),
        ("GET", "/v5/account/info", "account_info", True),
        ("GET", "/v5/user/query-api", "query_api", True),
        ("GET", "/v5/account/fee-rate", "fee_rate", True),
        ("GET", "/v5/spot-margin-trade/collateral", "collateral_ratio", False),
    )

    def failure(self, kind: str) -> web.Response:
        spec = self.data["errors"].get(kind)
        if spec is not None and "body" in spec:
            return web.json_response({**spec["body"], "time": _now_ms()}, status=spec["status"])
        return super().failure(kind)

    async def time(self, request: web.Request) -> web.Response:
        now = _now_ms()
        return web.json_response(_bybit({"timeSecond": str(now // 1000), "timeNano": str(now * 1_000_000)}))

    async def instruments(self, request: web.Request) -> web.Response:
        category = request.query.get("category", "linear")
        if request.query.get("status") == "PreLaunch" or category != "linear":
            return web.json_response(_bybit({"category": category, "list": [], "nextPageCursor": ""}))
        return web.json_response(_bybit({"category": category, "list": self.data["instruments"], "nextPageCursor": ""}))

    async def tickers(self, request: web.Request) -> web.Response:
        rows = self.data["tickers"]
        symbol = request.query.get("symbol")
        if symbol:
            rows = [r for r in rows if r["symbol"] == symbol]
        return web.json_response(_bybit({"category": "linear", "list": rows}))

    async def risk_limit(self, request: web.Request) -> web.Response:
        if request.query.get("category", "linear") != "linear":
            return web.json_response(_bybit({"category": request.query["category"], "list": [], "nextPageCursor": ""}))
        rows = self.data["risk_limit"]
        symbol = request.query.get("symbol")
        if symbol:
            rows = [r for r in rows if r["symbol"] == symbol]
        rows, cursor = _page(self.data, rows, "symbol", request.query.get("cursor", ""))
        return _failed_tiers(self.data, rows, "symbol") or web.json_response(
            _bybit({"category": "linear", "list": rows, "nextPageCursor": cursor})
        )

    async def positions(self, request: web.Request) -> web.Response:
        rows = self.data["positions"]
        symbol = request.query.get("symbol")
        settle = request.query.get("settleCoin")
        if symbol:
            rows = [r for r in rows if r["symbol"] == symbol]
        elif settle:
            rows = [r for r in rows if r["symbol"].endswith(settle)]
        # cursor pagination as Bybit does it: limit (default 20, max 200) and an opaque cursor
        limit = min(int(request.query.get("limit", "20")), 200)
        cursor = request.query.get("cursor", "")
        start = int(cursor.split("%3A")[-1].split(":")[-1]) if cursor else 0
        page = rows[start : start + limit]
        more = start + limit < len(rows)
        next_cursor = f"page%3A{start + limit}" if more else ""
        return web.json_response(_bybit({"category": "linear", "list": page, "nextPageCursor": next_cursor}))

    async def wallet_balance(self, request: web.Request) -> web.Response:
        if request.query.get("accountType") != "UNIFIED":
            return web.json_response(_bybit({}, 10001, "accountType only support UNIFIED."))
        return web.json_response(_bybit({"list": [self.data["wallet_balance"]]}))

    async def account_info(self, request: web.Request) -> web.Response:
        return web.json_response(_bybit(self.data["account_info"]))

    async def collateral_ratio(self, request: web.Request) -> web.Response:
        rows = self.data["collateral_ratio"]["list"]
        currency = request.query.get("currency")
        if currency:
            rows = [r for r in rows if r["currency"] in currency.split(",")]
        return _scripted(self, "collateral_ratio") or web.json_response(_bybit({"list": rows}))

    async def query_api(self, request: web.Request) -> web.Response:
        return web.json_response(_bybit({**self.data["query_api"], "apiKey": self.server.api_key}))

    async def fee_rate(self, request: web.Request) -> web.Response:
        category = request.query.get("category")
        if category not in ("linear", "inverse", "option", "spot"):
            return web.json_response(_bybit({}, 10001, "category is invalid"))
        rows = self.data["fee_rate"] if category == "linear" else []
        symbol = request.query.get("symbol")
        if symbol:
            rows = [r for r in rows if r["symbol"] == symbol]
        return web.json_response(_bybit({"list": rows}))


# --------------------------------------------------------------------------- OKX v5


def _okx(data: Any) -> dict[str, Any]:
    return {"code": "0", "msg": "", "data": data}


class FakeOkx(FakeVenue):
    name = "okx"
    key_header = "OK-ACCESS-KEY"
    positions_fixture = "positions"
    balance_fixture = "balance"
    routes = (
        ("GET", "/api/v5/public/time", "time", False),
        ("GET", "/api/v5/public/instruments", "instruments", False),
        ("GET", "/api/v5/public/mark-price", "mark_price", False),
        ("GET", "/api/v5/public/position-tiers", "position_tiers", False),
        ("GET", "/api/v5/account/positions", "positions", True),
        ("GET", "/api/v5/account/balance", "balance", True),
        ("GET", "/api/v5/account/trade-fee", "trade_fee", True),
        ("GET", "/api/v5/account/config", "account_config", True),
        ("GET", "/api/v5/public/discount-rate-interest-free-quota", "discount_rate", False),
    )

    async def discount_rate(self, request: web.Request) -> web.Response:
        rows = self.data["discount_rate"]["data"]
        ccy = request.query.get("ccy")
        if ccy:
            rows = [r for r in rows if r["ccy"] == ccy]
        return _scripted(self, "discount_rate") or web.json_response(_okx(rows))

    async def account_config(self, request: web.Request) -> web.Response:
        config = {"uid": "44705892343619584", "level": "Lv1", "posMode": "long_short_mode", "acctLv": "2"}
        return _scripted(self, "account_config") or web.json_response(
            _okx([{**config, **self.data.get("account_config", {})}])
        )

    def key_ok(self, request: web.Request) -> bool:
        # OKX also requires the passphrase header on every private call.
        return super().key_ok(request) and bool(request.headers.get("OK-ACCESS-PASSPHRASE"))

    async def time(self, request: web.Request) -> web.Response:
        return web.json_response(_okx([{"ts": str(_now_ms())}]))

    async def instruments(self, request: web.Request) -> web.Response:
        if request.query.get("instType") != "SWAP":
            return web.json_response(_okx([]))
        return web.json_response(_okx(self.data["instruments"]))

    async def mark_price(self, request: web.Request) -> web.Response:
        rows = self.data["mark_price"]
        inst = request.query.get("instId")
        if inst:
            rows = [r for r in rows if r["instId"] == inst]
        return web.json_response(_okx(rows))

    async def position_tiers(self, request: web.Request) -> web.Response:
        family = request.query.get("instFamily") or request.query.get("uly")
        if request.query.get("instType") != "SWAP" or not family or not request.query.get("tdMode"):
            return web.json_response({"code": "51000", "msg": "Parameter instFamily error", "data": []}, status=400)
        rows = [r for r in self.data["position_tiers"] if r["instFamily"] == family]
        return _failed_tiers(self.data, rows, "instFamily") or web.json_response(_okx(rows))

    async def positions(self, request: web.Request) -> web.Response:
        rows = self.data["positions"]
        inst_type = request.query.get("instType")
        if inst_type:
            rows = [r for r in rows if r["instType"] == inst_type]
        inst = request.query.get("instId")
        if inst:
            rows = [r for r in rows if r["instId"] in inst.split(",")]
        return web.json_response(_okx(rows))

    async def balance(self, request: web.Request) -> web.Response:
        return web.json_response(_okx([self.data["balance"]]))

    async def trade_fee(self, request: web.Request) -> web.Response:
        if request.query.get("instType") != "SWAP":
            return web.json_response({"code": "51000", "msg": "Parameter instType error", "data": []}, status=400)
        return _scripted(self, "trade_fee") or web.json_response(_okx(self.data["trade_fee"]["data"]))


# --------------------------------------------------------------------------- Hyperliquid


class FakeHyperliquid(FakeVenue):
    """``POST /info`` only (everything liqwatch reads is public). No API key, so no auth errors."""

    name = "hyperliquid"
    positions_fixture = "clearinghouseState"
    balance_fixture = "clearinghouseState"
    routes = (("POST", "/info", "info", False),)

    def __init__(self, server: FakeRestServer) -> None:
        super().__init__(server)
        self.kinds: list[str] = []
        """Every ``info`` request's ``type``, in order (the path alone does not tell them apart)."""

    async def info(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return web.Response(text="Failed to deserialize the JSON body into the target type", status=422)
        kind = body.get("type") if isinstance(body, dict) else None
        self.kinds.append(str(kind))
        if kind == "meta":
            return _failed_tiers(self.data, self.data["meta"]["universe"], "name") or self.fixture("meta")
        if kind == "metaAndAssetCtxs":
            return self.fixture("metaAndAssetCtxs")
        if kind == "userAbstraction":
            return web.json_response(self.data.get("userAbstraction", self.data["modes"]["single"]["userAbstraction"]))
        if kind == "spotClearinghouseState":  # set by the multi_assets (unifiedAccount) mode
            return web.json_response(self.data.get("spotClearinghouseState", {"balances": []}))
        if kind == "clearinghouseState":
            user = str(body.get("user", ""))
            if not user.startswith("0x") or len(user) != 42:
                return web.Response(text="Failed to deserialize the JSON body into the target type", status=422)
            state = copy.deepcopy(self.data["clearinghouseState"])
            state["time"] = _now_ms()
            return web.json_response(state)
        return web.Response(text="Failed to deserialize the JSON body into the target type", status=422)


# --------------------------------------------------------------------------- Gate v4


class FakeGate(FakeVenue):
    name = "gate"
    key_header = "KEY"
    positions_fixture = "positions"
    balance_fixture = "accounts"
    routes = (
        ("GET", "/api/v4/futures/{settle}/contracts", "contracts", False),
        ("GET", "/api/v4/futures/{settle}/tickers", "tickers", False),
        ("GET", "/api/v4/futures/{settle}/risk_limit_tiers", "risk_limit_tiers", False),
        ("GET", "/api/v4/futures/{settle}/positions", "positions", True),
        ("GET", "/api/v4/futures/{settle}/accounts", "accounts", True),
        ("GET", "/api/v4/futures/{settle}/fee", "fee", True),
        ("GET", "/api/v4/unified/unified_mode", "unified_mode", True),
        ("GET", "/api/v4/unified/accounts", "unified_accounts", True),
        ("GET", "/api/v4/unified/currency_discount_tiers", "currency_discount_tiers", False),
    )

    async def currency_discount_tiers(self, request: web.Request) -> web.Response:
        return _scripted(self, "currency_discount_tiers") or web.json_response(
            self.data["currency_discount_tiers"]["data"]
        )

    async def unified_mode(self, request: web.Request) -> web.Response:
        return _scripted(self, "unified_mode") or web.json_response(
            self.data.get("unified_mode", self.data["modes"]["single"]["unified_mode"])
        )

    async def unified_accounts(self, request: web.Request) -> web.Response:
        if "unified_accounts" not in self.data:  # a classic account
            return web.json_response({"label": "USER_NOT_FOUND", "message": "unified account not found"}, status=400)
        return web.json_response(self.data["unified_accounts"])

    def _settle(self, request: web.Request) -> web.Response | None:
        if request.match_info["settle"] != "usdt":
            return web.json_response([] if request.method == "GET" else {})
        return None

    def _btc(self, request: web.Request) -> bool:
        """BTC-settled (inverse) contracts are served once ``FakeRestServer.add_inverse`` added them."""
        return request.match_info["settle"] == "btc" and "btc_contracts" in self.data

    async def contracts(self, request: web.Request) -> web.Response:
        if self._btc(request):
            return web.json_response(self.data["btc_contracts"])
        return self._settle(request) or self.fixture("contracts")

    async def tickers(self, request: web.Request) -> web.Response:
        rows = self.data["tickers"]
        contract = request.query.get("contract")
        if contract:
            rows = [r for r in rows if r["contract"] == contract]
        return self._settle(request) or web.json_response(rows)

    async def risk_limit_tiers(self, request: web.Request) -> web.Response:
        contract = request.query.get("contract")
        table = "btc_risk_limit_tiers" if self._btc(request) else "risk_limit_tiers"
        rows = [r for r in self.data[table] if contract is None or r["contract"] == contract]
        if contract is None and "limit" in request.query:  # a page of `limit` contracts from `offset`
            ids = list(dict.fromkeys(r["contract"] for r in rows))
            start = int(request.query.get("offset", "0"))
            chosen = set(ids[start : start + int(request.query["limit"])])
            rows = [r for r in rows if r["contract"] in chosen]
        if self._btc(request):
            return web.json_response(rows)
        return self._settle(request) or _failed_tiers(self.data, rows, "contract") or web.json_response(rows)

    async def positions(self, request: web.Request) -> web.Response:
        return self._settle(request) or self.fixture("positions")

    async def accounts(self, request: web.Request) -> web.Response:
        return self._settle(request) or self.fixture("accounts")

    async def fee(self, request: web.Request) -> web.Response:
        rates = {k: v for k, v in self.data["fee"]["data"].items() if request.query.get("contract") in (None, k)}
        return self._settle(request) or _scripted(self, "fee") or web.json_response(rates)


# --------------------------------------------------------------------------- Bitget v2 (mix)


def _bitget(data: Any) -> dict[str, Any]:
    return {"code": "00000", "msg": "success", "requestTime": _now_ms(), "data": data}


class FakeBitget(FakeVenue):
    name = "bitget"
    key_header = "ACCESS-KEY"
    positions_fixture = "positions"
    balance_fixture = "accounts"
    routes = (
        ("GET", "/api/v2/public/time", "time", False),
        ("GET", "/api/v2/mix/market/contracts", "contracts", False),
        ("GET", "/api/v2/mix/market/tickers", "tickers", False),
        ("GET", "/api/v2/mix/market/query-position-lever", "position_lever", False),
        ("GET", "/api/v2/mix/position/all-position", "positions", True),
        ("GET", "/api/v2/mix/account/accounts", "accounts", True),
        ("GET", "/api/v2/common/trade-rate", "trade_rate", True),
        ("GET", "/api/v2/mix/market/discount-rate", "discount_rate", False),
    )

    async def discount_rate(self, request: web.Request) -> web.Response:
        return _scripted(self, "discount_rate") or web.json_response(_bitget(self.data["discount_rate"]["data"]))

    def key_ok(self, request: web.Request) -> bool:
        return super().key_ok(request) and bool(request.headers.get("ACCESS-PASSPHRASE"))

    def failure(self, kind: str) -> web.Response:
        spec = self.data["errors"].get(kind)
        if spec is not None and "body" in spec:
            return web.json_response({**spec["body"], "requestTime": _now_ms()}, status=spec["status"])
        return super().failure(kind)

    def _usdt(self, request: web.Request) -> bool:
        return request.query.get("productType", "").upper() == "USDT-FUTURES"

    async def time(self, request: web.Request) -> web.Response:
        return web.json_response(_bitget({"serverTime": str(_now_ms())}))

    def _coin(self, request: web.Request) -> bool:
        """COIN-FUTURES (inverse) are served once ``FakeRestServer.add_inverse`` added them."""
        return request.query.get("productType", "").upper() == "COIN-FUTURES" and "coin_contracts" in self.data

    async def contracts(self, request: web.Request) -> web.Response:
        if self._coin(request):
            return web.json_response(_bitget(self.data["coin_contracts"]))
        return web.json_response(_bitget(self.data["contracts"] if self._usdt(request) else []))

    async def tickers(self, request: web.Request) -> web.Response:
        return web.json_response(_bitget(self.data["tickers"] if self._usdt(request) else []))

    async def position_lever(self, request: web.Request) -> web.Response:
        symbol = request.query.get("symbol")
        if symbol and self._coin(request):
            return web.json_response(_bitget([r for r in self.data["coin_position_lever"] if r["symbol"] == symbol]))
        if not symbol or not self._usdt(request):
            return web.json_response(
                {"code": "40034", "msg": "Parameter symbol does not exist", "requestTime": _now_ms(), "data": None},
                status=400,
            )
        rows = [r for r in self.data["position_lever"] if r["symbol"] == symbol]
        return _failed_tiers(self.data, rows, "symbol") or web.json_response(_bitget(rows))

    async def positions(self, request: web.Request) -> web.Response:
        if not self._usdt(request) or request.query.get("marginCoin", "USDT").upper() != "USDT":
            return web.json_response(_bitget([]))
        return web.json_response(_bitget(self.data["positions"]))

    async def accounts(self, request: web.Request) -> web.Response:
        return web.json_response(_bitget(self.data["accounts"] if self._usdt(request) else []))

    async def trade_rate(self, request: web.Request) -> web.Response:
        row = self.data["trade_rate"]["data"].get(request.query.get("symbol", ""))
        if row is None or request.query.get("businessType") != "mix":
            return web.json_response(
                {"code": "40034", "msg": "Parameter symbol does not exist", "requestTime": _now_ms(), "data": None},
                status=400,
            )
        return _scripted(self, "trade_rate") or web.json_response(_bitget(row))


# --------------------------------------------------------------------------- Deribit v2 (JSON-RPC over GET)


def _deribit(result: Any) -> dict[str, Any]:
    now = _now_ms() * 1000
    return {"jsonrpc": "2.0", "result": result, "usIn": now, "usOut": now + 150, "usDiff": 150, "testnet": False}


class FakeDeribit(FakeVenue):
    """Deribit's JSON-RPC-over-HTTP endpoints (``GET /api/v2/{public|private}/<method>``); private
    calls carry ``Authorization: deri-hmac-sha256 id=<client_id>,ts=..,sig=..,nonce=..``. Positions,
    account summaries and book summaries are fixtures keyed by currency."""

    name = "deribit"
    positions_fixture = "positions"
    balance_fixture = "account_summary"
    routes = (
        ("GET", "/api/v2/public/get_instruments", "instruments", False),
        ("GET", "/api/v2/public/get_book_summary_by_currency", "book_summary", False),
        ("GET", "/api/v2/public/ticker", "ticker", False),
        ("GET", "/api/v2/private/get_positions", "positions", True),
        ("GET", "/api/v2/private/get_account_summary", "account_summary", True),
    )

    def key_ok(self, request: web.Request) -> bool:
        auth = request.headers.get("Authorization", "")
        fields = dict(part.split("=", 1) for part in auth.removeprefix("deri-hmac-sha256 ").split(",") if "=" in part)
        return auth.startswith("deri-hmac-sha256 ") and fields.get("id") == self.server.api_key

    def _currency(self, request: web.Request, table: str) -> web.Response | None:
        """A JSON-RPC "Invalid params" error for a currency the fixture does not list."""
        currency = request.query.get("currency", "")
        if currency in self.data[table]:
            return None
        error = {"message": "Invalid params", "data": {"reason": "wrong format", "param": "currency"}, "code": -32602}
        return web.json_response({"jsonrpc": "2.0", "error": error, "testnet": False}, status=400)

    async def instruments(self, request: web.Request) -> web.Response:
        return self.fixture("instruments")

    async def book_summary(self, request: web.Request) -> web.Response:
        rows = self.data["book_summary"].get(request.query.get("currency", ""), [])
        return web.json_response(_deribit(rows))

    async def ticker(self, request: web.Request) -> web.Response:
        name = request.query.get("instrument_name")
        for rows in self.data["book_summary"].values():
            for row in rows:
                if row["instrument_name"] == name:
                    ticker = {**row, "timestamp": _now_ms(), "last_price": row["last"], "state": "open"}
                    return web.json_response(_deribit(ticker))
        error = {"message": "Invalid params", "data": {"reason": "instrument not found"}, "code": -32602}
        return web.json_response({"jsonrpc": "2.0", "error": error, "testnet": False}, status=400)

    async def positions(self, request: web.Request) -> web.Response:
        refused = self._currency(request, "positions")
        if refused is not None:
            return refused
        kind = request.query.get("kind")
        rows = [r for r in self.data["positions"][request.query["currency"]] if kind in (None, r.get("kind"))]
        return web.json_response(_deribit(rows))

    async def account_summary(self, request: web.Request) -> web.Response:
        return self._currency(request, "account_summary") or web.json_response(
            _deribit(self.data["account_summary"][request.query["currency"]])
        )


VENUES: dict[str, type[FakeVenue]] = {
    v.name: v for v in (FakeBinance, FakeBybit, FakeOkx, FakeHyperliquid, FakeGate, FakeBitget, FakeDeribit)
}


SYNTHETIC: dict[str, tuple[tuple[Any, ...], ...]] = {
    "binance": (("exchangeInfo", "symbols"), ("leverageBracket",), ("premiumIndex",)),
    "bybit": (("instruments",), ("risk_limit",), ("tickers",)),
    "okx": (("instruments",), ("position_tiers",), ("mark_price",)),
    "gate": (("contracts",), ("risk_limit_tiers",), ("tickers",)),
    "bitget": (("contracts",), ("position_lever",), ("tickers",)),
    "hyperliquid": (("meta", "universe"), ("metaAndAssetCtxs", 0, "universe")),
}
"""Where each venue's markets and tier rows live in its fixtures (``synthesize``)."""


def _okx_inverse(data: dict[str, Any]) -> str:
    linear = next(r for r in data["instruments"] if r["instId"] == "BTC-USDT-SWAP")
    spec = {"ctType": "inverse", "ctVal": "100", "ctValCcy": "USD", "settleCcy": "BTC", "lotSz": "1", "minSz": "1"}
    ids = {"instId": "BTC-USD-SWAP", "instFamily": "BTC-USD", "uly": "BTC-USD"}
    data["instruments"] = [*data["instruments"], {**copy.deepcopy(linear), **spec, **ids}]
    tiers = [r for r in data["position_tiers"] if r["instFamily"] == "BTC-USDT"]
    family = {"instFamily": "BTC-USD", "uly": "BTC-USD"}
    data["position_tiers"] = [*data["position_tiers"], *({**r, **family} for r in tiers)]
    return "BTC-USD-SWAP"


def _gate_inverse(data: dict[str, Any]) -> str:
    linear = next(r for r in data["contracts"] if r["name"] == "BTC_USDT")
    data["btc_contracts"] = [{**copy.deepcopy(linear), "name": "BTC_USD", "type": "inverse", "quanto_multiplier": "0"}]
    rows = [r for r in data["risk_limit_tiers"] if r["contract"] == "BTC_USDT"]
    # risk limits in BTC (the settle currency): the linear USDT limits / 50,000
    data["btc_risk_limit_tiers"] = [
        {**r, "contract": "BTC_USD", "risk_limit": str(float(r["risk_limit"]) / 50000), "deduction": "0"} for r in rows
    ]
    return "BTC_USD"


def _bitget_inverse(data: dict[str, Any]) -> str:
    linear = next(r for r in data["contracts"] if r["symbol"] == "BTCUSDT")
    spec = {"symbol": "BTCUSD", "quoteCoin": "USD", "supportMarginCoins": ["BTC"], "sizeMultiplier": "1"}
    data["coin_contracts"] = [{**copy.deepcopy(linear), **spec}]
    rows = [r for r in data["position_lever"] if r["symbol"] == "BTCUSDT"]
    data["coin_position_lever"] = [{**r, "symbol": "BTCUSD"} for r in rows]
    return "BTCUSD"


_INVERSE: dict[str, Callable[[dict[str, Any]], str]] = {
    "okx": _okx_inverse,
    "gate": _gate_inverse,
    "bitget": _bitget_inverse,
    # live inverse accounts (issue #12): tests/fakes/inverse_rest.py
    "binance": inverse_rest.binance_inverse,
    "bybit": inverse_rest.bybit_inverse,
}
_INVERSE_EXTRA: dict[str, Callable[[dict[str, Any]], None]] = {
    "okx": inverse_rest.okx_inverse_extra,
    "gate": inverse_rest.gate_inverse_extra,
    "bitget": inverse_rest.bitget_inverse_extra,
}
"""Marks, tickers and the account's side of the inverse markets (tests/fakes/inverse_rest.py)."""


class FakeRestServer:
    """A fake of one venue's REST API. Use as ``async with`` or call ``start``/``stop``."""

    def __init__(self, venue: str, *, api_key: str = DEFAULT_KEY, fixtures: Path = FIXTURES) -> None:
        self.venue = VENUES[venue](self)
        self.api_key = api_key
        self.data: dict[str, Any] = {
            path.stem: json.loads(path.read_text()) for path in sorted((fixtures / venue).glob("*.json"))
        }
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self._failures: list[str] = []
        self._runner: web.AppRunner | None = None
        self._port = 0

    # ---- controls

    def set(self, name: str, payload: Any) -> None:
        self.data[name] = copy.deepcopy(payload)

    def set_positions(self, payload: Any) -> None:
        if self.venue.positions_fixture == self.venue.balance_fixture:
            state = copy.deepcopy(self.data[self.venue.positions_fixture])
            state["assetPositions"] = copy.deepcopy(payload)
            self.data[self.venue.positions_fixture] = state
        else:
            self.set(self.venue.positions_fixture, payload)

    def set_balance(self, payload: Any) -> None:
        if self.venue.positions_fixture == self.venue.balance_fixture:
            state = copy.deepcopy(self.data[self.venue.balance_fixture])
            state.update(copy.deepcopy(payload))
            self.data[self.venue.balance_fixture] = state
        else:
            self.set(self.venue.balance_fixture, payload)

    def set_mode(self, mode: str) -> None:
        """Serve the account-mode payloads of ``mode`` (``tests/fixtures/<venue>/modes.json``): each
        named fixture replaced, or where both are objects updated with the mode's fields (Bitget's
        ``accounts_row``: the USDT row of the accounts list; Deribit's ``USDC``: that summary)."""
        for name, payload in copy.deepcopy(self.data["modes"][mode]).items():
            if name == "accounts_row":  # Bitget
                rows = self.data["accounts"]
                self.data["accounts"] = [{**r, **payload} if r.get("marginCoin") == "USDT" else r for r in rows]
            elif name in ("USDC", "BTC", "ETH"):  # Deribit
                summaries = self.data["account_summary"]
                self.data["account_summary"] = {**summaries, name: {**summaries[name], **payload}}
            elif isinstance(self.data.get(name), dict) and isinstance(payload, dict):
                self.data[name] = {**self.data[name], **payload}
            else:
                self.data[name] = payload

    def fail_next(self, kind: str, n: int = 1) -> None:
        if kind not in FAILURE_KINDS:
            raise ValueError(f"unknown failure kind {kind!r}; one of {FAILURE_KINDS}")
        self._failures.extend([kind] * n)

    @property
    def pending_failures(self) -> int:
        """Failures queued with ``fail_next`` not served yet (0 once every one was answered)."""
        return len(self._failures)

    def paths(self) -> list[str]:
        return [path for _, path, _ in self.requests]

    def synthesize(self, n: int) -> list[str]:
        """Add ``n`` perpetuals X0..X{n-1}, each a copy of BTC's market and tier rows with "BTC"
        renamed (the fixtures' own symbols stay). Returns the new base names."""
        names = [f"X{i}" for i in range(n)]
        tables = SYNTHETIC[self.venue.name]
        for path in tables:
            holder: Any = self.data
            for part in path[:-1]:
                holder = holder[part]
            rows = holder[path[-1]]
            btc = [r for r in rows if "BTC" in json.dumps(r)]
            holder[path[-1]] = rows + [_clone(r, name) for name in names for r in btc]
        if self.venue.name == "hyperliquid":  # metaAndAssetCtxs: the asset contexts follow the universe
            meta, ctxs = self.data["metaAndAssetCtxs"]
            index = next(i for i, a in enumerate(meta["universe"][: len(ctxs)]) if a["name"] == "BTC")
            ctxs.extend(copy.deepcopy(ctxs[index]) for _ in names)
        return names

    def add_inverse(self) -> str:
        """Add the venue's coin-margined BTC perpetual (OKX BTC-USD-SWAP, Gate BTC_USD settled in
        btc, Bitget BTCUSD of COIN-FUTURES) and its tier rows, built from the BTC linear ones.
        Returns its venue id. Without this call the fakes list linear markets only."""
        name = _INVERSE[self.venue.name](self.data)
        extra = _INVERSE_EXTRA.get(self.venue.name)
        if extra is not None:
            extra(self.data)
        return name

    def set_inverse_positions(self, rows: list[dict[str, Any]]) -> None:
        """The account's coin-margined positions, rows as the venue sends them (after ``add_inverse``)."""
        inverse_rest.set_inverse_positions(self.venue.name, self.data, rows)

    def set_inverse_wallet(self, coin: str, wallet: float, **fields: Any) -> None:
        """The account's ``coin`` wallet backing its coin-margined contracts (after ``add_inverse``)."""
        inverse_rest.set_inverse_wallet(self.venue.name, self.data, coin, wallet, **fields)

    # ---- lifecycle

    @property
    def url(self) -> str:
        if not self._port:
            raise RuntimeError("server not started")
        return f"http://127.0.0.1:{self._port}"

    def _app(self) -> web.Application:
        app = web.Application()
        for method, path, handler_name, private in self.venue.routes:
            app.router.add_route(method, path, self._wrap(getattr(self.venue, handler_name), private, handler_name))
        if self.venue.name == "binance":  # COIN-M (dapi): answered by inverse_rest.answer
            for method, path, handler_name, private in inverse_rest.BINANCE_DAPI_ROUTES:
                app.router.add_route(method, path, self._wrap(self._no_route, private, handler_name))
        return app

    @staticmethod
    async def _no_route(request: web.Request) -> web.StreamResponse:
        return web.Response(text="Not Found", status=404)

    def _wrap(self, handler: Handler, private: bool, name: str = "") -> Handler:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            seen = dict(request.query)
            if request.method == "POST" and request.can_read_body:
                try:
                    body = await request.json()
                except json.JSONDecodeError:
                    body = None
                if isinstance(body, dict) and isinstance(body.get("type"), str):
                    seen["type"] = body["type"]
            self.requests.append((request.method, request.path, seen))
            if self._failures:
                return self.venue.failure(self._failures.pop(0))
            if private and not self.venue.key_ok(request):
                return self.venue.failure("auth")
            inverse = inverse_rest.answer(self.venue.name, name, request, self.data)  # issue #12
            return inverse if inverse is not None else await handler(request)

        return wrapped

    async def start(self) -> str:
        self._runner = web.AppRunner(self._app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self._port, reuse_address=True)
        await site.start()
        if not self._port:
            server = site._server
            assert server is not None
            sockets = getattr(server, "sockets", None) or []
            self._port = int(sockets[0].getsockname()[1])
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def restart(self) -> None:
        """Stop and start again on the same port, keeping state (a venue-side restart)."""
        await self.stop()
        await self.start()

    async def __aenter__(self) -> FakeRestServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
