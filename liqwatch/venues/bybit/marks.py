"""bybit mark prices over its public websocket (see liqwatch.feeds.wire)."""

from __future__ import annotations

import itertools
import json
from typing import Any

from liqwatch.feeds.wire import (
    ACK,
    IGNORE,
    PONG,
    ConnState,
    MarkProtocol,
    Parsed,
    batches,
    replace_url,
    unexpected,
)


class BybitMarks(MarkProtocol):
    name = "bybit"
    interval = 3.0  # deltas come only when a field changes; quiet contracts can pause for seconds
    heartbeat_timeout = 40.0
    ping_every = 20.0
    per_connection = 200
    per_message = 10
    send_gap = 0.1

    def __init__(self) -> None:
        self._ids = itertools.count(1)

    def native(self, base: str, quote: str, settle: str) -> str | None:
        if self.inverse:  # inverse perpetual: BTC/USD:BTC -> BTCUSD on /v5/public/inverse
            return f"{base.upper()}USD" if settle == base and quote.upper() == "USD" else None
        return super().native(base, quote, settle)

    def inverse_url(self, url: str) -> str:
        return replace_url(url, path=("/v5/public/linear", "/v5/public/inverse"))

    def subscribe_messages(self, natives: list[str]) -> list[str]:
        return [
            json.dumps({"req_id": str(next(self._ids)), "op": "subscribe", "args": [f"tickers.{n}" for n in batch]})
            for batch in batches(natives, self.per_message)
        ]

    def ping(self) -> str:
        return json.dumps({"req_id": str(next(self._ids)), "op": "ping"})

    def parse(self, msg: Any, state: ConnState) -> Parsed:
        if not isinstance(msg, dict):
            return unexpected("not an object")
        op = msg.get("op")
        if op in ("ping", "pong"):
            return PONG
        if op == "subscribe":
            return ACK if msg.get("success") else Parsed("error", detail=f"subscribe rejected: {msg.get('ret_msg')}")
        topic = msg.get("topic")
        if not isinstance(topic, str) or not topic.startswith("tickers."):
            return IGNORE if op else unexpected(f"unknown topic {str(topic)[:40]!r}")
        data = msg.get("data")
        if not isinstance(data, dict):
            return unexpected("ticker without data")
        symbol = str(data.get("symbol") or topic.removeprefix("tickers."))
        if msg.get("type") == "snapshot" or symbol not in state.tickers:
            state.tickers[symbol] = dict(data)
        else:  # delta: only the fields that changed
            state.tickers[symbol].update(data)
        mark = state.tickers[symbol].get("markPrice")
        if mark in (None, ""):
            return IGNORE  # a delta before any snapshot carrying the mark
        return Parsed("marks", [(symbol, mark, msg.get("ts"))])
