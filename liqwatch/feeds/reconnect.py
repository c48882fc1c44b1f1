"""The one reconnect loop of every feed: jittered exponential backoff, reset after a healthy
session, slow retries for what a retry cannot fix quickly, and a sink that cannot break a stream.

Used by the mark streams (:mod:`liqwatch.feeds.marks`), the private position streams
(:mod:`liqwatch.feeds.private`) and the REST reconcile loop (:mod:`liqwatch.feeds.live`).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import NoReturn

from liqwatch.feeds.base import Sink
from liqwatch.feeds.events import Event, StatusState

SLOW_RETRY = 120.0
"""Seconds between retries of errors a retry cannot fix quickly (bad key, missing permission)."""
SLOW_KINDS = frozenset({"auth", "permission", "config"})
"""FeedError kinds retried only every :data:`SLOW_RETRY` seconds."""


class Backoff:
    """Equal jitter: a uniform draw in [base/2, base], base doubling per consecutive failure from
    ``initial`` up to ``maximum``. Every delay chosen is kept in ``delays`` (diagnostics, tests)."""

    def __init__(self, initial: float, maximum: float, rng: random.Random | None = None) -> None:
        self.initial = max(initial, 0.0)
        self.maximum = max(maximum, self.initial)
        self.rng = rng or random.Random()
        self.delays: list[float] = []

    def delay(self, failures: int) -> float:
        base = min(self.maximum, self.initial * 2.0 ** min(failures, 60))
        return base / 2 + self.rng.random() * base / 2


@dataclass
class Ended:
    """How one session ended."""

    reason: str
    healthy: bool = False
    """The session was live (delivered data, or subscribed): the backoff resets after it."""
    slow: bool = False
    """A failure a retry cannot fix quickly: reported as ``error``, retried after SLOW_RETRY."""
    kind: str = ""
    """What failed, where the stream tells kinds apart (a FeedError kind, ``expired``)."""


async def reconnect_forever(
    session: Callable[[], Awaitable[Ended]],
    backoff: Backoff,
    status: Callable[[StatusState, str], None],
    *,
    tag: str = "",
    on_end: Callable[[Ended], None] | None = None,
) -> NoReturn:
    """Run ``session`` again and again: after each end report ``disconnected`` (``error`` when
    slow) with its reason, call ``on_end``, then wait and report ``reconnecting``. ``session``
    returns how it ended; it must turn its own failures into an :class:`Ended`."""
    failures = 0
    while True:
        ended = await session()
        if ended.healthy:
            failures = 0
        delay = SLOW_RETRY if ended.slow else backoff.delay(failures)
        failures += 1
        backoff.delays.append(delay)
        status("error" if ended.slow else "disconnected", f"{tag}{ended.reason}")
        if on_end is not None:
            on_end(ended)
        status("reconnecting", f"{tag}in {delay:.3f} s (attempt {failures})")
        await asyncio.sleep(delay)


def emit_safely(sink: Sink, event: Event, log: logging.Logger, what: str) -> None:
    """``sink(event)``; a broken sink is logged, never allowed to take a stream down."""
    try:
        sink(event)
    except Exception:
        log.exception("%s sink failed on %s", what, event.type)


@dataclass
class SessionCounters:
    """Per-connection bookkeeping shared by the streams."""

    connected: bool = False
    skipped: int = 0

    def skip(self) -> bool:
        """Count one skipped message; True for the first of this session (report that one)."""
        self.skipped += 1
        return self.skipped == 1
