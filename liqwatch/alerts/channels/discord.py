"""A Discord webhook."""

from __future__ import annotations

from liqwatch.alerts.channels.base import chat_text
from liqwatch.alerts.channels.http import HttpNotifier
from liqwatch.alerts.model import Alert


class DiscordNotifier(HttpNotifier):
    """POSTs ``{"content": ...}`` (at most 2000 characters)."""

    kind = "discord"

    async def send(self, alert: Alert) -> None:
        await self._post(json_body={"content": chat_text(alert)[:2000]})
