"""Subjects, streams and KV buckets of the bus (the design in issue #22), and the name rule.

Subjects put the kind first (one stream and retention per kind) and the group second (one
permission line scopes a shard): ``liqwatch.<kind>.<group>.<account>``, ``<exchange>`` in place of
the account for market lines. Symbols never go into subjects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from liqwatch.core.errors import InputError

NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""Group, replica and account names on the bus (subject tokens)."""

PREFIX = "liqwatch"
KINDS = ("snapshot", "alert", "event", "market")
WATCHER = "_watcher"
"""The subject token of a watcher's own event lines (a warning with no account)."""

SCHEMA = "1"
SCHEMA_HEADER = "Liqwatch-Schema"
REPLICA_HEADER = "Liqwatch-Replica"
MSG_ID_HEADER = "Nats-Msg-Id"


def check_name(field: str, value: str) -> str:
    """``value`` if it is a valid bus name, else an InputError naming ``field`` and the value."""
    if not NAME.fullmatch(value):
        raise InputError(field, f"{value!r} is not a valid bus name (1-64 of A-Z a-z 0-9 _ -)")
    return value


def subject(kind: str, group: str, key: str) -> str:
    return f"{PREFIX}.{kind}.{group}.{key}"


def parse_subject(subj: str) -> tuple[str, str, str] | None:
    """``(kind, group, key)`` of a liqwatch subject, else None."""
    parts = subj.split(".")
    if len(parts) != 4 or parts[0] != PREFIX:
        return None
    return parts[1], parts[2], parts[3]


DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class StreamSpec:
    name: str
    subjects: tuple[str, ...]
    max_age: float
    """Seconds."""
    max_msgs_per_subject: int = -1
    max_bytes: int = -1
    duplicate_window: float = 120.0
    allow_direct: bool = False


STREAMS: tuple[StreamSpec, ...] = (
    StreamSpec("LIQ_SNAP", ("liqwatch.snapshot.>", "liqwatch.market.>"), 3_600.0, 10, allow_direct=True),
    StreamSpec("LIQ_ALERT", ("liqwatch.alert.>",), 30 * DAY, duplicate_window=120.0),
    StreamSpec("LIQ_EVENT", ("liqwatch.event.>",), 7 * DAY, max_bytes=1 << 30),
)
"""Retention as the design in issue #22 proposes: snapshots and market lines keep the newest 10 per
subject for an hour (a dashboard's cold start reads the last one), alerts 30 days with a 2-minute
duplicate window (``Nats-Msg-Id`` = the alert's id: a retried publish is stored once), events a
week, capped at 1 GiB."""


@dataclass(frozen=True, slots=True)
class BucketSpec:
    name: str
    history: int
    ttl: float | None
    """Seconds a key lives (the bucket's max age), or None."""


CLAIMS_BUCKET = "liqwatch_claims"
BUCKETS: tuple[BucketSpec, ...] = (
    BucketSpec(CLAIMS_BUCKET, 1, None),
    BucketSpec("liqwatch_presence", 1, 15.0),
)
"""``liqwatch_claims``: the cross-replica alert claims (compare-and-set; per-key TTL = a rule's
cooldown); ``liqwatch_presence``: each replica's heartbeat, gone after 15 s."""
