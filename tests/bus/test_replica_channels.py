"""Replicas of a bus group with the same ``[[channels]]`` deliver each alert once (issue #22: "alerts
must reach someone exactly once even when a machine dies"): a replica hands to its channels only
the alerts it published — its claim won, or taken over from a claimant that died — wired as
``watch`` wires it (:func:`liqwatch.watch.wire_claims`)."""

from __future__ import annotations

import asyncio
from collections import Counter

import orjson

from liqwatch.alerts.channels.base import Notifier
from liqwatch.alerts.model import Alert
from liqwatch.alerts.runner import AlertRunner
from liqwatch.bus.claims import Claims, claim_key
from liqwatch.bus.sink import BusSink
from liqwatch.config import BusConfig
from liqwatch.watch import wire_claims
from tests.bus.conftest import NatsServer
from tests.bus.test_publish import alert, init, read


class Recording(Notifier):
    """A channel that records what reached it."""

    kind = "recording"

    def __init__(self, name: str, got: list[tuple[str, str]]) -> None:
        super().__init__(name)
        self.got = got

    async def send(self, alert: Alert) -> None:
        self.got.append((self.name, alert.id))


def cooldown_key(alert_id: str) -> tuple[str, float]:
    """What the engine's ``claim`` gives for an alert it fired: its cooldown key (the same episode
    on every replica, whose alert ids differ: ``<replica>-<n>``) and cooldown."""
    return f"acct-1\x1fmargin_ratio\x1f{alert_id.rsplit('-', 1)[1]}", 60.0


def fired(replica: str, n: int) -> Alert:
    return alert(n).model_copy(update={"id": f"{replica}-{n}"})


async def replica(url: str, name: str, got: list[tuple[str, str]]) -> tuple[AlertRunner, BusSink]:
    sink = BusSink(BusConfig(url=url), "g", name, takeover_delay=0.2)
    await sink.start()
    runner = AlertRunner(
        extra=[Recording(name, got)],
        on_alert=lambda a: sink.write(a.record(), orjson.dumps(a.record(), option=orjson.OPT_APPEND_NEWLINE)),
    )
    runner.engine.claim = cooldown_key  # type: ignore[method-assign]  # as if its engine had fired them
    wire_claims([sink], runner)
    runner.start()
    return runner, sink


def test_two_replicas_with_the_same_channels_deliver_each_alert_once(nats_server: NatsServer) -> None:
    init(nats_server.url)
    got: list[tuple[str, str]] = []

    async def go() -> None:
        a_runner, a_sink = await replica(nats_server.url, "a", got)
        b_runner, b_sink = await replica(nats_server.url, "b", got)
        for n in range(20):  # both replicas fire the same alerts, in turn first
            first, second = (a_runner, b_runner) if n % 2 == 0 else (b_runner, a_runner)
            first._emit([fired("a" if first is a_runner else "b", n)])
            second._emit([fired("b" if first is a_runner else "a", n)])
        for sink in (a_sink, b_sink):
            assert await sink.flushed(30, alerts_only=True)
        for sink in (a_sink, b_sink):  # waits for the losers' re-checks (no claimant died: none taken over)
            await sink.close()
        for runner in (a_runner, b_runner):
            await runner.stop()
        assert a_sink.suppressed + b_sink.suppressed == 20 and a_sink.taken_over + b_sink.taken_over == 0

    asyncio.run(go())
    assert Counter(alert_id.rsplit("-", 1)[1] for _, alert_id in got) == Counter(str(n) for n in range(20))
    stored = {orjson.loads(p)["id"]: h["Liqwatch-Replica"] for _, p, h in read(nats_server.url, "LIQ_ALERT")}
    assert {alert_id: name for name, alert_id in got} == stored  # what each published, it delivered


def test_a_replica_delivers_an_alert_it_takes_over_from_a_dead_claimant(nats_server: NatsServer) -> None:
    """Replica "dead" claimed the alert and died before publishing: the live replica is refused at
    first (delivers nothing), takes the claim over after the delay, publishes and delivers it."""
    import nats

    init(nats_server.url)
    got: list[tuple[str, str]] = []

    async def go() -> None:
        nc = await nats.connect(nats_server.url)
        try:
            key, ttl = cooldown_key("dead-7")
            dead = Claims(nc.jetstream(), "g", "dead")
            assert (await dead.claim(claim_key("g", key), "dead-7", ttl + 0.2)).won
        finally:
            await nc.close()
        runner, sink = await replica(nats_server.url, "live", got)
        runner._emit([fired("live", 7)])
        assert await sink.flushed(30, alerts_only=True)
        await sink.close()
        await runner.stop()
        assert (sink.suppressed, sink.taken_over) == (1, 1)

    asyncio.run(go())
    assert got == [("live", "live-7")]
    ((_, payload, headers),) = read(nats_server.url, "LIQ_ALERT")
    assert orjson.loads(payload)["id"] == "live-7" and headers["Liqwatch-Replica"] == "live"
