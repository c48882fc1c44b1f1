"""``liqwatch alerts dispatch --source URL``: the bus's alerts through the configured channels
(issue #22).

Every dispatcher binds one shared durable pull consumer, ``dispatch`` on ``LIQ_ALERT`` (explicit
ack, ``ack_wait`` 30 s, ``max_ack_pending`` 256), so several dispatchers share the work and each
alert goes to one of them. A dispatcher holds at most one batch (10) of alerts at a time, hands each
to :class:`~liqwatch.alerts.dispatcher.Dispatcher` (the queues, retries and backoff ``watch`` uses)
and acknowledges it once every channel that takes it confirmed (or refused it for good, said on
stdout as ``watch`` says it). A dispatcher that dies loses nothing: what it held unacknowledged is
delivered again, by another dispatcher or itself once restarted (at least once: a receiver drops
a repeat by the alert ``id``; repeats are at most one batch). While a channel keeps failing, the
alerts it holds are kept ("in progress") rather than redelivered elsewhere.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import signal
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

import orjson

from liqwatch.bus.connect import connect, no_jetstream, safe_url
from liqwatch.core.errors import InputError

if TYPE_CHECKING:
    from nats.aio.msg import Msg
    from nats.js import JetStreamContext

    from liqwatch.alerts.channels.base import Notifier
    from liqwatch.alerts.dispatcher import DeliveryFailure, Dispatcher
    from liqwatch.alerts.model import Alert
    from liqwatch.config import BusConfig, Config

FIELD = "--source"
STREAM = "LIQ_ALERT"
DURABLE = "dispatch"
SUBJECTS = "liqwatch.alert.>"
ACK_WAIT = 30.0
BATCH = 10
MAX_ACK_PENDING = 256
SINCE = 3_600.0
"""When the shared consumer does not exist yet, the first dispatcher starts it this many seconds back."""
FETCH_WAIT = 1.0


@dataclass(slots=True)
class _Held:
    msg: Msg
    waiting: Counter[str] = field(default_factory=Counter)
    """Per notifier name, how many of the channels that take the alert have not confirmed yet."""


class BusDispatcher:
    """Pulls alerts from the shared consumer and delivers them; see the module's docstring."""

    def __init__(
        self,
        js: JetStreamContext,
        notifiers: Sequence[Notifier],
        *,
        batch: int = BATCH,
        ack_wait: float = ACK_WAIT,
        since: float = SINCE,
        out: TextIO | None = None,
        err: TextIO | None = None,
        retry_initial: float = 1.0,
    ) -> None:
        from liqwatch.alerts.dispatcher import Dispatcher

        self.js = js
        self.batch = batch
        self.ack_wait = ack_wait
        self.since = since
        self.out = out
        self.err = err
        self.held: dict[str, _Held] = {}
        self.acked = 0
        self.delivered = 0
        self.repeats = 0
        """Alerts redelivered by the server that this dispatcher had delivered already (acked at once)."""
        self._room = asyncio.Event()
        self._acks: set[asyncio.Task[None]] = set()
        self.dispatcher: Dispatcher = Dispatcher(
            notifiers,
            queue_size=max(batch, 1) * 2,
            on_delivered=self._on_delivered,
            on_failure=self._on_failure,
            retry_initial=retry_initial,
        )

    async def subscribe(self) -> Any:
        from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

        config = ConsumerConfig(
            durable_name=DURABLE,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self.ack_wait,
            max_ack_pending=MAX_ACK_PENDING,
            max_deliver=-1,
            deliver_policy=DeliverPolicy.BY_START_TIME,
            opt_start_time=datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=self.since),
        )
        from nats.js.errors import APIError

        try:
            return await self.js.pull_subscribe(SUBJECTS, durable=DURABLE, stream=STREAM, config=config)
        except APIError as refused:
            # Two dispatchers starting at once both found no consumer and both created it: the
            # second's start time differs ("start time can not be updated"). Bind to the one that
            # exists (the first dispatcher's); anything else is raised.
            try:
                await self.js.consumer_info(STREAM, DURABLE)
            except APIError:
                raise refused from None
            return await self.js.pull_subscribe_bind(DURABLE, STREAM)

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set; then hand back (nak) what is still held."""
        from nats.errors import TimeoutError as NatsTimeout

        sub = await self.subscribe()
        self.dispatcher.start()
        last_progress = time.monotonic()
        try:
            while not stop.is_set():
                room = self.batch - len(self.held)
                if room <= 0:
                    self._room.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._room.wait(), timeout=FETCH_WAIT)
                else:
                    try:
                        msgs = await sub.fetch(room, timeout=FETCH_WAIT)
                    except (NatsTimeout, TimeoutError):
                        msgs = []
                    except asyncio.CancelledError:
                        raise
                    except Exception:  # the bus is down: nats-py reconnects; try again
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(stop.wait(), timeout=FETCH_WAIT)
                        continue
                    for msg in msgs:
                        await self._take(msg)
                if self.held and time.monotonic() - last_progress >= self.ack_wait / 3:
                    last_progress = time.monotonic()
                    for held in list(self.held.values()):  # a channel is retrying: keep them here
                        with contextlib.suppress(Exception):
                            await held.msg.in_progress()
        finally:
            await self.dispatcher.stop()
            for held in list(self.held.values()):
                with contextlib.suppress(Exception):
                    await held.msg.nak()
            self.held.clear()
            for task in list(self._acks):
                with contextlib.suppress(Exception):
                    await task
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def _take(self, msg: Msg) -> None:
        alert = _alert(msg.data)
        if alert is None:
            self._say(f"{msg.subject}: not an alert record; acknowledged and skipped")
            await msg.ack()
            return
        held = self.held.get(alert.id)
        if held is not None:  # delivered again while still held here: answer the newest delivery
            held.msg = msg
            return
        waiting: Counter[str] = Counter(
            lane.notifier.name
            for lane in self.dispatcher.lanes
            if lane.notifier.accepts(alert) and alert.id not in lane.delivered
        )
        if not waiting:  # no channel takes it, or all had it already (a repeat after a restart)
            if any(alert.id in lane.delivered for lane in self.dispatcher.lanes):
                self.repeats += 1
            await msg.ack()
            self.acked += 1
            return
        self.held[alert.id] = _Held(msg, waiting)
        self.dispatcher.submit(alert)

    def _done(self, alert_id: str, name: str) -> None:
        held = self.held.get(alert_id)
        if held is None:
            return
        held.waiting[name] -= 1
        if held.waiting[name] <= 0:
            del held.waiting[name]
        if held.waiting:
            return
        del self.held[alert_id]
        task = asyncio.get_running_loop().create_task(self._ack(held.msg))
        self._acks.add(task)
        task.add_done_callback(self._acks.discard)
        self._room.set()

    async def _ack(self, msg: Msg) -> None:
        with contextlib.suppress(Exception):
            await msg.ack()
            self.acked += 1

    def _on_delivered(self, name: str, alert: Alert) -> None:
        self.delivered += 1
        self._done(alert.id, name)

    def _on_failure(self, failure: DeliveryFailure) -> None:
        self._line(failure.record())
        if failure.retry_in is None:  # refused for good (or dropped): nothing to wait for
            self._done(failure.alert_id, failure.notifier)

    def _line(self, record: dict[str, Any]) -> None:
        from liqwatch.output import write_line

        write_line(self.out or sys.stdout, orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))

    def _say(self, text: str) -> None:
        stream = self.err or sys.stderr
        stream.write(f"liqwatch: alerts dispatch: {text}\n")
        stream.flush()


def _alert(data: bytes) -> Alert | None:
    from liqwatch.alerts.model import Alert

    try:
        record = orjson.loads(data)
        if not isinstance(record, dict) or record.get("type") != "alert":
            return None
        return Alert.model_validate({k: v for k, v in record.items() if k != "type"})
    except (orjson.JSONDecodeError, ValueError):
        return None


def dispatch_settings(args: argparse.Namespace, config: Config) -> BusConfig:
    """The ``[bus]`` table with ``--source`` over its url."""
    from liqwatch.config import BusConfig

    base = config.bus if config.bus is not None else BusConfig()
    url = args.source or base.url
    if not url:
        raise InputError(FIELD, "say where the bus is: --source nats://HOST:PORT (or url in [bus])")
    try:
        cfg = base.model_copy(update={"url": url})
        BusConfig.model_validate(cfg.model_dump())
    except Exception:
        raise InputError(
            FIELD, f"use nats://HOST:PORT or tls://HOST:PORT with no password in it ({safe_url(str(url))})"
        ) from None
    return cfg


async def run_dispatch(args: argparse.Namespace, config: Config, notifiers: Sequence[Notifier]) -> int:
    from nats.errors import NoRespondersError
    from nats.errors import TimeoutError as NatsTimeout
    from nats.js.errors import NotFoundError, ServiceUnavailableError

    cfg = dispatch_settings(args, config)
    assert cfg.url is not None
    for name, value, low in (("--batch", args.batch, 1), ("--ack-wait", args.ack_wait, 1)):
        if not (value >= low and value < 86_400):
            raise InputError(name, f"must be >= {low} and < 86400, got {value:g}")
    if not (args.since >= 0 and args.since < 31 * 86_400):
        raise InputError("--since", f"must be >= 0 seconds and at most 31 days, got {args.since:g}")
    nc = await connect(cfg, field=FIELD, reconnect=True)
    try:
        js = nc.jetstream(timeout=5.0)
        try:
            await js.stream_info(STREAM)
        except NotFoundError:
            raise InputError(
                FIELD, f"the bus at {safe_url(cfg.url)} has no stream {STREAM}; run `liqwatch bus init URL` once"
            ) from None
        except (NoRespondersError, ServiceUnavailableError):
            raise no_jetstream(cfg.url, FIELD) from None
        except NatsTimeout:
            pass  # no rights to look: the consumer will say
        worker = BusDispatcher(js, notifiers, batch=int(args.batch), ack_wait=args.ack_wait, since=args.since)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        try:
            await worker.run(stop)
        except (NatsTimeout, NoRespondersError) as exc:
            raise InputError(
                FIELD,
                f"the bus at {safe_url(cfg.url)} did not let this dispatcher bind the consumer {DURABLE} on {STREAM} "
                f"({type(exc).__name__}); it needs the JetStream API ($JS.API.>) and acks ($JS.ACK.>)",
            ) from None
        return 0
    finally:
        with contextlib.suppress(Exception):
            await nc.close()
