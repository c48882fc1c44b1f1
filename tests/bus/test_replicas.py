"""Two replicas of one group through the demo crash publish each alert once (issue #22): the claims
in ``liqwatch_claims``, a replica SIGKILLed mid-crash, a claimant killed between claim and publish."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from liqwatch.bus.claims import DIE_AFTER_CLAIM, Claims, claim_key
from tests.bus.conftest import NatsServer
from tests.bus.test_publish import init, read

ROOT = Path(__file__).resolve().parents[2]
DEMO = ["watch", "--demo", "--speed", "20", "--interval", "0.1", "--no-market"]
PAST_THE_CRASH = 50
"""Snapshots (0.1 s apart at 20x: 100 simulated seconds, the demo's ticks and snapshots as at 10x
and 0.2 s, in half the time) after which the crash and its rebound are over."""
TIMEOUT = 90.0


def key_of(record: dict[str, Any]) -> tuple[Any, ...]:
    """What stands for an alert's cooldown key in its record (the demo runs far shorter than any
    cooldown, so one window)."""
    return (record["account"], record["symbol"], record["side"], record["rule"], record["level"])


class Replica:
    """``watch --demo --publish URL --group g --replica NAME`` as a process; the alerts it printed."""

    def __init__(self, url: str, name: str, env: dict[str, str] | None = None) -> None:
        argv = [sys.executable, "-m", "liqwatch.cli", *DEMO, "--publish", url, "--group", "g", "--replica", name]
        self.proc = subprocess.Popen(
            [*argv, "--takeover-delay", "0.5"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, **(env or {})},
        )
        self.alerts: list[dict[str, Any]] = []
        self.lines: list[bytes] = []
        self.snapshots = 0
        self.changed = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            record = orjson.loads(line)
            with self.changed:
                if record["type"] == "alert":
                    self.alerts.append(record)
                    self.lines.append(line)
                elif record["type"] == "snapshot":
                    self.snapshots += 1
                self.changed.notify_all()
        with self.changed:
            self.changed.notify_all()

    def alert_keys(self) -> set[tuple[Any, ...]]:
        with self.changed:
            return {key_of(r) for r in self.alerts}

    def wait(self, until: Callable[[], bool], timeout: float = TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        with self.changed:
            while not until():
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self.reader.is_alive()):
                    break
                self.changed.wait(min(left, 0.2))
        assert until(), f"timed out; stderr: {self.stop()}"

    def stop(self, sig: int = signal.SIGINT) -> str:
        """End it by its PID (SIGINT: it drains its outbox first); its stderr."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.reader.join(timeout=10)
        assert self.proc.stderr is not None
        return self.proc.stderr.read().decode()


@pytest.fixture
def replicas() -> Iterator[list[Replica]]:
    started: list[Replica] = []
    try:
        yield started
    finally:
        for replica in started:
            if replica.proc.poll() is None:
                os.kill(replica.proc.pid, signal.SIGKILL)
                replica.proc.wait()


def stored(url: str) -> list[tuple[dict[str, Any], bytes, dict[str, str]]]:
    return [(orjson.loads(p), p, h) for _, p, h in read(url, "LIQ_ALERT")]


def assert_each_key_once(
    url: str, printed: set[tuple[Any, ...]], lines: set[bytes], killed: frozenset[str] = frozenset()
) -> list[dict[str, str]]:
    """Every key of ``printed`` is in LIQ_ALERT, each key there exactly once, each as a line a
    replica printed; the headers. A replica in ``killed`` was SIGKILLed: what it published last may
    be a line still in its own stdout buffer, lost with the process, so only its keys are counted."""
    alerts = stored(url)
    counts = Counter(key_of(r) for r, _, _ in alerts)
    assert [k for k, n in counts.items() if n > 1] == []
    assert printed <= set(counts), printed - set(counts)
    assert all(payload in lines for _, payload, h in alerts if h.get("Liqwatch-Replica") not in killed)
    return [h for _, _, h in alerts]


