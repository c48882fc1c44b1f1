"""Any `apprise <https://github.com/caronc/apprise>`_ URL, when apprise is installed (optional;
imported lazily)."""

from __future__ import annotations

import asyncio
import importlib
from types import ModuleType

from liqwatch.alerts.channels.base import (
    DEFAULT_TIMEOUT,
    DeliveryError,
    Notifier,
    NotifierError,
    digest,
    redact_url,
    scrub,
    secrets_of,
)
from liqwatch.alerts.model import Alert, Severity

APPRISE_SCHEMES = ("tgram", "discord", "slack", "ntfy", "ntfys", "pover", "mailto", "mailtos")
APPRISE_HINT = "install apprise (pip install apprise) or use the plain https webhook URL"


def load_apprise() -> ModuleType:
    """The apprise module, or a one-line :class:`NotifierError` saying how to get it."""
    try:
        return importlib.import_module("apprise")
    except ImportError:
        raise NotifierError(f"apprise URLs need the apprise package: {APPRISE_HINT}") from None


class AppriseNotifier(Notifier):
    """Any apprise URL (``tgram://``, ``discord://``, ``slack://``, ``ntfys://``, ``pover://``...)."""

    kind = "apprise"

    def __init__(self, url: str, *, min_severity: Severity = "info", timeout: float = DEFAULT_TIMEOUT) -> None:
        self._module = load_apprise()
        self._apprise = self._module.Apprise()
        if not self._apprise.add(url.strip()):
            raise NotifierError(f"apprise does not recognise the URL {redact_url(url)}")
        super().__init__(
            f"apprise {redact_url(url)}", min_severity=min_severity, timeout=timeout, key=digest("apprise", url)
        )
        self._secrets = secrets_of(url)

    async def send(self, alert: Alert) -> None:
        types = self._module.NotifyType
        notify_type = {"info": types.INFO, "warning": types.WARNING, "critical": types.FAILURE}[alert.severity]
        try:
            ok = await asyncio.to_thread(
                self._apprise.notify, body=alert.message, title=alert.title, notify_type=notify_type
            )
        except Exception as exc:  # apprise plugins raise what their HTTP clients raise
            raise DeliveryError(scrub(f"{type(exc).__name__}: {exc}", self._secrets)) from None
        if not ok:
            raise DeliveryError("apprise reported a failed notification")
