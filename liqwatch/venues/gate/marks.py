"""gate mark prices over its public websocket (see liqwatch.feeds.wire)."""

from __future__ import annotations

import json
import time
from typing import Any

from liqwatch.feeds.wire import (
    ACK,
    IGNORE,
    PONG,
    ConnState,
    Mark,
    MarkProtocol,
    Parsed,
    batches,
    replace_url,
    unexpected,
)


class GateMarks(MarkProtocol):
    name = "gate"
    interval = 1.0
    heartbeat_timeout = 40.0
    ping_every = 20.0
    per_connection = 100
    per_message = 100
    send_gap = 0.15

    def native(self, base: str, quote: str, settle: str) -> str | None:
        if self.inverse:  # BTC-settled: BTC/USD:BTC -> BTC_USD on /v4/ws/btc
            ok = settle == base and settle.upper() == "BTC" and quote.upper() == "USD"
            return f"{base.upper()}_USD" if ok else None
        if settle != quote:
            return None
        return f"{base.upper()}_{quote.upper()}"

    def inverse_url(self, url: str) -> str:
        return replace_url(url, path=("/v4/ws/usdt", "/v4/ws/btc"))

    def subscribe_messages(self, natives: list[str]) -> list[str]:
        return [
            json.dumps({"time": int(time.time()), "channel": "futures.tickers", "event": "subscribe", "payload": batch})
            for batch in batches(natives, self.per_message)
        ]

    def ping(self) -> str:
        return json.dumps({"time": int(time.time()), "channel": "futures.ping"})

    def parse(self, msg: Any, state: ConnState) -> Parsed:
        if not isinstance(msg, dict):
            return unexpected("not an object")
        channel = msg.get("channel")
        if channel == "futures.pong":
            return PONG
        if channel != "futures.tickers":
            return unexpected(f"unknown channel {str(channel)[:40]!r}")
        if msg.get("error"):
            return Parsed("error", detail=f"request rejected: {msg['error']}")
        event = msg.get("event")
        if event == "subscribe":
            return ACK
        if event not in ("update", "all"):
            return IGNORE
        result = msg.get("result")
        if not isinstance(result, list):
            return unexpected("tickers update without a result list")
        when = msg.get("time_ms")
        if when is None and isinstance(msg.get("time"), int | float):
            when = msg["time"] * 1000
        marks: list[Mark] = []
        for item in result:
            if not isinstance(item, dict) or not isinstance(item.get("contract"), str):
                return unexpected("ticker without contract")
            marks.append((item["contract"], item.get("mark_price"), when))
        return Parsed("marks", marks)
