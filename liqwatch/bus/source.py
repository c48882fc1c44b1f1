"""``liqwatch watch --source URL [--group G ...] [--once]``: the bus back as ``watch``'s JSON lines.

Each record is the line a watcher printed (per account for snapshots) with ``"group"`` added, and
``"replica"`` where the publisher set one. Cold start: the newest snapshot and market line per
subject (``DeliverPolicy.LAST_PER_SUBJECT``), then everything live (alerts and events from now on).
``--once``: the newest snapshot of every account, then exit.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from typing import TYPE_CHECKING, Any, TextIO

import orjson

from liqwatch.bus.connect import bus_config, connect, no_jetstream, safe_url
from liqwatch.bus.names import REPLICA_HEADER, check_name, parse_subject
from liqwatch.core.errors import InputError

if TYPE_CHECKING:
    from nats.js import JetStreamContext

    from liqwatch.config import BusConfig

FIELD = "--source"
HEARTBEAT = 1.0
"""Seconds between the server's idle heartbeats on each reader: two missed (a server restarted, its
ephemeral consumers gone) and nats-py re-creates the consumer from the next stream sequence, so
nothing published meanwhile is skipped."""
EXIT_NO_DATA = 1


def bus_record(subj: str, payload: bytes, headers: dict[str, str] | None) -> dict[str, Any] | None:
    """The record of one bus message with ``group`` (and ``replica``) added; None if not liqwatch's."""
    parsed = parse_subject(subj)
    if parsed is None:
        return None
    try:
        record = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(record, dict):
        return None
    record["group"] = parsed[1]
    replica = (headers or {}).get(REPLICA_HEADER)
    if replica:
        record["replica"] = replica
    return record


def _settings(args: argparse.Namespace) -> tuple[BusConfig, list[str]]:
    groups = [check_name("--group", g) for g in (getattr(args, "group", None) or [])]
    for flag in ("publish", "replica", "quiet"):
        if getattr(args, flag, None):
            raise InputError(f"--{flag}", "not with --source (a reader publishes nothing)")
    return bus_config(field=FIELD, url=args.source, args=args), groups


async def run_source(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from liqwatch.output import write_line

    out = sys.stdout if out is None else out  # the stdout of the call, not of the import
    cfg, groups = _settings(args)
    assert cfg.url is not None
    once = bool(getattr(args, "once", False))
    nc = await connect(cfg, field=FIELD, reconnect=not once)
    try:
        js = nc.jetstream(timeout=5.0)
        await _check(js, cfg.url)

        def emit(record: dict[str, Any]) -> None:
            write_line(out, orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))

        if once:
            return await _once(js, cfg.url, groups, emit)
        await _live(js, groups, emit)
        return 0
    finally:
        with contextlib.suppress(Exception):
            await nc.close()


async def _check(js: JetStreamContext, url: str) -> None:
    from nats.errors import NoRespondersError
    from nats.errors import TimeoutError as NatsTimeout
    from nats.js.errors import NotFoundError, ServiceUnavailableError

    try:
        await js.stream_info("LIQ_SNAP")
    except NotFoundError:
        raise InputError(
            FIELD, f"the bus at {safe_url(url)} has no stream LIQ_SNAP; run `liqwatch bus init URL` once"
        ) from None
    except (NoRespondersError, ServiceUnavailableError):
        raise no_jetstream(url, FIELD) from None
    except NatsTimeout:
        return  # no rights to look: the reads will say


def _filters(kind: str, groups: list[str]) -> list[str]:
    return [f"liqwatch.{kind}.{g}.>" for g in groups] or [f"liqwatch.{kind}.>"]


async def _once(js: JetStreamContext, url: str, groups: list[str], emit: Any) -> int:
    subjects: list[str] = []
    for flt in _filters("snapshot", groups):
        info = await js.stream_info("LIQ_SNAP", subjects_filter=flt)
        subjects.extend((info.state.subjects or {}).keys())
    printed = 0
    for subj in sorted(set(subjects)):
        msg = await js.get_last_msg("LIQ_SNAP", subj)
        record = bus_record(subj, msg.data or b"", msg.headers)
        if record is not None:
            emit(record)
            printed += 1
    if not printed:
        which = f"group {', '.join(groups)}" if groups else "any group"
        sys.stderr.write(
            f"liqwatch: error: --source: no snapshot on the bus at {safe_url(url)} for {which} in the last hour; "
            "start a watcher with `liqwatch watch --publish URL --group G`\n"
        )
        return EXIT_NO_DATA
    return 0


async def _live(js: JetStreamContext, groups: list[str], emit: Any) -> None:
    from nats.aio.msg import Msg
    from nats.js.api import DeliverPolicy

    async def on_msg(msg: Msg) -> None:
        record = bus_record(msg.subject, msg.data, msg.headers)
        if record is not None:
            emit(record)

    subs = []
    for kind, policy in (
        ("snapshot", DeliverPolicy.LAST_PER_SUBJECT),
        ("market", DeliverPolicy.LAST_PER_SUBJECT),
        ("alert", DeliverPolicy.NEW),
        ("event", DeliverPolicy.NEW),
    ):
        for flt in _filters(kind, groups):
            subs.append(
                await js.subscribe(
                    flt, cb=on_msg, ordered_consumer=True, deliver_policy=policy, idle_heartbeat=HEARTBEAT
                )
            )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sub in subs:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()


def main(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(run_source(args))
    except KeyboardInterrupt:
        return 0
