"""okx mark prices over its public websocket (see liqwatch.feeds.wire)."""

from __future__ import annotations

import json
from typing import Any

from liqwatch.feeds.wire import (
    ConnState,
    Mark,
    Parsed,
    TextPingProtocol,
    batches,
    unexpected,
)


class OkxMarks(TextPingProtocol):
    name = "okx"
    interval = 10.0  # pushed within 200 ms of a change, else every 10 s
    heartbeat_timeout = 30.0  # the server closes after 30 s without traffic
    ping_every = 15.0
    ping_when_idle = True
    per_connection = 300
    per_message = 100  # one request may carry many args (64 KB); 480 requests/hour per connection
    send_gap = 0.2
    stagger = 0.4  # 3 new connections per second per IP

    def native(self, base: str, quote: str, settle: str) -> str | None:
        if settle not in (quote, base):
            return None
        return f"{base.upper()}-{quote.upper()}-SWAP"

    def subscribe_messages(self, natives: list[str]) -> list[str]:
        return [
            json.dumps({"op": "subscribe", "args": [{"channel": "mark-price", "instId": n} for n in batch]})
            for batch in batches(natives, self.per_message)
        ]

    def parse(self, msg: Any, state: ConnState) -> Parsed:
        control = self.control(msg)
        if control is not None:
            return control
        arg = msg.get("arg")
        data = msg.get("data")
        if not isinstance(arg, dict) or arg.get("channel") != "mark-price" or not isinstance(data, list):
            return unexpected("not a mark-price push")
        marks: list[Mark] = []
        for item in data:
            if not isinstance(item, dict) or not isinstance(item.get("instId"), str):
                return unexpected("mark-price item without instId")
            marks.append((item["instId"], item.get("markPx"), item.get("ts")))
        return Parsed("marks", marks)
