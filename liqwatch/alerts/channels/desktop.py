"""Desktop notifications (``notify-send`` / ``osascript``; a no-op where neither exists)."""

from __future__ import annotations

import asyncio
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from liqwatch.alerts.channels.base import DeliveryError, Notifier, digest
from liqwatch.alerts.model import Alert, Severity
from liqwatch.numfmt import plain

DESKTOP_URGENCY = {"info": "low", "warning": "normal", "critical": "critical"}
_OSASCRIPT = (
    "on run argv",
    "display notification (item 2 of argv) with title (item 1 of argv)",
    "end run",
)


class DesktopNotifier(Notifier):
    """A desktop notification via ``notify-send`` (Linux/BSD) or ``osascript`` (macOS); a no-op
    where neither exists. Failures are reported once per alert, not retried."""

    kind = "desktop"

    def __init__(
        self,
        *,
        min_severity: Severity = "info",
        timeout: float = 5.0,
        which: Callable[[str], str | None] = shutil.which,
    ) -> None:
        super().__init__("desktop", min_severity=min_severity, timeout=timeout, key=digest("desktop"))
        self._notify_send = which("notify-send")
        self._osascript = which("osascript") if sys.platform == "darwin" else None

    @property
    def available(self) -> bool:
        return bool(self._notify_send or self._osascript)

    def argv(self, alert: Alert) -> list[str] | None:
        if self._notify_send:
            return [
                self._notify_send,
                "-a",
                "liqwatch",
                "-u",
                DESKTOP_URGENCY[alert.severity],
                alert.title,
                alert.message,
            ]
        if self._osascript:
            script = [arg for line in _OSASCRIPT for arg in ("-e", line)]
            return [self._osascript, *script, alert.title, alert.message]
        return None

    async def send(self, alert: Alert) -> None:
        argv = self.argv(alert)
        if argv is None:
            return  # no notification service here: graceful no-op
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
            )
            _, err = await asyncio.wait_for(proc.communicate(), self.timeout)
        except TimeoutError:
            raise DeliveryError(f"timed out after {plain(self.timeout)} s", retry=False) from None
        except OSError as exc:
            raise DeliveryError(f"cannot run {Path(argv[0]).name}: {exc.strerror}", retry=False) from None
        if proc.returncode != 0:
            last = err.decode(errors="replace").strip().splitlines()[-1:] if err else []
            raise DeliveryError(f"{Path(argv[0]).name} failed" + (f": {last[0][:200]}" if last else ""), retry=False)
