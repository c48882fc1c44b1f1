"""A callback: the dashboard's toast, bell and alerts pane."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable

from liqwatch.alerts.channels.base import DeliveryError, Notifier, digest
from liqwatch.alerts.model import Alert, Severity


class CallbackNotifier(Notifier):
    """Calls ``fn(alert)`` (a function or a coroutine function)."""

    kind = "callback"

    def __init__(
        self, fn: Callable[[Alert], Awaitable[None] | None], name: str = "tui", *, min_severity: Severity = "info"
    ) -> None:
        super().__init__(name, min_severity=min_severity, key=digest("callback", name))
        self._fn = fn

    async def send(self, alert: Alert) -> None:
        try:
            result = self._fn(alert)
            if inspect.isawaitable(result):
                await result
        except Exception as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}", retry=False) from None
