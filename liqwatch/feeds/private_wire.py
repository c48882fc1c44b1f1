"""The private position stream every venue's ``liqwatch/venues/<venue>/private.py`` implements (or
the venue registers none). Pure wiring: the session, its reconnects and the hints are
:class:`liqwatch.feeds.private.PositionHintStream`'s."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    from liqwatch.feeds.account import Account as AccountConfig

NO_SNAPSHOT = {"watchPositions": {"fetchPositionsSnapshot": False, "awaitPositionsSnapshot": False}}


@dataclass
class Batch:
    """The positions one message carried."""

    raws: list[dict[str, Any]]
    """ccxt position structures, ``info`` in the shape the REST adapter reads."""
    ts: float | None
    full: bool = False
    """The venue sent every open position (Hyperliquid): one missing from it was closed."""


def replace_path(url: str, path: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


class PrivateProtocol:
    """A venue's private position stream through ccxt.pro ``watch_positions``: its ccxt options,
    where its socket is, and which messages carry positions (read in ccxt's message hook)."""

    name: ClassVar[str]
    channel: ClassVar[str]
    needs_keys: ClassVar[bool] = True
    ready_on_open: ClassVar[bool] = False
    """The subscription is live as soon as the socket is open (Binance: the URL carries the key)."""
    carry_options: ClassVar[tuple[str, ...]] = ()
    """ccxt options a previous instance learnt (over REST) that the next one can reuse."""

    def options(self) -> dict[str, Any]:
        return copy.deepcopy(NO_SNAPSHOT)

    def params(self, account: AccountConfig) -> dict[str, Any]:
        return {}

    def ws_base(self, ws_url: str) -> str:
        """What liqwatch writes into ccxt's websocket URLs given the account's (public) ``ws_url``:
        by default that URL as it is (without a query string)."""
        path = urlsplit(ws_url).path.rstrip("/")
        return replace_path(ws_url, path) if urlsplit(ws_url).query else ws_url

    def set_ws_url(self, ex: Any, base: str) -> None:
        raise NotImplementedError

    def batch(self, ex: Any, message: Any) -> Batch | None:
        raise NotImplementedError

    def ready(self, message: Any) -> bool:
        return False

    def expired(self, message: Any) -> bool:
        return False

    def expiry_error(self, exc: BaseException) -> bool:
        return False

    def listen_keys(self, ex: Any) -> list[str]:
        return []

    def retire(self, ex: Any) -> None:
        """Before closing an instance: stop its background upkeep."""

    async def upkeep(self, ex: Any) -> None:
        """Runs beside the watch while a session lasts (Binance: listen-key keep-alive)."""
