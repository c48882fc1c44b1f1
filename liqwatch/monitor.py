"""Feeds -> state: runs every feed as a task and applies what they emit to one state store.

One failing feed never stops the others: a feed that raises (a bug, not a venue problem — feeds
turn those into Status events themselves) is reported and restarted after a pause.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from liqwatch.feeds.base import Feed
from liqwatch.state import Notice, State

if TYPE_CHECKING:  # the events' pydantic models load with the first event (see liqwatch.state)
    from liqwatch.feeds.events import Event

RESTART_DELAY = 5.0


class Monitor:
    def __init__(
        self,
        feeds: Sequence[Feed],
        state: State | None = None,
        *,
        record: Callable[[Event], None] | None = None,
        on_event: Callable[[Event], None] | None = None,
        on_notice: Callable[[Notice], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.feeds = list(feeds)
        self.state = state or State(clock)
        self.record = record
        self.on_event = on_event
        self.on_notice = on_notice
        self.clock = clock
        self._tasks: list[asyncio.Task[None]] = []

    def sink(self, event: Event) -> None:
        if self.record is not None:
            self.record(event)
        notices = self.state.apply(event)
        if self.on_event is not None:
            self.on_event(event)
        if self.on_notice is not None:
            for notice in notices:
                self.on_notice(notice)

    async def _guard(self, feed: Feed) -> None:
        while True:
            try:
                await feed.run(self.sink)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a bug in a feed must not take the monitor down
                from liqwatch.feeds.events import Status

                self.sink(
                    Status(
                        account=feed.name,
                        exchange=_exchange_of(feed),
                        ts=self.clock(),
                        state="error",
                        channel="feed",
                        detail=f"feed crashed ({type(exc).__name__}: {exc}); restarting",
                    )
                )
                await asyncio.sleep(RESTART_DELAY)

    def ended(self) -> set[str]:
        """The names of the feeds that stopped for good (a live account without its keys): their
        accounts will get no more data in this run."""
        return {feed.name for feed, task in zip(self.feeds, self._tasks, strict=False) if task.done()}

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._guard(feed), name=f"feed:{feed.name}") for feed in self.feeds]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []


def _exchange_of(feed: Feed) -> str:
    exchange = getattr(feed, "exchange", None)
    return exchange if isinstance(exchange, str) else ""
