"""The liquidation ladder (every position's liquidation and bankruptcy distance from its mark) and
the shock view (each account's margin ratio against a common move of every mark)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
from liqwatch.core.engine import Wallet
from liqwatch.core.model import PortfolioRisk, PositionSpec
from liqwatch.core.venues import Venue
from liqwatch.output import fmt_pct
from liqwatch.tui.widgets.chart import PALETTE, Level, LineChart, Series

BAR = 40
MOVES = [m / 100 for m in range(-30, 31, 5)]


def ladder_chart(rows: Sequence[tuple[str, PortfolioRisk]], bar: int = BAR) -> RenderableType:
    """The liquidation ladder as a bar chart, nearest first: each position's bar is the adverse move
    of its mark that liquidates it (█, coloured by how near), ▌ where it would be bankrupt."""
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
        style = "red" if dl is not None and dl < 0.05 else "yellow" if dl is not None and dl < 0.15 else "green"
        length = 0 if dl is None or dl <= 0 else min(bar, max(1, round(dl / scale * bar)))
        cells = ["█"] * length + [" "] * (bar - length)
        line = Text("".join(cells), style=style)
        if db is not None and db > 0:
            at = min(bar - 1, round(db / scale * bar))
            line = line[:at] + Text("▌", style="magenta") + line[at + 1 :]
        if dl is None:
            line = Text("no liquidation price".ljust(bar), style="dim")
        table.add_row(label, line, f"liq {fmt_pct(dl)}  bankr {fmt_pct(db)}")
    ticks = "".join(f"{scale * i / 4 * 100:.0f}%".ljust(bar // 4) if i < 4 else f"{scale * 100:.0f}%" for i in range(5))
    table.add_row("", Text("└" + "─" * (bar - 1), style="dim"), "")
    table.add_row("adverse move of the mark →", Text(ticks, style="dim"), "")
    legend = Text("█ to liquidation (red < 5%, yellow < 15%)   ▌ bankruptcy", style="dim")
    return Group(Text("Liquidation ladder — nearest first", style="bold"), table, legend)


def shock_series(accounts: Sequence[tuple[str, Venue, list[PositionSpec], Wallet]]) -> list[Series]:
    """Each account's margin ratio (%) against a common move of every mark (x: the move, %)."""
    series = []
    for i, (name, venue, specs, wallet) in enumerate(accounts):
        if not specs:
            continue
        res = wi.shock(venue, specs, wallet, MOVES)
        points = []
        for move, step in zip(MOVES, res.steps, strict=True):
            ratio = step.risk.account.margin_ratio
            if ratio is not None and step.risk.positions:
                points.append((move * 100, min(ratio * 100, 200.0)))
        series.append(Series(name, tuple(points), PALETTE[i % len(PALETTE)]))
    return series


def shock_view(accounts: Sequence[tuple[str, Venue, list[PositionSpec], Wallet]]) -> RenderableType:
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


NO_POOLS = "no insurance data yet (the venues' figures arrive within a minute of start)"


class LadderScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,l,q", "app.pop_screen", "back")]

    def __init__(
        self,
        ladder_rows: Sequence[tuple[str, PortfolioRisk]],
        accounts: Sequence[tuple[str, Venue, list[PositionSpec], Wallet]],
        pools: Mapping[str, Sequence[tuple[float, float]]] | None = None,
    ) -> None:
        super().__init__()
        self.ladder_rows = ladder_rows
        self.accounts = accounts
        self.pools = dict(pools or {})
        """Insurance pools' balance over time: a plain series of (time, value) per pool."""

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="ladder-body"):
            yield Static(ladder_chart(self.ladder_rows), id="ladder-chart")
            yield LineChart("account margin ratio % against a common move of every mark", id="shock-chart")
            yield LineChart("insurance pools (balance)", id="pools-chart")
            yield Static(shock_view(self.accounts), id="shock-view")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#shock-chart", LineChart).plot(
            shock_series(self.accounts),
            [Level("liquidation 100%", 100.0, "red")],
            empty="no positions with risk figures",
            x_labels=(f"{MOVES[0] * 100:+.0f}%", f"{MOVES[-1] * 100:+.0f}% move"),
        )
        self.show_pools(self.pools)

    def show_pools(self, pools: Mapping[str, Sequence[tuple[float, float]]]) -> None:
        """Draw the insurance pools: one series of (time, balance) per pool."""
        self.pools = dict(pools)
        self.query_one("#pools-chart", LineChart).plot_pools(self.pools, empty=NO_POOLS)
