"""okx private position stream (hints; see liqwatch.feeds.private)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from liqwatch.feeds.parse import as_dict, as_list, ms_to_s
from liqwatch.feeds.private_wire import Batch, PrivateProtocol, replace_path

if TYPE_CHECKING:
    from liqwatch.feeds.account import Account as AccountConfig


class OkxPrivate(PrivateProtocol):
    """v5 private ``positions`` channel, instType SWAP (the first push lists every open position)."""

    name = "okx"
    channel = "private channel 'positions' (SWAP)"

    def params(self, account: AccountConfig) -> dict[str, Any]:
        return {"instType": "SWAP"}

    def ws_base(self, ws_url: str) -> str:
        path = urlsplit(ws_url).path.rstrip("/")
        for tail in ("/public", "/private", "/business"):
            if path.endswith(tail):
                return replace_path(ws_url, path[: -len(tail)])
        return replace_path(ws_url, path)

    def set_ws_url(self, ex: Any, base: str) -> None:
        ex.urls["api"]["ws"] = base

    def batch(self, ex: Any, message: Any) -> Batch | None:
        if not isinstance(message, dict) or "data" not in message:
            return None
        if as_dict(message.get("arg")).get("channel") != "positions":
            return None
        rows = [as_dict(r) for r in as_list(message.get("data"))]
        stamps = [t for t in (ms_to_s(r.get("pTime")) for r in rows) if t is not None]
        return Batch([dict(ex.parse_position(r)) for r in rows], max(stamps) if stamps else None)

    def ready(self, message: Any) -> bool:
        return (
            isinstance(message, dict)
            and message.get("event") == "subscribe"
            and as_dict(message.get("arg")).get("channel") == "positions"
        )
