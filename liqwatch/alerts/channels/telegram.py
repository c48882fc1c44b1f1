"""Telegram's bot API (``tgram://`` URLs go through apprise instead)."""

from __future__ import annotations

from typing import Any

from liqwatch.alerts.channels.base import chat_text, redact_url
from liqwatch.alerts.channels.http import HttpNotifier
from liqwatch.alerts.model import Alert


class TelegramNotifier(HttpNotifier):
    """``POST {api_url}/bot<token>/sendMessage {chat_id, text}``."""

    kind = "telegram"

    def __init__(
        self,
        bot_token: str,
        chat_id: str,
        *,
        api_url: str = "https://api.telegram.org",
        label: str | None = None,
        **kw: Any,
    ) -> None:
        url = f"{api_url.rstrip('/')}/bot{bot_token}/sendMessage"
        super().__init__(url, label=label or f"{redact_url(api_url)} chat ***", **kw)
        self._secrets.append(bot_token)
        self._chat_id = chat_id

    async def send(self, alert: Alert) -> None:
        await self._post(json_body={"chat_id": self._chat_id, "text": chat_text(alert)[:4096]})
