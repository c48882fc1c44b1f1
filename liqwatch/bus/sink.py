"""``liqwatch watch --publish URL --group G``: the bus as one more sink (issue #22).

Every record ``watch`` prints goes to ``liqwatch.<kind>.<group>.<account>`` (``<exchange>`` for
market lines, ``_watcher`` for a watcher's own warnings), with the very bytes stdout prints; a
snapshot is split into one record per account (same keys, ``accounts`` and ``positions`` holding
that account's entries). Headers: ``Liqwatch-Schema: 1``, ``Liqwatch-Replica`` where set, and
``Nats-Msg-Id`` (an alert's ``id``; an event's content hash) so a retried publish is stored once.

Alerts and events wait in a bounded outbox while the bus is down and are published on reconnect,
in order; alerts are never dropped (a full outbox drops its oldest event, counted). Snapshots and
market lines wait in their own buffer, dropped oldest first when it is full (counted): the next
second brings newer ones.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TextIO

import orjson

from liqwatch.bus.connect import bus_config, connect, safe_url
from liqwatch.bus.names import (
    MSG_ID_HEADER,
    REPLICA_HEADER,
    SCHEMA,
    SCHEMA_HEADER,
    STREAMS,
    WATCHER,
    check_name,
    subject,
)
from liqwatch.core.errors import InputError

if TYPE_CHECKING:
    from nats.aio.client import Client
    from nats.js import JetStreamContext

    from liqwatch.bus.claims import Claims
    from liqwatch.config import BusConfig, Config
    from liqwatch.feeds.base import Feed

PUBLISH_TIMEOUT = 2.0
RETRY_WAIT = 0.5
DRAIN_TIMEOUT = 5.0
OUTBOX_LIMIT = 10_000
SNAPSHOT_LIMIT = 1_000
PRESENCE_BUCKET = "liqwatch_presence"
PRESENCE_EVERY = 5.0
"""Seconds between a watcher's presence puts (a third of the bucket's max age where shorter)."""
_NEWLINE = orjson.OPT_APPEND_NEWLINE


@dataclass(frozen=True, slots=True)
class BusMessage:
    subject: str
    payload: bytes
    msg_id: str | None
    alert: bool = False
    claim: tuple[str, float] | None = None
    """A replica's alert: its claim's KV key and TTL (:mod:`liqwatch.bus.claims`)."""


def split_snapshot(record: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """``(account, record)`` per account of a snapshot line, the same keys in the same order."""
    by_account: dict[str, list[Any]] = {}
    for position in record.get("positions", ()):
        by_account.setdefault(str(position.get("account")), []).append(position)
    out = []
    for account in record.get("accounts", ()):
        name = str(account.get("account"))
        part: dict[str, Any] = {}
        for key, value in record.items():
            if key == "accounts":
                part[key] = [account]
            elif key == "positions":
                part[key] = by_account.get(name, [])
            else:
                part[key] = value
        out.append((name, part))
    return out


def messages(record: dict[str, Any], line: bytes, group: str) -> list[BusMessage]:
    """The bus messages of one ``watch`` line (empty for a kind the bus does not carry)."""
    kind = record.get("type")
    if kind == "snapshot":
        return [
            BusMessage(subject("snapshot", group, name), orjson.dumps(part, option=_NEWLINE), None)
            for name, part in split_snapshot(record)
        ]
    if kind == "market":
        return [BusMessage(subject("market", group, str(record.get("exchange"))), line, None)]
    if kind == "alert":
        return [BusMessage(subject("alert", group, str(record.get("account"))), line, str(record["id"]), alert=True)]
    if kind == "event":
        account = record.get("account") or WATCHER
        return [BusMessage(subject("event", group, str(account)), line, hashlib.sha1(line).hexdigest())]
    return []


RECHECK_GRACE = 2.0
"""Seconds past the takeover delay a stopping replica waits for its pending claim re-checks (an
alert whose claimant died is taken over and published, not lost with the replica that saw it)."""


class BusSink:
    """Publishes ``watch``'s records on JetStream; see the module's docstring."""

    def __init__(
        self,
        cfg: BusConfig,
        group: str,
        replica: str | None,
        err: TextIO | None = None,
        *,
        outbox_limit: int = OUTBOX_LIMIT,
        snapshot_limit: int = SNAPSHOT_LIMIT,
        takeover_delay: float | None = None,
    ) -> None:
        from liqwatch.bus.claims import TAKEOVER_DELAY

        self.cfg = cfg
        self.group = group
        self.replica = replica
        self.err = err
        self.outbox: deque[BusMessage] = deque()
        self.snapshots: deque[BusMessage] = deque()
        self.outbox_limit = outbox_limit
        self.snapshot_limit = snapshot_limit
        self.dropped_snapshots = 0
        self.dropped_events = 0
        self.published = 0
        self.too_large = 0
        self._said_too_large: set[str] = set()
        self._headers: dict[str, str] = {SCHEMA_HEADER: SCHEMA}
        if replica:
            self._headers[REPLICA_HEADER] = replica
        self._wake = asyncio.Event()
        self._connected = asyncio.Event()
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._task: asyncio.Task[None] | None = None
        self._skipped: set[str] = set()
        self._said_no_stream = False
        self.accounts: list[str] = []
        """The accounts this watcher publishes (its presence value says them)."""
        self.presence_puts = 0
        self._presence_task: asyncio.Task[None] | None = None
        self.takeover_delay = TAKEOVER_DELAY if takeover_delay is None else takeover_delay
        self.suppressed = 0
        """Alerts another replica of the group claimed first (not published by this one)."""
        self.taken_over = 0
        """Claims of a replica that died before publishing, taken over and published by this one."""
        self._claim_of: Callable[[str], tuple[str, float] | None] | None = None
        self._on_suppressed: Callable[[str], None] | None = None
        self._on_published: Callable[[str], None] | None = None
        self._claims: Claims | None = None
        self._revisions: dict[str, int] = {}
        self._rechecks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        assert self.cfg.url is not None

        async def down() -> None:
            self._connected.clear()

        async def up() -> None:
            self._connected.set()
            self._wake.set()

        self._nc = await connect(
            self.cfg,
            field="--publish",
            reconnect=True,
            on_disconnect=down,
            on_reconnect=up,
            publish_check=f"liqwatch.probe.{self.group}.{self.replica or '_'}",
        )
        self._js = self._nc.jetstream(timeout=PUBLISH_TIMEOUT)
        await self._check_streams()
        if self.replica:
            from liqwatch.bus.claims import Claims

            await self._check_claims()
            self._claims = Claims(self._js, self.group, self.replica)
        self._connected.set()
        self._task = asyncio.create_task(self._pump(), name="liqwatch-bus-publish")
        self._presence_task = asyncio.create_task(self._presence(), name="liqwatch-bus-presence")

    async def _presence(self) -> None:
        """Re-put ``<group>.<replica>`` in the presence bucket (a third of its max age, at most
        :data:`PRESENCE_EVERY` apart): a dashboard shows the group STALE once every key is gone."""
        from liqwatch import __version__

        assert self._js is not None
        key = f"{self.group}.{self.replica or 'default'}"
        every = PRESENCE_EVERY
        kv = None
        while True:
            try:
                if kv is None:
                    kv = await self._js.key_value(PRESENCE_BUCKET)
                    ttl = (await kv.status()).ttl
                    if ttl:
                        every = min(PRESENCE_EVERY, float(ttl) / 3)
                value = {"group": self.group, "replica": self.replica, "version": __version__}
                await kv.put(key, orjson.dumps({**value, "accounts": self.accounts, "ts": time.time()}))
                self.presence_puts += 1
            except asyncio.CancelledError:
                raise
            except Exception:  # bus down, no bucket (bus init) or no rights: tried again
                pass
            await asyncio.sleep(every)

    async def _check_streams(self) -> None:
        """Refuse at start when ``bus init`` was never run (a watcher without the rights to ask is let through)."""
        from nats.js.errors import NotFoundError

        assert self._js is not None and self.cfg.url is not None
        for spec in STREAMS:
            try:
                await self._js.stream_info(spec.name)
            except NotFoundError:
                await self._close_connection()
                raise InputError(
                    "--publish",
                    f"the bus at {safe_url(self.cfg.url)} has no stream {spec.name}; "
                    "run `liqwatch bus init URL` once (JetStream admin rights)",
                ) from None
            except Exception:  # no rights to look: the publishes will say
                return

    async def _check_claims(self) -> None:
        """A replica needs the claims bucket: refused at start when ``bus init`` never made it."""
        from nats.js.errors import BucketNotFoundError

        from liqwatch.bus.names import CLAIMS_BUCKET

        assert self._js is not None and self.cfg.url is not None
        try:
            await self._js.key_value(CLAIMS_BUCKET)
        except BucketNotFoundError:
            await self._close_connection()
            raise InputError(
                "--replica",
                f"the bus at {safe_url(self.cfg.url)} has no KV bucket {CLAIMS_BUCKET} for the replicas' claims; "
                "run `liqwatch bus init URL` once (JetStream admin rights)",
            ) from None
        except Exception:  # no rights to look: the claims will say
            return

    def claims_from(
        self,
        claim_of: Callable[[str], tuple[str, float] | None],
        on_suppressed: Callable[[str], None],
        on_published: Callable[[str], None] | None = None,
    ) -> bool:
        """With a replica name: claim each alert before publishing it. ``claim_of(alert id)`` gives
        its cooldown key and cooldown (the engine's :meth:`~liqwatch.alerts.engine.AlertEngine.claim`),
        ``on_suppressed(alert id)`` runs when another replica claimed it first, ``on_published(alert
        id)`` once this replica published it (its claim won, or taken over). True if claims are on."""
        if self.replica:
            self._claim_of = claim_of
            self._on_suppressed = on_suppressed
            self._on_published = on_published
        return bool(self.replica)

    def write(self, record: dict[str, Any], line: bytes) -> None:
        for message in messages(record, line, self.group):
            account = message.subject.rsplit(".", 1)[1]
            if account != WATCHER and not _valid(account):
                if account not in self._skipped:  # a replay's account: its name cannot be a subject
                    self._skipped.add(account)
                    self._say(f"account {account!r} is not a valid bus name: its records are not published")
                continue
            if message.msg_id is None:
                if len(self.snapshots) >= self.snapshot_limit:
                    self.snapshots.popleft()
                    self.dropped_snapshots += 1
                self.snapshots.append(message)
            else:
                claimed = self._with_claim(message) if message.alert and self._claim_of is not None else message
                if len(self.outbox) >= self.outbox_limit:
                    self._drop_oldest_event()
                self.outbox.append(claimed)
        self._wake.set()

    def _drop_oldest_event(self) -> None:
        for i, queued in enumerate(self.outbox):
            if not queued.alert:
                del self.outbox[i]
                self.dropped_events += 1
                return
        # only alerts: they are never dropped (the outbox grows past its bound)

    async def _pump(self) -> None:
        from nats.errors import NoRespondersError

        assert self._js is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self.outbox or self.snapshots:
                await self._connected.wait()
                queue = self.outbox if self.outbox else self.snapshots
                message = queue[0]
                if self._too_large(message):
                    queue.popleft()
                    continue
                headers = dict(self._headers)
                if message.msg_id is not None:
                    headers[MSG_ID_HEADER] = message.msg_id
                try:
                    if message.claim is not None and not await self._claimed(message):
                        if queue and queue[0] is message:
                            queue.popleft()
                        continue
                    await self._js.publish(message.subject, message.payload, headers=headers)
                except asyncio.CancelledError:
                    raise
                except NoRespondersError:
                    if not self._said_no_stream:
                        self._said_no_stream = True
                        self._say(f"no stream stores {message.subject}: run `liqwatch bus init URL`; retrying")
                    await self._retry_wait()
                    continue
                except Exception:  # a timeout or a drop: kept at the head, tried again once connected
                    await self._retry_wait()
                    continue
                if queue and queue[0] is message:
                    queue.popleft()
                self.published += 1
                if message.claim is not None:
                    if self._on_published is not None and message.msg_id is not None:
                        with contextlib.suppress(Exception):
                            self._on_published(message.msg_id)
                    await self._mark_published(message)

    def _with_claim(self, message: BusMessage) -> BusMessage:
        from liqwatch.bus.claims import claim_key, claim_ttl

        assert self._claim_of is not None and message.msg_id is not None
        found = self._claim_of(message.msg_id)
        if found is None:  # not the engine's (cannot happen in `watch`): published unclaimed
            return message
        key, cooldown = found
        return replace(message, claim=(claim_key(self.group, key), claim_ttl(cooldown, self.takeover_delay)))

    async def _claimed(self, message: BusMessage) -> bool:
        """Claim ``message``'s alert; False (and a second look scheduled) if another replica holds it."""
        assert self._claims is not None and message.claim is not None and message.msg_id is not None
        key, ttl = message.claim
        claim = await self._claims.claim(key, message.msg_id, ttl)
        if claim.won:
            assert claim.revision is not None
            self._revisions[message.msg_id] = claim.revision
            return True
        self.suppressed += 1
        if self._on_suppressed is not None:
            with contextlib.suppress(Exception):
                self._on_suppressed(message.msg_id)
        task = asyncio.create_task(self._recheck(message), name="liqwatch-bus-claim-recheck")
        self._rechecks.add(task)
        task.add_done_callback(self._rechecks.discard)
        return False

    async def _recheck(self, message: BusMessage) -> None:
        """After the takeover delay: a claim still not published is taken over, the alert queued again."""
        assert self._claims is not None and message.claim is not None and message.msg_id is not None
        await asyncio.sleep(self.takeover_delay)
        key, ttl = message.claim
        for _ in range(10):
            await self._connected.wait()
            try:
                mine = await self._claims.take_over(key, message.msg_id, ttl, self.takeover_delay)
            except asyncio.CancelledError:
                raise
            except Exception:
                await self._retry_wait()
                continue
            if mine:
                self.taken_over += 1
                self.outbox.appendleft(message)
                self._wake.set()
            return

    async def _mark_published(self, message: BusMessage) -> None:
        assert self._claims is not None and message.claim is not None and message.msg_id is not None
        revision = self._revisions.pop(message.msg_id, None)
        if revision is None:
            return
        key, ttl = message.claim
        for _ in range(3):
            try:
                await self._claims.published(key, message.msg_id, revision, ttl)
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                await self._retry_wait()

    def _too_large(self, message: BusMessage) -> bool:
        """A record over the server's ``max_payload`` can never be published: it is skipped (counted,
        said once per subject) rather than blocking the queue."""
        limit = self._nc.max_payload if self._nc is not None else 0
        if not limit or len(message.payload) + 512 <= limit:  # 512: room for the headers
            return False
        self.too_large += 1
        if message.subject not in self._said_too_large:
            self._said_too_large.add(message.subject)
            self._say(
                f"{message.subject}: a record of {len(message.payload):,} bytes is over the server's max_payload "
                f"({limit:,}); raise max_payload in the nats-server config (its records are not published)"
            )
        return True

    async def _retry_wait(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.Event().wait(), timeout=RETRY_WAIT)

    async def flushed(self, timeout: float, *, alerts_only: bool = False) -> bool:
        """Wait until nothing is pending (``alerts_only``: no alert or event), or ``timeout``;
        True when all went out."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.outbox or (self.snapshots and not alerts_only):
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(0.02)
        return True

    async def close(self) -> None:
        """Publish what is pending: alerts and events for up to :data:`DRAIN_TIMEOUT` even while
        the bus is down (it may be back in time), then the snapshots if connected; then say on
        stderr what could not go out."""
        if self._presence_task is not None:
            self._presence_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._presence_task
            self._presence_task = None
        if self._rechecks:  # a claim another replica may have died on: look again before leaving
            await asyncio.wait(list(self._rechecks), timeout=self.takeover_delay + RECHECK_GRACE)
        if self._task is not None:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + DRAIN_TIMEOUT
            await self.flushed(DRAIN_TIMEOUT, alerts_only=True)
            if self._connected.is_set():
                await self.flushed(max(0.0, deadline - loop.time()))
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for task in list(self._rechecks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._close_connection()
        if self.outbox:
            alerts = sum(1 for m in self.outbox if m.alert)
            self._say(f"{alerts} alerts and {len(self.outbox) - alerts} events not published (the bus is unreachable)")
        if self.dropped_snapshots or self.dropped_events:
            self._say(
                f"{self.dropped_snapshots} snapshot/market records and {self.dropped_events} events dropped "
                "while the bus was down (buffers full)"
            )

    async def _close_connection(self) -> None:
        nc, self._nc = self._nc, None
        if nc is not None:
            with contextlib.suppress(Exception):
                await nc.close()

    def _say(self, text: str) -> None:
        stream = sys.stderr if self.err is None else self.err
        stream.write(f"liqwatch: bus: {text}\n")
        stream.flush()


def _valid(name: str) -> bool:
    from liqwatch.bus.names import NAME

    return NAME.fullmatch(name) is not None


def known_accounts(feeds: Sequence[Feed], config: Config | None) -> list[str]:
    """The account names known before any data: the config's, or the demo market's."""
    if config is not None:
        return [account.name for account in config.accounts]
    names: list[str] = []
    for feed in feeds:
        market = getattr(feed, "market", None)
        names.extend(str(account.name) for account in getattr(market, "accounts", ()))
    return names


def bus_settings(args: argparse.Namespace, config: Config | None) -> tuple[BusConfig, str, str | None]:
    """The ``[bus]`` table with the flags over it, its group and replica, names checked."""
    from liqwatch.config import BusConfig

    base = config.bus if config is not None and config.bus is not None else BusConfig()
    url = getattr(args, "publish", None) or base.url
    groups = getattr(args, "group", None) or ([base.group] if base.group else [])
    if not groups:
        raise InputError("--group", "--publish needs --group G (or group in [bus]): the shard's name on the bus")
    if len(groups) > 1:
        raise InputError("--group", f"--publish takes one group, got {len(groups)}")
    group = check_name("--group", groups[0])
    replica = getattr(args, "replica", None) or base.replica
    if replica is not None:
        check_name("--replica", replica)
    cfg = bus_config(field="--publish", url=url, table=base, args=args, group=group, replica=replica)
    return cfg, group, replica


async def open_bus_sink(
    args: argparse.Namespace, config: Config | None, feeds: Sequence[Feed], err: TextIO | None = None
) -> BusSink:
    cfg, group, replica = bus_settings(args, config)
    for name in known_accounts(feeds, config):
        if not _valid(name):
            raise InputError(
                "accounts", f"{name!r} is not a valid bus name (1-64 of A-Z a-z 0-9 _ -); rename it to publish it"
            )
    delay = getattr(args, "takeover_delay", None)
    if delay is not None and not (0 < delay < 3_600):
        raise InputError("--takeover-delay", f"must be > 0 and < 3600 seconds, got {delay:g}")
    sink = BusSink(cfg, group, replica, err, takeover_delay=delay)
    sink.accounts = known_accounts(feeds, config)
    await sink.start()
    return sink
