"""Replicas of one group publish each alert once (issue #22).

Two ``watch --publish URL --group G --replica R`` processes watching the same accounts fire the
same alerts (their ids differ: an id hashes the firing time). Before publishing one, a replica
claims its cooldown key in the KV bucket ``liqwatch_claims``, key
``<group>.<sha1(cooldown key)[:20]>``, with ``create`` (a compare-and-set: exactly one replica
wins) and the value ``{"state": "claimed", "id", "replica", "ts", "ttl"}``; the key lives the
rule's cooldown (at least :data:`MIN_TTL`) where the server has per-key TTLs (≥ 2.11), and a claim
older than its ``ttl`` counts as gone where it has not.

* The winner publishes with ``Nats-Msg-Id`` = its id, then sets ``state`` to ``"published"``
  (``update`` with ``last`` = its revision).
* A loser does not publish; its own cooldown runs as if it had (the alert was printed). After
  :data:`TAKEOVER_DELAY` it looks once more: a claim still ``"claimed"`` means the claimant died
  between claim and publish, and the loser takes it over (``update`` with ``last`` = the revision
  it read: of several replicas exactly one wins) and publishes its own alert.

Decisions use ``create``/``update``/``get`` only, never a key listing (``keys()`` is not reliable
in nats-py 2.16).
"""

from __future__ import annotations

import hashlib
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from liqwatch.bus.names import CLAIMS_BUCKET

if TYPE_CHECKING:
    from nats.js import JetStreamContext

TAKEOVER_DELAY = 10.0
"""Seconds a replica that lost a claim waits before it checks the claim was published."""
MIN_TTL = 60.0
"""A claim lives at least this long (a rule with no cooldown still gets one window for the replicas)."""
DIE_AFTER_CLAIM = "LIQWATCH_TEST_DIE_AFTER_CLAIM"
"""Tests only: set to 1, a replica SIGKILLs itself right after its first won claim (a claimant that
dies between claim and publish)."""
_WRONG_LAST = (10071, 10164)
_LAST_HEADER = "Nats-Expected-Last-Subject-Sequence"


def claim_key(group: str, cooldown_key: str) -> str:
    """The KV key of a claim: ``<group>.<sha1(cooldown key)[:20]>``."""
    return f"{group}.{hashlib.sha1(cooldown_key.encode()).hexdigest()[:20]}"


def claim_ttl(cooldown: float, takeover_delay: float) -> float:
    return max(cooldown, MIN_TTL, 3 * takeover_delay)


@dataclass(frozen=True, slots=True)
class Claim:
    """What a claim attempt found: ``won`` (then ``revision`` is ours), else another replica's."""

    won: bool
    revision: int | None
    holder: dict[str, Any] | None = None


class Claims:
    """The claims of one replica in ``liqwatch_claims``."""

    def __init__(
        self,
        js: JetStreamContext,
        group: str,
        replica: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.js = js
        self.group = group
        self.replica = replica
        self.clock = clock
        self.die_after_claim = os.environ.get(DIE_AFTER_CLAIM) == "1"
        self._kv: Any = None

    def _value(self, state: str, alert_id: str, ttl: float) -> bytes:
        return orjson.dumps({"state": state, "id": alert_id, "replica": self.replica, "ts": self.clock(), "ttl": ttl})

    async def _write(self, key: str, value: bytes, last: int, ttl: float) -> int | None:
        """Compare-and-set ``key`` (``last`` = 0: create); its new revision, or None when ``last``
        is not the key's revision any more (another replica was first)."""
        from nats.js.errors import APIError

        headers = {_LAST_HEADER: str(last)}
        try:
            ack = await self.js.publish(f"$KV.{CLAIMS_BUCKET}.{key}", value, headers=headers, msg_ttl=ttl)
        except APIError as exc:
            if exc.err_code in _WRONG_LAST:
                return None
            raise
        return int(ack.seq)

    async def _read(self, key: str) -> tuple[int, dict[str, Any]] | None:
        from nats.js.errors import KeyNotFoundError

        if self._kv is None:
            self._kv = await self.js.key_value(CLAIMS_BUCKET)
        try:
            entry = await self._kv.get(key)
        except KeyNotFoundError:
            return None
        try:
            value = orjson.loads(entry.value or b"")
        except orjson.JSONDecodeError:
            value = None
        return int(entry.revision or 0), value if isinstance(value, dict) else {}

    def _expired(self, value: dict[str, Any]) -> bool:
        ts, ttl = value.get("ts"), value.get("ttl")
        if not isinstance(ts, int | float) or not isinstance(ttl, int | float):
            return False
        return self.clock() - ts > ttl

    async def claim(self, key: str, alert_id: str, ttl: float) -> Claim:
        """Claim ``key`` for ``alert_id``. Won also when the claim already holds ``alert_id`` (a
        retry after a lost answer) or has outlived its ``ttl`` (a server without per-key TTLs)."""
        for _ in range(3):
            revision = await self._write(key, self._value("claimed", alert_id, ttl), 0, ttl)
            if revision is not None:
                if self.die_after_claim:
                    os.kill(os.getpid(), signal.SIGKILL)
                return Claim(True, revision)
            found = await self._read(key)
            if found is None:  # gone between the two requests (its TTL): try again
                continue
            revision, value = found
            if value.get("id") == alert_id:
                return Claim(True, revision, value)
            if self._expired(value):
                mine = await self._write(key, self._value("claimed", alert_id, ttl), revision, ttl)
                if mine is not None:
                    return Claim(True, mine)
                continue
            return Claim(False, revision, value)
        return Claim(False, None)

    async def published(self, key: str, alert_id: str, revision: int, ttl: float) -> None:
        """Mark our claim published (``last`` = our revision; if it was taken over meanwhile, the
        taker's claim stays)."""
        await self._write(key, self._value("published", alert_id, ttl), revision, ttl)

    async def take_over(self, key: str, alert_id: str, ttl: float, older_than: float) -> bool:
        """The second look of a replica that lost ``key``: True if the claim, made at least
        ``older_than`` seconds ago, was never published (or vanished), and this replica now holds
        it for ``alert_id``. A claim younger than that (another replica's fresh takeover) is left."""
        found = await self._read(key)
        if found is None:
            return await self._write(key, self._value("claimed", alert_id, ttl), 0, ttl) is not None
        revision, value = found
        if value.get("id") == alert_id:
            return True
        if value.get("state") == "published":
            return False
        ts = value.get("ts")
        if isinstance(ts, int | float) and self.clock() - ts < older_than:
            return False
        return await self._write(key, self._value("claimed", alert_id, ttl), revision, ttl) is not None
