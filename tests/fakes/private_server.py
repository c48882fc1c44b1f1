"""A fake of a venue's private (user-data) websocket plus its REST API, on one aiohttp app.

The REST side is :class:`~tests.fakes.rest_server.FakeRestServer` (markets, positions, balance,
with its key checks and failure controls); this adds what ccxt.pro's ``watch_positions`` talks to:

* **Binance USDⓈ-M**: ``POST/PUT/DELETE /fapi/v1/listenKey`` (the user-data stream protocol; POST
  returns the account's active key, as Binance does) and ``WS /private/ws?listenKey=<key>`` (the
  2026 URL layout; an unknown or expired key is refused with HTTP 400 ``-1125``); a
  portfolio-margin account (``set_mode("portfolio")``): ``/papi/v1/listenKey`` and ``WS
  /pm/ws/<key>`` instead (fapi's listen key refused, -2015). Pushes
  ``ACCOUNT_UPDATE``; :meth:`expire_listen_key` sends ``listenKeyExpired`` and invalidates the key
  (the socket stays open, as a real stream may: the client must act on the event).
* **Bybit v5**: ``WS /v5/private``: ``{"op":"auth","args":[key, expires, hex hmac("GET/realtime"+expires)]}``
  (checked against the key and secret), ``{"op":"subscribe","args":["position"]}``, ``{"op":"ping"}``.
  A failed auth echoes the request (key included) as Bybit's older format does: redaction is tested.
* **OKX v5**: ``WS /ws/v5/private``: ``login`` (key, passphrase and base64 hmac of
  ``ts + "GET/users/self/verify"`` checked), ``subscribe`` ``positions``, text ``ping``.
* **Hyperliquid**: ``WS /ws``: ``subscribe`` ``clearinghouseState`` by user (no key), ``{"method":"ping"}``.

Test controls::

    async with FakePrivateServer("binance") as fake:   # fake.url (REST), fake.ws_url (for AccountConfig.ws_url)
        await fake.wait_subscribed()                     # a live, authenticated, subscribed socket
        await fake.push(fake.message("change"))          # tests/fixtures/private/<venue>.json entries
        await fake.expire_listen_key()                   # Binance
        await fake.drop()                                # close every private socket (1001)
        fake.auth_failures, fake.subscriptions, fake.listen_key_calls, fake.ws_connections

``ws_url`` is the venue's *public mark-price* URL on this server (what an account's ``ws_url`` holds);
liqwatch derives the private URL from it. Everything binds to 127.0.0.1, port 0.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
import hmac
import itertools
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes.rest_server import DEFAULT_KEY, FIXTURES, FakeRestServer, _now_ms
from tests.fakes.ws_server import WAIT_TIMEOUT

PRIVATE_FIXTURES = FIXTURES / "private"
DEFAULT_SECRET = "fake-secret-abcdef123456"
DEFAULT_PASSPHRASE = "fake-pass-PHRASE-9876"

PUBLIC_PATHS = {"binance": "/market/ws", "bybit": "/v5/public/linear", "okx": "/ws/v5/public", "hyperliquid": "/ws"}
PRIVATE_PATHS = {"binance": "/private/ws", "bybit": "/v5/private", "okx": "/ws/v5/private", "hyperliquid": "/ws"}


@dataclass(eq=False)
class PrivateConn:
    number: int
    ws: web.WebSocketResponse
    listen_key: str | None = None
    authenticated: bool = False
    subscribed: bool = False


class FakePrivateServer(FakeRestServer):
    def __init__(
        self,
        venue: str,
        *,
        api_key: str = DEFAULT_KEY,
        secret: str = DEFAULT_SECRET,
        passphrase: str = DEFAULT_PASSPHRASE,
        fixtures: Path = FIXTURES,
    ) -> None:
        if venue not in PRIVATE_PATHS:
            raise ValueError(f"no private stream fake for {venue!r}")
        super().__init__(venue, api_key=api_key, fixtures=fixtures)
        self.name = venue
        self.secret = secret
        self.passphrase = passphrase
        self.messages: dict[str, Any] = json.loads((PRIVATE_FIXTURES / f"{venue}.json").read_text())
        self.conns: set[PrivateConn] = set()
        self._numbers = itertools.count(1)
        # What clients did:
        self.ws_connections = 0
        """Private websocket handshakes accepted."""
        self.ws_refused = 0
        self.auth_failures = 0
        self.subscriptions = 0
        """Accepted position subscriptions (Binance: accepted user-data sockets)."""
        self.received: list[Any] = []
        """Every frame the clients sent on private sockets (parsed JSON, or the text)."""
        self.listen_key_calls: list[str] = []
        """HTTP methods of /fapi/v1/listenKey calls, in order."""
        self.listen_key: str | None = None
        """The account's active listen key (Binance)."""
        self.issued_keys: list[str] = []

    async def __aenter__(self) -> FakePrivateServer:
        await self.start()
        return self

    # ------------------------------------------------------------------ URLs

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self._port}{PUBLIC_PATHS[self.name]}"

    @property
    def private_url(self) -> str:
        return f"ws://127.0.0.1:{self._port}{PRIVATE_PATHS[self.name]}"

    def _app(self) -> web.Application:
        app = super()._app()
        if self.name == "binance":
            for method in ("POST", "PUT", "DELETE"):
                app.router.add_route(method, "/fapi/v1/listenKey", self._wrap(self._listen_key, True))
                # portfolio margin (set_mode("portfolio")): the papi user-data stream
                app.router.add_route(method, "/papi/v1/listenKey", self._wrap(self._listen_key, True))
            app.router.add_get("/pm/ws/{listenKey}", self._ws)
        app.router.add_get(PRIVATE_PATHS[self.name], self._ws)
        return app

    # ------------------------------------------------------------------ controls

    def message(self, name: str) -> Any:
        """A push from tests/fixtures/private/<venue>.json, placeholders filled in."""
        text = json.dumps(self.messages[name])
        text = text.replace("{listenKey}", self.listen_key or "").replace("{user}", "0x" + "ab" * 20)
        return json.loads(text)

    def live(self) -> list[PrivateConn]:
        return [c for c in self.conns if c.subscribed and not c.ws.closed]

    async def push(self, payload: Any) -> int:
        """Send ``payload`` (JSON) to every subscribed socket; returns how many got it."""
        text = payload if isinstance(payload, str) else json.dumps(payload)
        sent = 0
        for conn in self.live():
            try:
                await conn.ws.send_str(text)
                sent += 1
            except (ConnectionError, RuntimeError):
                pass
        return sent

    async def expire_listen_key(self) -> None:
        """Binance: ``listenKeyExpired`` to the sockets of the active key, which stops being valid."""
        event = {"e": "listenKeyExpired", "E": _now_ms(), "listenKey": self.listen_key}
        key, self.listen_key = self.listen_key, None
        for conn in self.live():
            if conn.listen_key == key:
                await conn.ws.send_str(json.dumps(event))

    async def drop(self, code: int = 1001) -> None:
        for conn in list(self.conns):
            await conn.ws.close(code=code, message=b"going away")

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = WAIT_TIMEOUT) -> None:
        """Until ``predicate()`` holds; ``timeout`` is only a safety net for a hung test."""

        async def poll() -> None:
            while not predicate():
                await asyncio.sleep(0.01)

        await asyncio.wait_for(poll(), timeout)

    async def wait_subscribed(self, count: int = 1, timeout: float = WAIT_TIMEOUT) -> None:
        """Until ``count`` subscriptions in total were accepted and one socket is live."""
        await self.wait_for(lambda: self.subscriptions >= count and bool(self.live()), timeout)

    # ------------------------------------------------------------------ Binance listenKey

    async def _listen_key(self, request: web.Request) -> web.Response:
        self.listen_key_calls.append(request.method)
        portfolio = "papi_account" in self.data
        if portfolio != request.path.startswith("/papi/"):
            # a PM key is refused on fapi as on fapi's other private endpoints (-2015); papi
            # refuses a key that is not PM's (the fake's papi_account)
            return web.json_response({"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."}, 401)
        if request.method == "POST":
            if self.listen_key is None:
                self.listen_key = secrets.token_hex(32)
                self.issued_keys.append(self.listen_key)
            return web.json_response({"listenKey": self.listen_key})
        if self.listen_key is None:
            return web.json_response({"code": -1125, "msg": "This listenKey does not exist."}, status=400)
        if request.method == "DELETE":
            self.listen_key = None
        return web.json_response({})

    # ------------------------------------------------------------------ websocket

    async def _ws(self, request: web.Request) -> web.StreamResponse:
        listen_key = None
        if self.name == "binance":
            listen_key = request.match_info.get("listenKey") or request.query.get("listenKey")
            if not listen_key or listen_key != self.listen_key:
                self.ws_refused += 1
                return web.json_response({"code": -1125, "msg": "This listenKey does not exist."}, status=400)
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        conn = PrivateConn(next(self._numbers), ws, listen_key=listen_key)
        self.conns.add(conn)
        self.ws_connections += 1
        if self.name == "binance":
            conn.authenticated = conn.subscribed = True
            self.subscriptions += 1
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                await self._frame(conn, msg.data)
        finally:
            self.conns.discard(conn)
        return ws

    async def _frame(self, conn: PrivateConn, text: str) -> None:
        try:
            data: Any = json.loads(text)
        except ValueError:
            data = text
        self.received.append(data)
        handler = getattr(self, f"_on_{self.name}")
        reply = handler(conn, data)
        if reply is not None:
            await conn.ws.send_str(reply if isinstance(reply, str) else json.dumps(reply))

    def _on_binance(self, conn: PrivateConn, data: Any) -> Any:
        return None  # the user-data stream takes no client messages

    def _on_bybit(self, conn: PrivateConn, data: Any) -> Any:
        if not isinstance(data, dict):
            return None
        op = data.get("op")
        base = {"conn_id": f"fake-{conn.number}", "req_id": data.get("req_id", "")}
        if op == "ping":
            return {**base, "success": True, "ret_msg": "pong", "op": "ping"}
        if op == "auth":
            key, expires, signature = (str(a) for a in [*(data.get("args") or []), "", "", ""][:3])
            expected = hmac.new(self.secret.encode(), f"GET/realtime{expires}".encode(), hashlib.sha256).hexdigest()
            if key == self.api_key and hmac.compare_digest(signature, expected):
                conn.authenticated = True
                return {**base, "success": True, "ret_msg": "", "op": "auth"}
            self.auth_failures += 1
            return {**base, "success": False, "ret_msg": "error:USVC1111", "request": copy.deepcopy(data)}
        if op == "subscribe":
            if not conn.authenticated:
                return {**base, "success": False, "ret_msg": "Request not authorized", "op": "subscribe"}
            if "position" in (data.get("args") or []):
                conn.subscribed = True
                self.subscriptions += 1
            return {**base, "success": True, "ret_msg": "", "op": "subscribe"}
        return {**base, "success": False, "ret_msg": f"error:invalid op {op}", "op": op}

    def _on_okx(self, conn: PrivateConn, data: Any) -> Any:
        if data == "ping":
            return "pong"
        if not isinstance(data, dict):
            return None
        op = data.get("op")
        conn_id = f"fake{conn.number}"
        if op == "login":
            arg = (data.get("args") or [{}])[0]
            ts = str(arg.get("timestamp", ""))
            digest = hmac.new(self.secret.encode(), f"{ts}GET/users/self/verify".encode(), hashlib.sha256).digest()
            ok = (
                arg.get("apiKey") == self.api_key
                and arg.get("passphrase") == self.passphrase
                and hmac.compare_digest(str(arg.get("sign", "")), base64.b64encode(digest).decode())
            )
            if ok:
                conn.authenticated = True
                return {"event": "login", "code": "0", "msg": "", "connId": conn_id}
            self.auth_failures += 1
            return {"event": "error", "code": "60009", "msg": "Login failed.", "connId": conn_id}
        if op == "subscribe":
            args = data.get("args") or [{}]
            if not conn.authenticated:
                return {"event": "error", "code": "60011", "msg": "Please log in", "connId": conn_id}
            if any(a.get("channel") == "positions" for a in args if isinstance(a, dict)):
                conn.subscribed = True
                self.subscriptions += 1
            return {"event": "subscribe", "arg": args[0], "connId": conn_id}
        return {"event": "error", "code": "60012", "msg": f"Illegal request: {json.dumps(data)}", "connId": conn_id}

    def _on_hyperliquid(self, conn: PrivateConn, data: Any) -> Any:
        if not isinstance(data, dict):
            return None
        method = data.get("method")
        if method == "ping":
            return {"channel": "pong"}
        if method == "subscribe":
            sub = data.get("subscription") or {}
            if sub.get("type") == "clearinghouseState" and str(sub.get("user", "")).startswith("0x"):
                conn.authenticated = conn.subscribed = True
                self.subscriptions += 1
            return {"channel": "subscriptionResponse", "data": {"method": "subscribe", "subscription": sub}}
        return {"channel": "error", "data": f"Unknown method: {method}"}