def test_the_claim_key_and_a_create_race_with_one_winner(nats_server: NatsServer) -> None:
    """The KV key is ``<group>.<sha1(cooldown key)[:20]>``; of two replicas claiming 50 keys at
    once each key has one owner; the loser's takeover of a published claim fails, of a claim still
    ``claimed`` succeeds once."""
    import hashlib

    import nats

    init(nats_server.url)
    assert claim_key("g", "acct\x1fBTC") == "g." + hashlib.sha1(b"acct\x1fBTC").hexdigest()[:20]

    async def go() -> None:
        a_nc, b_nc = await nats.connect(nats_server.url), await nats.connect(nats_server.url)
        try:
            a, b = Claims(a_nc.jetstream(), "g", "a"), Claims(a_nc.jetstream(), "g", "b")  # one socket: in order
            keys = [claim_key("g", f"key-{n}") for n in range(50)]
            attempts = []
            for n, k in enumerate(keys):  # interleaved, b first on every other key
                pair = [a.claim(k, f"a-{n}", 60.0), b.claim(k, f"b-{n}", 60.0)]
                attempts += pair if n % 2 == 0 else pair[::-1]
            raw = await asyncio.gather(*attempts)
            results = [raw[2 * n] if n % 2 == 0 else raw[2 * n + 1] for n in range(50)]
            results += [raw[2 * n + 1] if n % 2 == 0 else raw[2 * n] for n in range(50)]
            for n in range(50):
                assert results[n].won != results[50 + n].won
            # a retry of the same alert is still the owner's
            first = next(n for n in range(50) if results[n].won)
            assert (await a.claim(keys[first], f"a-{first}", 60.0)).won
            # published: no takeover; still claimed (the owner died): one of two takers wins
            won = results[first]
            assert won.revision is not None
            await a.published(keys[first], f"a-{first}", won.revision, 60.0)
            assert not await b.take_over(keys[first], f"b-{first}", 60.0, 0.0)
            other = next(n for n in range(50) if results[50 + n].won)
            assert not await a.take_over(keys[other], f"a-{other}", 60.0, 5.0)  # too young: b may still publish
            later = time.time() + 10  # two takers, 10 s on: one wins, the other finds a fresh claim
            a_late = Claims(a_nc.jetstream(), "g", "a", clock=lambda: later)
            c_late = Claims(b_nc.jetstream(), "g", "c", clock=lambda: later)
            takers = await asyncio.gather(
                a_late.take_over(keys[other], f"a-{other}", 60.0, 5.0),
                c_late.take_over(keys[other], f"c-{other}", 60.0, 5.0),
            )
            assert sorted(takers) == [False, True]
            kv = await a_nc.jetstream().key_value("liqwatch_claims")
            value = orjson.loads((await kv.get(keys[first])).value or b"")
            assert value["state"] == "published" and value["id"] == f"a-{first}" and value["replica"] == "a"
            assert set(value) == {"state", "id", "replica", "ts", "ttl"}
        finally:
            await a_nc.close()
            await b_nc.close()

    asyncio.run(go())


def test_a_claim_lives_the_cooldown_then_the_next_window_is_claimable(nats_server: NatsServer) -> None:
    """The per-key TTL (server >= 2.11): a claim is gone after its TTL, so the next episode of the
    same cooldown key is claimed afresh (polled, no fixed sleep)."""
    import nats

    init(nats_server.url)

    async def go() -> None:
        nc = await nats.connect(nats_server.url)
        try:
            a, b = Claims(nc.jetstream(), "g", "a"), Claims(nc.jetstream(), "g", "b")
            assert (await a.claim("g.k", "a-1", 1.0)).won
            assert not (await b.claim("g.k", "b-1", 1.0)).won
            deadline = time.monotonic() + 10
            while not (claim := await b.claim("g.k", "b-2", 1.0)).won and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            assert claim.won
        finally:
            await nc.close()

    asyncio.run(go())


@pytest.mark.slow
def test_two_replicas_through_the_demo_crash_publish_each_alert_once(
    nats_server: NatsServer, replicas: list[Replica]
) -> None:
    init(nats_server.url)
    a = Replica(nats_server.url, "a")
    b = Replica(nats_server.url, "b")
    replicas += [a, b]
    a.wait(lambda: a.snapshots >= PAST_THE_CRASH)
    b.wait(lambda: b.snapshots >= PAST_THE_CRASH)
    errors = a.stop(), b.stop()
    assert (a.proc.returncode, b.proc.returncode) == (0, 0), errors
    printed = a.alert_keys() | b.alert_keys()
    assert len(a.alert_keys()) >= 10 and len(b.alert_keys()) >= 10  # the crash fired both (the same keys, give or take
    # a level a replica's ticks stepped over)
    headers = assert_each_key_once(nats_server.url, printed, set(a.lines) | set(b.lines))
    assert len(headers) == len(printed)
    assert {h["Liqwatch-Replica"] for h in headers} <= {"a", "b"}


@pytest.mark.slow
def test_a_replica_killed_mid_crash_loses_no_alert(nats_server: NatsServer, replicas: list[Replica]) -> None:
    init(nats_server.url)
    a = Replica(nats_server.url, "a")
    b = Replica(nats_server.url, "b")
    replicas += [a, b]
    a.wait(lambda: len(a.alerts) >= 1)  # the crash has begun
    a.stop(signal.SIGKILL)
    b.wait(lambda: b.snapshots >= PAST_THE_CRASH)
    err = b.stop()
    assert b.proc.returncode == 0, err
    assert len(b.alert_keys()) >= 10
    # the survivor's alerts all stored (a's claims it never published taken over), none twice; what a
    # printed before it died is stored too wherever b saw the same alert
    assert_each_key_once(nats_server.url, b.alert_keys(), set(a.lines) | set(b.lines), killed=frozenset({"a"}))


