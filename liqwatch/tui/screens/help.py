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
    ("↑ ↓ / mouse", "select a position (its charts and numbers show in the detail)"),
    ("s", "cycle the sort: nearest liquidation, margin ratio, uPnL, symbol, account (remembered)"),
    ("/", "filter positions by account, symbol or side (remembered; Esc clears)"),
    ("w", "what-if for the selected position: add size, leverage, margin, price shock"),
    ("l", "ladder chart, each account's margin ratio against a common move, insurance pools"),
    ("d", "show / hide the detail (beside the table from 140 columns, under it below; open from 32 lines)"),
    (
        "a",
        "show / hide the alerts pane (one summary toast counts them, held back while a screen like this "
        "is open; critical ones ring the bell)",
    ),
    ("A", "every alert of this session in full"),
    ("e / E", "export the table as shown to CSV / JSON: asks where first (Enter writes, Esc cancels)"),
    ("ctrl+p", "the command palette: every action"),
    ("?", "this help (Esc, ? or q closes it)"),
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
            "venue's. Δ is the venue's own liquidation price relative to liqwatch's where they differ (both are in "
            "the detail). A figure is never cut: on a narrow terminal whole columns give way (account, entry, size, "
            "then Pool, uPnL, Bankr.; every one is in the detail) and headers shorten: Sym symbol, Liq "
            "liquidation price, Dist distance to liquidation, MR margin ratio, T tier (without its MMR); side L/S, "
            "x cross, h hedge; ADL e = estimate. "
            "The venue's own ADL state ends the ADL cell: ! close to ADL (its rating high, or near its trigger), "
            "!! ADL active. Pool: the drawdown of the insurance pool behind the position from its 8-hour "
            "maximum (v: a vault, not an insurance fund; none: the venue publishes no fund; ?: no pool lists "
            "the symbol). The detail shows the pool, the ADL state, mark vs index and funding in full.",
            style="dim",
        )
        with VerticalScroll(id="help-body"):
            yield Static(Text.assemble(("liqwatch — keys", "bold"), ("   Esc, ? or q to close", "bold reverse")))
            yield Static(table)
            yield Static(notes)

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
