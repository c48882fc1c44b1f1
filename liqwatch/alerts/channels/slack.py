"""A Slack incoming webhook (``slack://`` URLs go through apprise instead)."""

from __future__ import annotations

from liqwatch.alerts.channels.base import chat_text
from liqwatch.alerts.channels.http import HttpNotifier
from liqwatch.alerts.model import Alert


class SlackNotifier(HttpNotifier):
    """POSTs ``{"text": ...}``."""

    kind = "slack"

    async def send(self, alert: Alert) -> None:
        await self._post(json_body={"text": chat_text(alert)})