@pytest.mark.slow
def test_a_claimant_killed_between_claim_and_publish_is_taken_over(
    nats_server: NatsServer, replicas: list[Replica]
) -> None:
    """Replica a claims its first alert and dies before publishing it (the test hook); replica b
    fires the same alert, loses the claim, looks again after its takeover delay, takes the claim
    over and publishes its own alert: once, and a's never."""
    init(nats_server.url)
    a = Replica(nats_server.url, "a", {DIE_AFTER_CLAIM: "1"})
    replicas.append(a)
    a.wait(lambda: a.proc.poll() is not None)
    assert a.proc.returncode == -signal.SIGKILL
    assert a.alerts, "a died before printing an alert"
    assert stored(nats_server.url) == []
    claimed = key_of(a.alerts[0])  # the first alert printed is the first claimed
    b = Replica(nats_server.url, "b")
    replicas.append(b)
    b.wait(lambda: b.snapshots >= PAST_THE_CRASH)
    deadline = time.monotonic() + TIMEOUT
    while claimed not in {key_of(r) for r, _, _ in stored(nats_server.url)} and time.monotonic() < deadline:
        time.sleep(0.1)  # polling the stream, bounded
    err = b.stop()
    assert b.proc.returncode == 0, err
    alerts = stored(nats_server.url)
    assert [h["Liqwatch-Replica"] for r, _, h in alerts if key_of(r) == claimed] == ["b"]
    assert_each_key_once(nats_server.url, b.alert_keys(), set(b.lines))
    assert {r["id"] for r, _, _ in alerts}.isdisjoint({r["id"] for r in a.alerts})


def test_a_replica_without_the_claims_bucket_or_with_a_bad_delay_is_refused(
    nats_server: NatsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    import nats

    from tests.bus.test_publish import run_cli

    init(nats_server.url)

    async def drop_bucket() -> None:
        nc = await nats.connect(nats_server.url)
        try:
            await nc.jetstream().delete_key_value("liqwatch_claims")
        finally:
            await nc.close()

    watch = ["watch", "--demo", "--once", "--no-market", "--publish", nats_server.url, "--group", "g"]
    assert run_cli(capsys, *watch, "--replica", "a", "--takeover-delay", "0") == (
        2,
        "",
        "liqwatch: error: --takeover-delay: must be > 0 and < 3600 seconds, got 0\n",
    )
    asyncio.run(drop_bucket())
    assert run_cli(capsys, *watch, "--replica", "a") == (
        2,
        "",
        f"liqwatch: error: --replica: the bus at {nats_server.url} has no KV bucket liqwatch_claims for the "
        "replicas' claims; run `liqwatch bus init URL` once (JetStream admin rights)\n",
    )

    async def unclaimed() -> None:  # without a replica nothing is claimed: no bucket needed
        from liqwatch.bus.sink import BusSink
        from liqwatch.config import BusConfig

        sink = BusSink(BusConfig(url=nats_server.url), "g", None)
        await sink.start()
        await sink.close()

    asyncio.run(unclaimed())


@pytest.mark.slow
def test_two_replicas_and_the_server_killed_mid_crash_publish_each_alert_once(
    nats_server: NatsServer, replicas: list[Replica]
) -> None:
    """The server is SIGKILLed once the crash's first alerts are out and restarted (same port and
    store) once both replicas fired more while it was down: each alert of either is stored once."""
    init(nats_server.url)
    a = Replica(nats_server.url, "a")
    b = Replica(nats_server.url, "b")
    replicas += [a, b]
    a.wait(lambda: len(a.alerts) >= 1)
    # b up too (a line out: it has connected), or a busy machine starting b after a's first alert
    # kills the server before b ever reached it ("cannot reach the NATS server")
    b.wait(lambda: b.snapshots >= 1 or bool(b.alerts))
    nats_server.stop(kill=True)
    before = len(a.alerts), len(b.alerts)
    a.wait(lambda: len(a.alerts) > before[0])
    b.wait(lambda: len(b.alerts) > before[1])
    nats_server.start()
    a.wait(lambda: a.snapshots >= PAST_THE_CRASH)
    b.wait(lambda: b.snapshots >= PAST_THE_CRASH)
    errors = a.stop(), b.stop()
    assert (a.proc.returncode, b.proc.returncode) == (0, 0), errors
    printed = a.alert_keys() | b.alert_keys()
    headers = assert_each_key_once(nats_server.url, printed, set(a.lines) | set(b.lines))
    assert len(headers) == len(printed)
