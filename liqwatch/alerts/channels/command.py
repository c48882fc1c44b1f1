"""A command receiving the alert as JSON on stdin."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Sequence
from pathlib import Path

from liqwatch.alerts.channels.base import DEFAULT_TIMEOUT, DeliveryError, Notifier, NotifierError, digest
from liqwatch.alerts.model import Alert, Severity
from liqwatch.numfmt import plain


class CommandNotifier(Notifier):
    """Runs ``command`` (no shell) with the alert record as JSON on stdin; a non-zero exit or
    exceeding ``timeout`` is a failure."""

    kind = "command"

    def __init__(
        self, command: Sequence[str], *, min_severity: Severity = "info", timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        if not command or not command[0]:
            raise NotifierError("command: give the program and its arguments as a list, e.g. command = ['notify.sh']")
        self.command = list(command)
        super().__init__(
            f"command {Path(self.command[0]).name}",
            min_severity=min_severity,
            timeout=timeout,
            key=digest("command", *self.command),
        )

    async def send(self, alert: Alert) -> None:
        try:
            proc = await asyncio.create_subprocess_exec(
                *self.command,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as exc:
            raise DeliveryError(f"cannot run {self.command[0]}: {exc.strerror or type(exc).__name__}") from None
        payload = (json.dumps(alert.record(), allow_nan=False) + "\n").encode()
        try:
            _, err = await asyncio.wait_for(proc.communicate(payload), self.timeout)
        except TimeoutError:
            raise DeliveryError(f"timed out after {plain(self.timeout)} s") from None
        finally:
            if proc.returncode is None:  # timed out or cancelled: no orphans
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                with contextlib.suppress(Exception):
                    await proc.wait()
        if proc.returncode != 0:
            last = err.decode(errors="replace").strip().splitlines()[-1:] if err else []
            detail = f": {last[0][:200]}" if last else ""
            raise DeliveryError(f"exit code {proc.returncode}{detail}")
