"""hyperliquid private position stream (hints; see liqwatch.feeds.private)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from liqwatch.feeds.parse import as_dict, as_list, ms_to_s
from liqwatch.feeds.private_wire import Batch, PrivateProtocol

if TYPE_CHECKING:
    from liqwatch.feeds.account import Account as AccountConfig


class HyperliquidPrivate(PrivateProtocol):
    """``clearinghouseState`` by wallet (public socket, no key): every push is the full state."""

    name = "hyperliquid"
    channel = "clearinghouseState (by wallet)"
    needs_keys = False

    def options(self) -> dict[str, Any]:
        return {}

    def params(self, account: AccountConfig) -> dict[str, Any]:
        return {"user": account.wallet}

    def set_ws_url(self, ex: Any, base: str) -> None:
        ex.urls["api"]["ws"]["public"] = base

    def batch(self, ex: Any, message: Any) -> Batch | None:
        if not isinstance(message, dict) or message.get("channel") != "clearinghouseState":
            return None
        state = as_dict(as_dict(message.get("data")).get("clearinghouseState"))
        if "assetPositions" not in state:
            return None
        rows = [as_dict(r) for r in as_list(state.get("assetPositions"))]
        return Batch([dict(ex.parse_position(r)) for r in rows], ms_to_s(state.get("time")), full=True)

    def ready(self, message: Any) -> bool:
        if not isinstance(message, dict) or message.get("channel") != "subscriptionResponse":
            return False
        return as_dict(as_dict(message.get("data")).get("subscription")).get("type") == "clearinghouseState"
