"""Alert delivery that never blocks the monitor.

:class:`Dispatcher` keeps one bounded queue and one worker task per notifier. ``submit`` only
appends to the queues; each worker sends its queue in order, retrying a failed send with
exponential backoff (the alert stays at the head of its queue: delayed, never lost), and reports
each failure through a callback. Delivery is idempotent per notifier: an alert id delivered once
is never sent to that notifier again. (A send that timed out on our side may still have arrived:
the alert ``id`` lets a receiver drop such a repeat.)
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from liqwatch.alerts.channels.base import DeliveryError, Notifier
from liqwatch.alerts.model import SEVERITY_RANK, Alert
from liqwatch.numfmt import plain

QUEUE_SIZE = 100
DELIVERED_MEMORY = 10_000
"""Alert ids remembered per notifier for idempotency."""


@dataclass(frozen=True, slots=True)
class DeliveryFailure:
    """One failed send (or a dropped alert: ``retry_in`` None) to the notifier named ``notifier``."""

    ts: float
    notifier: str
    alert_id: str
    attempt: int
    error: str
    retry_in: float | None

    def record(self) -> dict[str, Any]:
        """An event line for ``liqwatch watch`` (the notifier under ``"channel"``)."""
        then = f"; retrying in {plain(self.retry_in)} s" if self.retry_in is not None else "; dropped"
        return {
            "type": "event",
            "ts": self.ts,
            "kind": "alert_delivery_failed",
            "channel": self.notifier,
            "alert_id": self.alert_id,
            "attempt": self.attempt,
            "detail": f"{self.error}{then}",
        }


class _Lane:
    __slots__ = ("delivered", "idle", "ids", "notifier", "queue", "task", "wake")

    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier
        self.queue: deque[Alert] = deque()
        self.ids: set[str] = set()
        self.delivered: OrderedDict[str, None] = OrderedDict()
        self.wake = asyncio.Event()
        self.idle = asyncio.Event()
        self.idle.set()
        self.task: asyncio.Task[None] | None = None


class Dispatcher:
    """Delivers alerts to notifiers without ever blocking the caller.

    ``submit(alert)`` queues the alert for every notifier that accepts its severity and returns at
    once. ``on_delivered(notifier_name, alert)`` runs after each successful send (call the engine's
    ``mark_delivered`` there); ``on_failure(DeliveryFailure)`` after each failed one. A full queue
    (``queue_size``) drops its oldest least-severe waiting alert, reported as a failure."""

    def __init__(
        self,
        notifiers: Sequence[Notifier],
        *,
        queue_size: int = QUEUE_SIZE,
        on_delivered: Callable[[str, Alert], None] | None = None,
        on_failure: Callable[[DeliveryFailure], None] | None = None,
        retry_initial: float = 1.0,
        retry_max: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if queue_size < 1:
            raise ValueError("queue_size must be >= 1")
        self.lanes: list[_Lane] = []
        keys: set[str] = set()
        for notifier in notifiers:
            base, n = notifier.key, 1
            while notifier.key in keys:
                n += 1
                notifier.key = f"{base}#{n}"
            keys.add(notifier.key)
            self.lanes.append(_Lane(notifier))
        self.queue_size = queue_size
        self.on_delivered = on_delivered
        self.on_failure = on_failure
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self.clock = clock
        self.version = 0
        """Incremented whenever :meth:`outbox` changes (for :meth:`AlertStore.sync`)."""

    @property
    def notifiers(self) -> list[Notifier]:
        return [lane.notifier for lane in self.lanes]

    def start(self) -> None:
        """Start one worker per notifier (inside a running event loop)."""
        for lane in self.lanes:
            if lane.task is None or lane.task.done():
                lane.task = asyncio.create_task(self._work(lane), name=f"alerts:{lane.notifier.name}")

    async def stop(self, timeout: float = 0.0) -> None:
        """Wait up to ``timeout`` seconds for the queues to empty, then stop the workers and close
        the notifiers. What is still queued stays in :meth:`outbox` (save it)."""
        if timeout > 0:
            await self.drain(timeout)
        tasks = [lane.task for lane in self.lanes if lane.task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for lane in self.lanes:
            lane.task = None
            await lane.notifier.close()

    async def drain(self, timeout: float | None = None) -> bool:
        """Wait until every queue is empty; False if ``timeout`` passed first."""
        try:
            await asyncio.wait_for(asyncio.gather(*(lane.idle.wait() for lane in self.lanes)), timeout)
        except TimeoutError:
            return False
        return True

    def submit(self, alert: Alert) -> None:
        """Queue ``alert`` for every notifier that accepts it. Never blocks, never raises."""
        for lane in self.lanes:
            if lane.notifier.accepts(alert):
                self._enqueue(lane, alert)

    def outbox(self) -> dict[str, list[dict[str, Any]]]:
        """Undelivered alerts per notifier key (in flight included), for persistence."""
        return {lane.notifier.key: [a.model_dump() for a in lane.queue] for lane in self.lanes if lane.queue}

    def restore(self, outbox: Mapping[str, Any]) -> int:
        """Re-queue what :meth:`outbox` saved before a restart; returns how many were queued.
        Entries for notifiers no longer configured, or unreadable, are skipped."""
        count = 0
        for lane in self.lanes:
            records = outbox.get(lane.notifier.key)
            if not isinstance(records, list):
                continue
            for record in records:
                try:
                    alert = Alert.model_validate(record)
                except ValueError:
                    continue
                count += self._enqueue(lane, alert)
        return count

    # ------------------------------------------------------------------ workers

    def _enqueue(self, lane: _Lane, alert: Alert) -> bool:
        if alert.id in lane.ids or alert.id in lane.delivered:
            return False  # idempotent: queued or delivered already
        if len(lane.queue) >= self.queue_size:
            waiting = [*list(lane.queue)[1:], alert]  # never the head: it may be in flight
            victim = min(waiting, key=lambda a: SEVERITY_RANK[a.severity])
            self._report(lane, victim, 0, "queue full", None)
            if victim is alert:
                return False
            lane.queue.remove(victim)
            lane.ids.discard(victim.id)
        lane.queue.append(alert)
        lane.ids.add(alert.id)
        lane.idle.clear()
        lane.wake.set()
        self.version += 1
        return True

    def _report(self, lane: _Lane, alert: Alert, attempt: int, error: str, retry_in: float | None) -> None:
        if self.on_failure is None:
            return
        failure = DeliveryFailure(self.clock(), lane.notifier.name, alert.id, attempt, error, retry_in)
        with contextlib.suppress(Exception):
            self.on_failure(failure)

    async def _work(self, lane: _Lane) -> None:
        notifier = lane.notifier
        while True:
            if not lane.queue:
                lane.idle.set()
                lane.wake.clear()
                await lane.wake.wait()
                continue
            alert = lane.queue[0]
            attempt = 0
            while alert.id not in lane.delivered:
                try:
                    await asyncio.wait_for(notifier.send(alert), notifier.timeout + 1.0)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    attempt += 1
                    if isinstance(exc, DeliveryError):
                        error, retry = str(exc), exc.retry
                    elif isinstance(exc, TimeoutError):
                        error, retry = f"timed out after {plain(notifier.timeout)} s", True
                    else:  # a bug in a notifier: report its type only (the message may hold a URL)
                        error, retry = f"unexpected {type(exc).__name__}", True
                    if not retry:
                        self._report(lane, alert, attempt, error, None)
                        break
                    delay = min(self.retry_max, self.retry_initial * 2 ** (attempt - 1))
                    self._report(lane, alert, attempt, error, delay)
                    await asyncio.sleep(delay)
                    continue
                lane.delivered[alert.id] = None
                while len(lane.delivered) > DELIVERED_MEMORY:
                    lane.delivered.popitem(last=False)
                if self.on_delivered is not None:
                    with contextlib.suppress(Exception):
                        self.on_delivered(notifier.name, alert)
            if lane.queue and lane.queue[0] is alert:
                lane.queue.popleft()
                lane.ids.discard(alert.id)
                self.version += 1
