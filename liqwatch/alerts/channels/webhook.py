"""A generic JSON webhook."""

from __future__ import annotations

from liqwatch.alerts.channels.http import HttpNotifier
from liqwatch.alerts.model import Alert


class WebhookNotifier(HttpNotifier):
    """POSTs the alert record (``{"type": "alert", "id", ...}``)."""

    kind = "webhook"

    async def send(self, alert: Alert) -> None:
        await self._post(json_body=alert.record())
