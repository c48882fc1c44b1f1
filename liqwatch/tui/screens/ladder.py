"""The liquidation ladder (every position's liquidation and bankruptcy distance from its mark) and
the shock view (each account's margin ratio against a common move of every mark)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from liqwatch.core import whatif as wi
from liqwatch.core.model import PortfolioRisk, PositionSpec
from liqwatch.core.venues import Venue
from liqwatch.output import fmt_pct

BAR = 40
MOVES = [m / 100 for m in range(-30, 31, 5)]


def ladder_chart(rows: Sequence[tuple[str, PortfolioRisk]]) -> RenderableType:
    """One line per position: ● the mark, ✕ liquidation, ▌ bankruptcy, on a scale of adverse move."""
    rungs = []
    for account, risk in rows:
        for r in wi.ladder(risk):
            rungs.append((account, r))
    rungs.sort(key=lambda x: (x[1].distance_to_liquidation is None, x[1].distance_to_liquidation or 0.0))
    if not rungs:
        return Text("No open positions.", style="dim")
    finite = [r.distance_to_bankruptcy or 0.0 for _, r in rungs if r.distance_to_bankruptcy is not None]
    scale = max(0.02, min(1.0, max(finite, default=0.1)))
    table = Table.grid(padding=(0, 1))
    table.add_column(no_wrap=True)
    table.add_column(no_wrap=True)
    table.add_column(justify="right", no_wrap=True)
    for account, r in rungs:
        label = f"{account} {r.symbol.split(':')[0]} {r.side} {'iso' if r.margin_mode == 'isolated' else 'cross'}"
        dl = r.distance_to_liquidation
        db = r.distance_to_bankruptcy
        line = ["·"] * (BAR + 1)
        if db is not None and db > 0:
            line[min(BAR, round(db / scale * BAR))] = "▌"
        if dl is not None and dl > 0:
            pos = min(BAR, round(dl / scale * BAR))
            for i in range(1, pos):
                line[i] = "─"
            line[pos] = "✕"
        line[0] = "●"
        style = "red" if dl is not None and dl < 0.05 else "yellow" if dl is not None and dl < 0.15 else "green"
        table.add_row(label, Text("".join(line), style=style), f"liq {fmt_pct(dl)}  bankr {fmt_pct(db)}")
    legend = Text(f"● mark   ✕ liquidation   ▌ bankruptcy   (scale: {scale * 100:.0f}% adverse move)", style="dim")
    return Group(Text("Liquidation ladder — nearest first", style="bold"), table, legend)


def shock_view(accounts: Sequence[tuple[str, Venue, list[PositionSpec], float]]) -> RenderableType:
    table = Table(title="Account margin ratio against a common move of every mark", title_justify="left", box=None)
    table.add_column("move", justify="right")
    for name, *_ in accounts:
        table.add_column(name, justify="right")
    results = []
    for _, venue, specs, wallet in accounts:
        results.append(wi.shock(venue, specs, wallet, MOVES) if specs else None)
    for i, move in enumerate(MOVES):
        cells = []
        for res in results:
            if res is None:
                cells.append("—")
                continue
            step = res.steps[i]
            ratio = step.risk.account.margin_ratio
            text = "liquidated" if not step.risk.positions and step.liquidated else fmt_pct(ratio)
            if step.liquidated:
                text += f" ({len(step.liquidated)} gone)"
            cells.append(text)
        table.add_row(f"{move * 100:+.0f}%", *cells)
    return table


class LadderScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,l,q", "app.pop_screen", "back")]

    def __init__(
        self,
        ladder_rows: Sequence[tuple[str, PortfolioRisk]],
        accounts: Sequence[tuple[str, Venue, list[PositionSpec], float]],
    ) -> None:
        super().__init__()
        self.ladder_rows = ladder_rows
        self.accounts = accounts

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="ladder-body"):
            yield Static(ladder_chart(self.ladder_rows), id="ladder-chart")
            yield Static(Text(""))
            yield Static(shock_view(self.accounts), id="shock-view")
        yield Footer()
