"""bitget mark prices over its public websocket (see liqwatch.feeds.wire)."""

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


class BitgetMarks(TextPingProtocol):
    name = "bitget"
    interval = 1.0
    heartbeat_timeout = 60.0
    ping_every = 30.0
    per_connection = 50  # Bitget recommends fewer than 50 channels per connection
    per_message = 50
    send_gap = 0.15  # 10 messages/s per connection

    def native(self, base: str, quote: str, settle: str) -> str | None:
        if self.inverse:  # COIN-FUTURES: BTC/USD:BTC -> BTCUSD, same socket, instType COIN-FUTURES
            return f"{base.upper()}USD" if settle == base and quote.upper() == "USD" else None
        return super().native(base, quote, settle)

    def subscribe_messages(self, natives: list[str]) -> list[str]:
        inst_type = "COIN-FUTURES" if self.inverse else "USDT-FUTURES"
        return [
            json.dumps(
                {
                    "op": "subscribe",
                    "args": [{"instType": inst_type, "channel": "ticker", "instId": n} for n in batch],
                }
            )
            for batch in batches(natives, self.per_message)
        ]

    def parse(self, msg: Any, state: ConnState) -> Parsed:
        control = self.control(msg)
        if control is not None:
            return control
        arg = msg.get("arg")
        data = msg.get("data")
        if not isinstance(arg, dict) or arg.get("channel") != "ticker" or not isinstance(data, list):
            return unexpected("not a ticker push")
        marks: list[Mark] = []
        for item in data:
            if not isinstance(item, dict):
                return unexpected("ticker item not an object")
            inst = item.get("instId") or arg.get("instId")
            if not isinstance(inst, str):
                return unexpected("ticker item without instId")
            marks.append((inst, item.get("markPrice"), item.get("ts") or msg.get("ts")))
        return Parsed("marks", marks)
