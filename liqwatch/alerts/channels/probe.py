"""``liqwatch alerts test``: one test alert to every notifier at once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from liqwatch.alerts.channels.base import DeliveryError, Notifier
from liqwatch.alerts.model import Alert
from liqwatch.numfmt import plain


def make_test_alert(now: float | None = None) -> Alert:
    ts = time.time() if now is None else now
    return Alert(
        id=f"test-{int(ts * 1000)}",
        ts=ts,
        account="liqwatch",
        rule="test",
        level="test",
        message="liqwatch test alert: this channel works",
        severity="info",
    )


async def send_test(notifiers: Sequence[Notifier], alert: Alert | None = None) -> list[tuple[str, bool, str]]:
    """Send one test alert to every notifier at once (severity filters ignored); returns
    ``(notifier name, ok, detail)`` per notifier, in order. Closes the notifiers afterwards."""
    probe = alert or make_test_alert()

    async def one(notifier: Notifier) -> tuple[str, bool, str]:
        if not notifier.available:
            return notifier.name, False, "no notification service found here (skipped)"
        try:
            await asyncio.wait_for(notifier.send(probe), notifier.timeout + 1.0)
        except DeliveryError as exc:
            return notifier.name, False, str(exc)
        except TimeoutError:
            return notifier.name, False, f"timed out after {plain(notifier.timeout)} s"
        except Exception as exc:
            return notifier.name, False, f"unexpected {type(exc).__name__}"
        return notifier.name, True, "delivered"

    try:
        return list(await asyncio.gather(*(one(n) for n in notifiers)))
    finally:
        for notifier in notifiers:
            await notifier.close()
