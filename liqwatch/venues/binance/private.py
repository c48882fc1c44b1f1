"""binance private position stream (hints; see liqwatch.feeds.private)."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

from liqwatch.feeds.parse import as_dict, as_list, ms_to_s
from liqwatch.feeds.private_wire import Batch, PrivateProtocol, replace_path

LISTEN_KEY_REFRESH_MS = 1_200_000
"""How often the listen key is extended (PUT through ccxt), ms; it lapses after 60 min."""
_CCXT_OWN_REFRESH_MS = 86_400_000
# ccxt 4.5.90 (Python) extends the key once and never again: its reschedule loop reads Client objects
# with safe_dict (always None). liqwatch drives ccxt's keep_alive_listen_key itself and parks ccxt's
# own timer at 24 h (a connection's lifetime cap).


class BinancePrivate(PrivateProtocol):
    """USDⓈ-M user-data stream: ``ACCOUNT_UPDATE`` ``a.P[]`` (only the changed positions). A
    portfolio-margin account (the REST adapter's ``stream_options``): ccxt's ``portfolioMargin``,
    i.e. the listen key of ``POST /papi/v1/listenKey`` and the PM stream ``/pm/ws/<listenKey>``
    (its UM ``ACCOUNT_UPDATE`` has the same ``a.P[]`` rows)."""

    name = "binance"
    channel = "user data stream (ACCOUNT_UPDATE)"
    ready_on_open = True

    def options(self) -> dict[str, Any]:
        return {**super().options(), "listenKeyRefreshRate": _CCXT_OWN_REFRESH_MS}

    async def upkeep(self, ex: Any) -> None:
        while True:
            await asyncio.sleep(LISTEN_KEY_REFRESH_MS / 1000)
            # ccxt's PUT /fapi/v1/listenKey; a failure (-1125) rejects the stream's futures, which
            # the session reports as an expired key
            await ex.keep_alive_listen_key({"type": "linear"})

    def ws_base(self, ws_url: str) -> str:
        path = urlsplit(ws_url).path.rstrip("/")
        for tail in ("/market/ws", "/public/ws", "/private/ws"):
            if path.endswith(tail):
                return replace_path(ws_url, path[: -len(tail)] + "/ws")
        return replace_path(ws_url, path)

    def set_ws_url(self, ex: Any, base: str) -> None:
        ex.urls["api"]["ws"]["linear"] = base
        # a portfolio-margin account's stream (ccxt's "papi" URL, /pm/ws/<listenKey>) on the same host
        path = urlsplit(base).path.rstrip("/")
        ex.urls["api"]["ws"]["papi"] = replace_path(base, path.removesuffix("/ws") + "/pm/ws")

    def batch(self, ex: Any, message: Any) -> Batch | None:
        if not isinstance(message, dict) or message.get("e") != "ACCOUNT_UPDATE":
            return None
        rows = [as_dict(r) for r in as_list(as_dict(message.get("a")).get("P"))]
        return Batch([self._rest_shape(ex, r) for r in rows], ms_to_s(message.get("E")))

    @staticmethod
    def _rest_shape(ex: Any, row: dict[str, Any]) -> dict[str, Any]:
        """ccxt's parse of an ``a.P`` row with ``info`` renamed to positionRisk's fields."""
        position = dict(ex.parse_ws_position(row))
        position["info"] = {
            "symbol": row.get("s"),
            "positionAmt": row.get("pa"),
            "entryPrice": row.get("ep"),
            "unRealizedProfit": row.get("up"),
            "marginType": row.get("mt"),
            "isolatedWallet": row.get("iw"),
            "positionSide": row.get("ps"),
            "marginAsset": row.get("ma"),
        }
        return position

    def expired(self, message: Any) -> bool:
        return isinstance(message, dict) and message.get("e") == "listenKeyExpired"

    def expiry_error(self, exc: BaseException) -> bool:
        # -1125 "This listenKey does not exist." (keep-alive PUT, or a refused handshake)
        text = str(exc)
        return "-1125" in text or "listenkey" in text.lower()

    def listen_keys(self, ex: Any) -> list[str]:
        key = as_dict(as_dict(getattr(ex, "options", None)).get("linear")).get("listenKey")
        return [key] if isinstance(key, str) and key else []

    def retire(self, ex: Any) -> None:
        bucket = ex.options.get("linear")
        if isinstance(bucket, dict):
            bucket["listenKey"] = None  # ccxt's scheduled keep-alive then does nothing
