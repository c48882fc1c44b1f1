"""The mark-price wire protocol every venue's ``liqwatch/venues/<venue>/marks.py`` implements, and
what its parser returns. Pure: no socket here (:class:`liqwatch.feeds.marks.MarkStream` runs it).

A protocol converts a unified symbol to the venue's id (:meth:`MarkProtocol.native`), writes the
subscribe messages and heartbeats, and parses each frame into a :class:`Parsed` (marks, an ack, a
pong, an error or an unexpected message, which the stream skips and counts). Only MARK prices,
never mid or last prices: liquidation is triggered by the mark.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Mark = tuple[str, Any, Any]
"""(venue symbol id as it appears in the data, raw price, raw venue time in ms or None)."""


@dataclass(frozen=True)
class Parsed:
    kind: Literal["marks", "ack", "pong", "ignore", "error", "unexpected"]
    marks: list[Mark] = field(default_factory=list)
    detail: str = ""
    reply: str | None = None
    """Text to send back (a venue that pings the client at application level)."""


IGNORE = Parsed("ignore")
PONG = Parsed("pong")
ACK = Parsed("ack")


def unexpected(detail: str) -> Parsed:
    return Parsed("unexpected", detail=detail)


@dataclass
class ConnState:
    """Per-connection parser state (Bybit ticker snapshots that deltas merge into)."""

    tickers: dict[str, dict[str, Any]] = field(default_factory=dict)


class MarkProtocol:
    """A venue's wire protocol for mark prices and its connection rules."""

    name = ""
    interval = 1.0
    """Expected update interval of the channel (seconds); a symbol is stale after 3x."""
    heartbeat_timeout = 10.0
    """Silence tolerated on a live socket given our heartbeats (the pong must come back within it)."""
    ping_every: float | None = None
    ping_when_idle = False
    """Ping after ``ping_every`` seconds without any incoming message (OKX) instead of on a fixed cadence."""
    per_connection = 200
    per_message = 50
    send_gap = 0.15
    """Minimum seconds between two subscribe messages on one socket."""
    stagger = 0.25
    """Seconds between opening the sockets of one stream (connection-rate limits)."""

    inverse = False
    """This instance speaks for the coin-margined (inverse) perpetuals (:meth:`inverse_protocol`)."""

    def native(self, base: str, quote: str, settle: str) -> str | None:
        if settle != quote:  # inverse and quanto contracts use other endpoints
            return None
        return f"{base.upper()}{quote.upper()}"

    def inverse_protocol(self) -> MarkProtocol:
        """The protocol for the venue's coin-margined perpetuals (``BTC/USD:BTC``): a fresh instance
        with :attr:`inverse` set, whose :meth:`native` names them (None where the venue streams
        none: the symbol is reported as not a perpetual of the venue)."""
        proto = type(self)()
        proto.inverse = True
        return proto

    def inverse_url(self, url: str) -> str:
        """The websocket URL of the coin-margined perpetuals given the linear one (``url``: the
        venue's default or the account's ``ws_url``); the same URL where one endpoint serves both."""
        return url

    def subscribe_messages(self, natives: list[str]) -> list[str]:
        raise NotImplementedError

    def ping(self) -> str | None:
        return None

    def parse_text(self, text: str) -> Parsed | None:
        """Non-JSON frames this venue sends (``pong``); None to parse as JSON."""
        return None

    def parse(self, msg: Any, state: ConnState) -> Parsed:
        raise NotImplementedError


def replace_url(url: str, *, host: tuple[str, str] | None = None, path: tuple[str, str] | None = None) -> str:
    """``url`` with the host prefix ``host[0]`` swapped for ``host[1]`` and the path ending
    ``path[0]`` swapped for ``path[1]`` (each only where it matches)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    netloc, route = parts.netloc, parts.path
    if host is not None and netloc.startswith(host[0]):
        netloc = host[1] + netloc[len(host[0]) :]
    if path is not None and route.rstrip("/").endswith(path[0]):
        route = route.rstrip("/")[: -len(path[0])] + path[1]
    return urlunsplit((parts.scheme, netloc, route, parts.query, parts.fragment))


def batches(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


class TextPingProtocol(MarkProtocol):
    """OKX's websocket conventions, which Bitget follows: text ``ping``/``pong`` heartbeats, and
    ``event`` frames (subscribe acks, errors, notices) beside ``arg``/``data`` pushes."""

    def ping(self) -> str:
        return "ping"

    def parse_text(self, text: str) -> Parsed | None:
        if text == "pong":
            return PONG
        if text == "ping":
            return Parsed("pong", reply="pong")
        return None

    def control(self, msg: Any) -> Parsed | None:
        """The answer for a non-push frame, or None for a data push."""
        if not isinstance(msg, dict):
            return unexpected("not an object")
        event = msg.get("event")
        if event == "subscribe":
            return ACK
        if event == "error":
            return Parsed("error", detail=f"request rejected: {msg.get('code')} {msg.get('msg')}")
        if event is not None:
            return IGNORE  # notice, channel-conn-count, unsubscribe...
        return None
