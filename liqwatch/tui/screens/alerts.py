"""Every alert of this session in full (the pane cuts long lines with an ellipsis)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import RichLog, Static

from liqwatch.tui.widgets.alerts import AlertLine


class AlertsScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,A", "dismiss", "close")]

    def __init__(self, lines: Iterable[AlertLine], total: int) -> None:
        super().__init__()
        self.lines = list(lines)
        self.total = total

    def compose(self) -> ComposeResult:
        with Vertical(id="alerts-body"):
            kept = f" (the latest {len(self.lines)})" if len(self.lines) < self.total else ""
            yield Static(Text(f"Alerts — {self.total} this session{kept}, newest first", style="bold"))
            yield RichLog(wrap=True, markup=False, highlight=False, id="alerts-full")

    def on_mount(self) -> None:
        log = self.query_one("#alerts-full", RichLog)
        if not self.lines:
            log.write(Text("No alerts yet.", style="dim"))
        for line in reversed(self.lines):
            log.write(line.text())

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
