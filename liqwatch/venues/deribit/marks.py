"""deribit mark prices over its public JSON-RPC websocket (see liqwatch.feeds.wire).

``public/subscribe`` to ``ticker.{instrument}.100ms``; each notification
(``method: subscription``) carries ``params.data.mark_price`` and ``timestamp`` (ms). Heartbeat:
the client sends ``public/test`` (answered with ``result.version``); a server ``heartbeat`` of type
``test_request`` is answered with ``public/test`` too.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from liqwatch.feeds.wire import ACK, IGNORE, PONG, ConnState, MarkProtocol, Parsed, batches, unexpected

_IDS = itertools.count(1)


def _request(method: str, params: dict[str, Any] | None = None) -> str:
    return json.dumps({"jsonrpc": "2.0", "id": next(_IDS), "method": method, "params": params or {}})


class DeribitMarks(MarkProtocol):
    name = "deribit"
    interval = 1.0  # ticker.100ms pushes on every change; the mark moves every second or faster
    heartbeat_timeout = 30.0
    ping_every = 15.0
    per_connection = 500
    per_message = 50  # channels per public/subscribe
    send_gap = 0.1  # non-matching-engine requests: credit-based limit (about 20 per second sustained)

    def native(self, base: str, quote: str, settle: str) -> str | None:
        base, quote, settle = base.upper(), quote.upper(), settle.upper()
        if settle == quote:  # linear: BTC_USDC-PERPETUAL
            return f"{base}_{quote}-PERPETUAL"
        if quote == "USD" and settle == base:  # inverse: BTC-PERPETUAL (USD contracts settled in BTC)
            return f"{base}-PERPETUAL"
        return None

    def subscribe_messages(self, natives: list[str]) -> list[str]:
        return [
            _request("public/subscribe", {"channels": [f"ticker.{n}.100ms" for n in batch]})
            for batch in batches(natives, self.per_message)
        ]

    def ping(self) -> str:
        return _request("public/test")

    def parse(self, msg: Any, state: ConnState) -> Parsed:
        if not isinstance(msg, dict):
            return unexpected("not an object")
        if "error" in msg:
            error = msg.get("error")
            detail = f"{error.get('code')} {error.get('message')}" if isinstance(error, dict) else str(error)
            return Parsed("error", detail=f"request rejected: {detail[:200]}")
        method = msg.get("method")
        if method == "heartbeat":
            params = msg.get("params")
            if isinstance(params, dict) and params.get("type") == "test_request":
                return Parsed("pong", reply=_request("public/test"))
            return IGNORE
        if method == "subscription":
            params = msg.get("params")
            data = params.get("data") if isinstance(params, dict) else None
            if not isinstance(data, dict) or not isinstance(data.get("instrument_name"), str):
                return unexpected("ticker notification without instrument_name")
            return Parsed("marks", [(data["instrument_name"], data.get("mark_price"), data.get("timestamp"))])
        if "result" in msg:
            result = msg["result"]
            if isinstance(result, dict) and "version" in result:
                return PONG  # public/test
            if isinstance(result, list):
                return ACK  # public/subscribe: the channels subscribed
            return IGNORE
        return unexpected(f"unknown message {str(method)[:40]!r}")
