"""Every key, and what the numbers mean."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS = [
    ("↑ ↓ / mouse", "select a position (its details show on the right)"),
    ("s", "cycle the sort: nearest liquidation, margin ratio, uPnL, symbol, account"),
    ("/", "filter positions by account, symbol or side (Esc clears)"),
    ("w", "what-if for the selected position: add size, leverage, margin, price shock"),
    ("l", "liquidation ladder and the account's margin ratio against a common price move"),
    ("d", "show / hide the detail panel"),
    ("a", "show / hide the alerts pane (each alert also shows as a toast; critical ones ring the bell)"),
    ("?", "this help"),
    ("q", "quit"),
]


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark", "dismiss", "close")]

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 3))
        table.add_column(style="bold cyan")
        table.add_column()
        for key, what in KEYS:
            table.add_row(key, what)
        notes = Text(
            "\nPrices are judged on the MARK price. Margin ratio = maintenance requirement ÷ margin balance: "
            "100% is liquidation, lower is safer. A mark that has not updated for 3× its stream's interval is "
            "STALE (⚠): its numbers are not fresh. ADL lights marked 'est.' are liqwatch's estimate, not the "
            "venue's. Where the venue's own liquidation price differs from liqwatch's, both are shown.",
            style="dim",
        )
        with VerticalScroll(id="help-body"):
            yield Static(Text("liqwatch — keys", style="bold"))
            yield Static(table)
            yield Static(notes)

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
