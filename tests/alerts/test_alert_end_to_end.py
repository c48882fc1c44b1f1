"""Alerts end to end: scripted snapshots through the engine and the dispatcher to a local HTTP
receiver on 127.0.0.1 that fails a while, and the demo market's crash."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

from liqwatch.alerts.channels import SlackNotifier, WebhookNotifier
from liqwatch.alerts.dispatcher import DeliveryFailure, Dispatcher
from liqwatch.alerts.engine import AlertEngine
from liqwatch.alerts.model import Alert
from liqwatch.feeds.demo import SNAPSHOT_EVERY, DemoMarket
from liqwatch.state import State
from tests.alerts.builders import Clock, pos, snap
from tests.fakes.webhook_receiver import Receiver, receiver
from tests.fakes.ws_server import WAIT_TIMEOUT

SCRIPT: list[tuple[float, float, float]] = [
    # (t, margin ratio, distance) for one isolated BTC long
    (0, 0.20, 0.40),
    (1, 0.52, 0.30),
    (2, 0.55, 0.20),  # 0.5 fires (2nd breach)
    (3, 0.60, 0.09),
    (4, 0.88, 0.08),  # 0.85 fires at once (critical); distance 0.1 fires (2nd breach)
    (5, 0.90, 0.01),  # distance 0.02 fires (critical)
    (6, 0.91, 0.01),
    (7, 0.30, 0.50),  # everything clears
    (8, 0.90, 0.50),  # within the 0.85 cooldown (delivered at ~4): held
]
EXPECTED = [(2, "margin_ratio", "0.5"), (4, "margin_ratio", "0.85"), (4, "distance", "0.1"), (5, "distance", "0.02")]


def test_end_to_end_scripted_snapshots_to_a_webhook_that_fails_a_while() -> None:
    async def main() -> tuple[list[Alert], Receiver, list[DeliveryFailure]]:
        failures: list[DeliveryFailure] = []
        clock = Clock(0.0)
        async with receiver() as rec:
            engine = AlertEngine()
            hook = WebhookNotifier(rec.url + "/hook/SECRET")
            slack = SlackNotifier(rec.url + "/slack/T/B/X", min_severity="critical")
            dispatcher = Dispatcher(
                [hook, slack],
                on_delivered=lambda _name, alert: engine.mark_delivered(alert.id, clock.t),
                on_failure=failures.append,
                retry_initial=0.05,
                retry_max=0.2,
            )
            dispatcher.start()
            fired: list[Alert] = []
            rec.fail = True  # the receiver is down for the first alerts
            for t, mr, dist in SCRIPT:
                clock.t = t
                if t == 4:
                    async with asyncio.timeout(WAIT_TIMEOUT):
                        while len(failures) < 2:  # a few failed attempts
                            await asyncio.sleep(0.01)
                    rec.fail = False
                if t >= 4:
                    assert await dispatcher.drain(WAIT_TIMEOUT)  # delivered before the script goes on
                for alert in engine.evaluate(snap(pos(mr=mr, dist=dist)), t):
                    fired.append(alert)
                    dispatcher.submit(alert)  # never blocks
                await asyncio.sleep(0.02)
            assert await dispatcher.drain(WAIT_TIMEOUT)
            sent = len(rec.hits)
            dispatcher.submit(fired[0])  # delivered already: never sent twice
            assert await dispatcher.drain(WAIT_TIMEOUT) and len(rec.hits) == sent
            await dispatcher.stop()
            return fired, rec, failures

    fired, rec, failures = asyncio.run(main())
    assert [(a.ts, a.rule, a.level) for a in fired] == EXPECTED
    got = rec.alerts()
    assert [g["id"] for g in got] == [a.id for a in fired]  # every alert, once, in order
    assert got[0] == fired[0].record()
    assert len(failures) >= 2 and all(f.notifier == "webhook " + rec.url + "/***" for f in failures)
    assert [f.attempt for f in failures] == list(range(1, len(failures) + 1))
    assert {f.alert_id for f in failures} == {fired[0].id}  # the one sent while the receiver was down
    critical = [json.loads(b)["text"] for p, b, _ in rec.hits if p.startswith("/slack")]
    assert critical == [f"[CRITICAL] {a.message}" for a in fired if a.severity == "critical"]


def _demo_run(ticks: int, engine: AlertEngine) -> Iterator[tuple[float, list[Alert]]]:
    """The demo market through the state store, the way DemoFeed drives it, with a fake clock."""
    clock = Clock()
    state = State(clock)
    market = DemoMarket(7)
    for event in market.initial_events(clock.t):
        state.apply(event)
    for _ in range(ticks):
        changed = set(market.step())
        clock.t += 1.0
        notices = []
        for mark in market.mark_events(clock.t, 1.0):
            state.apply(mark)
        for acc in market.accounts:
            if acc.name in changed or market.tick % SNAPSHOT_EVERY == 0:
                for event in market.position_events(acc, clock.t):
                    notices.extend(state.apply(event))
        alerts = [a for n in notices for a in engine.on_notice(n, clock.t)]
        alerts += engine.evaluate(state.snapshot(), clock.t)
        yield clock.t, alerts


def test_end_to_end_demo_market_crash() -> None:
    async def main() -> tuple[list[Alert], Receiver]:
        async with receiver() as rec:
            engine = AlertEngine()
            now = [0.0]
            hook = WebhookNotifier(rec.url + "/hook/SECRET")
            dispatcher = Dispatcher([hook], on_delivered=lambda _n, a: engine.mark_delivered(a.id, now[0]))
            dispatcher.start()
            fired: list[Alert] = []
            for t, alerts in _demo_run(60, engine):
                now[0] = t
                fired.extend(alerts)
                for alert in alerts:
                    dispatcher.submit(alert)
                assert await dispatcher.drain(WAIT_TIMEOUT)  # delivered before the next simulated second
            assert await dispatcher.drain(WAIT_TIMEOUT)
            await dispatcher.stop()
            return fired, rec

    fired, rec = asyncio.run(main())
    rules = {a.rule for a in fired}
    assert {"position_lost", "distance", "margin_ratio"} <= rules
    lost = [a for a in fired if a.rule == "position_lost"]
    assert lost and all(a.severity == "critical" and a.level == "vanished" for a in lost)
    assert [g["id"] for g in rec.alerts()] == [a.id for a in fired]  # once each, in order
    assert len({a.id for a in fired}) == len(fired)
    # delivered alerts start their cooldowns (300 s): no level alert repeats within the minute
    keys = [(a.account, a.symbol, a.side, a.rule, a.level) for a in fired if a.rule != "position_lost"]
    assert len(keys) == len(set(keys))
