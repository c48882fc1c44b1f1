"""The alerts pane: every alert of this session, newest last, coloured by severity."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import RichLog

if TYPE_CHECKING:
    from liqwatch.alerts.model import Alert

SEVERITY_STYLE = {"critical": "bold white on red", "warning": "bold yellow", "info": "cyan"}


class AlertsPane(RichLog):
    """History of alerts (a toast shows each one as it fires)."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(max_lines=500, wrap=True, markup=False, highlight=False, **kwargs)  # type: ignore[arg-type]
        self.count = 0

    def on_mount(self) -> None:
        self.border_title = "alerts (a: hide/show)"
        self.write(Text("No alerts yet.", style="dim"))

    def add(self, alert: Alert) -> None:
        if self.count == 0:
            self.clear()
        self.count += 1
        stamp = time.strftime("%H:%M:%S", time.localtime(alert.ts))
        style = SEVERITY_STYLE.get(alert.severity, "")
        self.write(Text.assemble((f"{stamp} ", "dim"), (f"{alert.severity.upper():8s}", style), " ", alert.message))
        self.border_title = f"alerts · {self.count} (a: hide/show)"
