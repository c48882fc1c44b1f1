"""bybit private position stream (hints; see liqwatch.feeds.private)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from liqwatch.feeds.parse import as_dict, as_list, ms_to_s
from liqwatch.feeds.private_wire import Batch, PrivateProtocol, replace_path


class BybitPrivate(PrivateProtocol):
    """v5 private ``position`` topic (every category; non-linear rows are ignored)."""

    name = "bybit"
    channel = "private topic 'position'"
    carry_options = ("enableUnifiedMargin", "enableUnifiedAccount", "unifiedMarginStatus")

    def ws_base(self, ws_url: str) -> str:
        path = urlsplit(ws_url).path.rstrip("/")
        cut = path.find("/v5/")
        return replace_path(ws_url, (path[:cut] if cut >= 0 else path) + "/v5/private")

    def set_ws_url(self, ex: Any, base: str) -> None:
        ex.urls["api"]["ws"]["private"]["contract"] = base

    def batch(self, ex: Any, message: Any) -> Batch | None:
        if not isinstance(message, dict):
            return None
        topic = message.get("topic")
        if not isinstance(topic, str) or topic.split(".")[0] != "position":
            return None
        rows = [as_dict(r) for r in as_list(message.get("data"))]
        return Batch([dict(ex.parse_position(r)) for r in rows], ms_to_s(message.get("creationTime")))

    def ready(self, message: Any) -> bool:
        return isinstance(message, dict) and message.get("op") == "subscribe" and message.get("success") is True
