"""The dispatcher's bounded queues and its outbox across a restart."""

from __future__ import annotations

import asyncio
import json

from liqwatch.alerts.channels import CallbackNotifier
from liqwatch.alerts.dispatcher import DeliveryFailure, Dispatcher
from tests.alerts.builders import make_alert
from tests.fakes.ws_server import WAIT_TIMEOUT


def test_queue_is_bounded_and_drops_the_least_severe() -> None:
    failures: list[DeliveryFailure] = []
    dispatcher = Dispatcher([CallbackNotifier(lambda a: None)], queue_size=3, on_failure=failures.append)
    for n, severity in enumerate(["warning", "critical", "info", "critical", "warning"]):
        dispatcher.submit(make_alert(n, severity))  # not started: nothing is sent yet
    dispatcher.submit(make_alert(1))  # already queued: idempotent
    assert [a["id"] for a in next(iter(dispatcher.outbox().values()))] == ["t-0", "t-1", "t-3"]
    assert [f.alert_id for f in failures] == ["t-2", "t-4"] and all(f.retry_in is None for f in failures)


def test_outbox_survives_a_restart() -> None:
    got: list[str] = []

    async def main() -> None:
        first = Dispatcher([CallbackNotifier(lambda a: None, "tui")])
        first.submit(make_alert(1))
        first.submit(make_alert(2))
        saved = json.loads(json.dumps(first.outbox()))
        second = Dispatcher([CallbackNotifier(lambda a: got.append(a.id), "tui")])
        assert second.restore(saved) == 2 and second.restore(saved) == 0
        second.start()
        assert await second.drain(WAIT_TIMEOUT)
        await second.stop()

    asyncio.run(main())
    assert got == ["t-1", "t-2"]
