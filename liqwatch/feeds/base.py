"""The feed interface."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # pydantic's models load with the first event, not with the dashboard's first frame
    from liqwatch.feeds.events import Event

Sink = Callable[["Event"], None]


class Feed(Protocol):
    """A source of events. ``run`` streams until cancelled and never raises for source trouble:
    drops, bad data, auth and rate-limit errors become :class:`~liqwatch.feeds.events.Status`
    events, and the feed retries with backoff where retrying makes sense."""

    name: str
    """The account name events are tagged with."""

    async def run(self, sink: Sink) -> None: ...
