"""hyperliquid mark prices over its public websocket (see liqwatch.feeds.wire)."""

from __future__ import annotations

import json
from typing import Any

from liqwatch.feeds.wire import (
    ACK,
    PONG,
    ConnState,
    MarkProtocol,
    Parsed,
    unexpected,
)


class HyperliquidMarks(MarkProtocol):
    name = "hyperliquid"
    interval = 3.0  # oracle prices (and with them the mark) move every 3 s
    heartbeat_timeout = 40.0  # the server closes sockets idle for 60 s
    ping_every = 20.0
    per_connection = 1000  # 1000 subscriptions per IP
    per_message = 1  # one subscription per request
    send_gap = 0.04  # 2000 messages per minute per IP

    def native(self, base: str, quote: str, settle: str) -> str | None:
        if quote.upper() != "USDC" or settle.upper() != "USDC":
            return None
        dex, sep, coin = base.partition("-")
        if sep:  # ccxt writes the builder-dex coin "xyz:XYZ100" as "XYZ-XYZ100/USDC:USDC"
            return f"{dex.lower()}:{coin}"
        return base

    def subscribe_messages(self, natives: list[str]) -> list[str]:
        return [
            json.dumps({"method": "subscribe", "subscription": {"type": "activeAssetCtx", "coin": n}}) for n in natives
        ]

    def ping(self) -> str:
        return json.dumps({"method": "ping"})

    def parse(self, msg: Any, state: ConnState) -> Parsed:
        if not isinstance(msg, dict):
            return unexpected("not an object")
        channel = msg.get("channel")
        if channel == "pong":
            return PONG
        if channel == "subscriptionResponse":
            return ACK
        if channel == "error":
            return Parsed("error", detail=f"request rejected: {str(msg.get('data'))[:200]}")
        if channel != "activeAssetCtx":
            return unexpected(f"unknown channel {str(channel)[:40]!r}")
        data = msg.get("data")
        ctx = data.get("ctx") if isinstance(data, dict) else None
        if not isinstance(data, dict) or not isinstance(data.get("coin"), str) or not isinstance(ctx, dict):
            return unexpected("activeAssetCtx without coin or ctx")
        return Parsed("marks", [(data["coin"], ctx.get("markPx"), None)])  # no timestamp: use the clock
