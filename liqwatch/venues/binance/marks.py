"""binance mark prices over its public websocket (see liqwatch.feeds.wire)."""

from __future__ import annotations

import itertools
import json
from typing import Any
from urllib.parse import urlsplit

from liqwatch.feeds.wire import (
    ACK,
    IGNORE,
    ConnState,
    Mark,
    MarkProtocol,
    Parsed,
    batches,
    replace_url,
    unexpected,
)


class BinanceMarks(MarkProtocol):
    name = "binance"
    interval = 1.0
    heartbeat_timeout = 10.0  # @1s streams push every second; the server pings every 3 min
    per_connection = 1000  # documented cap 1024 streams per connection
    per_message = 200
    send_gap = 0.15  # 10 incoming messages/s per connection

    def __init__(self) -> None:
        self._ids = itertools.count(1)

    def native(self, base: str, quote: str, settle: str) -> str | None:
        if self.inverse:  # COIN-M perpetual: BTC/USD:BTC -> BTCUSD_PERP (dstream)
            return f"{base.upper()}USD_PERP" if settle == base and quote.upper() == "USD" else None
        return super().native(base, quote, settle)

    def inverse_url(self, url: str) -> str:
        # COIN-M streams on dstream (no /market split there); an override URL (proxy, fake) serves both
        if not urlsplit(url).netloc.startswith("fstream."):
            return url
        return replace_url(url, host=("fstream.", "dstream."), path=("/market/ws", "/ws"))

    def subscribe_messages(self, natives: list[str]) -> list[str]:
        return [
            json.dumps(
                {"method": "SUBSCRIBE", "params": [f"{n.lower()}@markPrice@1s" for n in batch], "id": next(self._ids)}
            )
            for batch in batches(natives, self.per_message)
        ]

    def parse(self, msg: Any, state: ConnState) -> Parsed:
        if isinstance(msg, dict) and "stream" in msg and "data" in msg:  # combined stream wrapper
            msg = msg["data"]
        items = msg if isinstance(msg, list) else [msg]
        marks: list[Mark] = []
        for item in items:
            if not isinstance(item, dict):
                return unexpected("not an object")
            if item.get("e") == "markPriceUpdate":
                if not isinstance(item.get("s"), str):
                    return unexpected("markPriceUpdate without a symbol")
                marks.append((item["s"].upper(), item.get("p"), item.get("E")))
            elif "error" in item:
                return Parsed("error", detail=f"request rejected: {item['error']}")
            elif "id" in item and "result" in item:
                return ACK if item["result"] is None else IGNORE
            else:
                return unexpected(f"unknown event {str(item.get('e'))[:40]!r}")
        return Parsed("marks", marks)
