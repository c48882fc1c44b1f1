"""An ntfy topic."""

from __future__ import annotations

from typing import Any

from liqwatch.alerts.channels.http import HttpNotifier
from liqwatch.alerts.model import Alert

NTFY_PRIORITY = {"info": "default", "warning": "high", "critical": "urgent"}
NTFY_TAGS = {"info": "information_source", "warning": "warning", "critical": "rotating_light"}


class NtfyNotifier(HttpNotifier):
    """An ntfy topic URL (``https://ntfy.sh/<topic>``): the message as the body, with ``Title``,
    ``Priority`` and ``Tags`` headers; ``token`` adds a bearer token."""

    kind = "ntfy"

    def __init__(self, url: str, *, token: str | None = None, **kw: Any) -> None:
        headers = dict(kw.pop("headers", None) or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        super().__init__(url, headers=headers, **kw)

    async def send(self, alert: Alert) -> None:
        headers = {
            "Title": alert.title.encode("ascii", "replace").decode(),
            "Priority": NTFY_PRIORITY[alert.severity],
            "Tags": NTFY_TAGS[alert.severity],
        }
        await self._post(data=alert.message.encode(), headers=headers)
