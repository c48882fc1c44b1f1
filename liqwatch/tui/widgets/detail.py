"""The numbers behind each figure of the selected position."""

from __future__ import annotations

import math
from collections import deque

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Sparkline, Static

from liqwatch.core.venues import get_venue
from liqwatch.output import adl_lights, display_tick, fmt_money, fmt_pct, fmt_price
from liqwatch.state import PositionView

ADL_HELP = {
    "exchange": "reported by the venue",
    "estimate": "liqwatch's estimate from the venue's ranking formula (not the venue's own figure)",
}


def tier_table(view: PositionView) -> Table:
    assert view.risk is not None
    risk = view.risk
    table = Table(title="Brackets", title_justify="left", expand=False, pad_edge=False, box=None)
    unit = "notional" if risk.spec.tiers.basis == "notional" else "size"
    for col in ("#", f"from ({unit})", "MMR", "maint. amount", "max lev."):
        table.add_column(col, justify="right")
    tiers = risk.spec.tiers.tiers
    here = risk.tier.index
    start = max(0, here - 3)
    for t in tiers[start : start + 6]:
        style = "bold reverse" if t.index == here else "yellow" if t.index == here + 1 else "dim"
        table.add_row(
            str(t.index),
            f"{t.floor:,.0f}",
            f"{t.mmr * 100:.3g}%",
            f"{t.maint_amount:,.2f}",
            f"{t.max_leverage:g}x",
            style=style,
        )
    return table


def explain(view: PositionView) -> RenderableType:
    data = view.data
    risk = view.risk
    head = Text(f"{view.account} · {data.symbol} {data.side} {data.margin_mode}", style="bold")
    if risk is None:
        return Group(head, Text(view.note or "no risk figures yet", style="yellow"))
    venue = get_venue(view.exchange)
    tick = display_tick(risk.spec)
    lines = Table.grid(padding=(0, 2))
    lines.add_column(style="dim")
    lines.add_column()
    venue_lp = data.exchange_liquidation_price
    diff = (
        ""
        if venue_lp is None or risk.liquidation_price is None
        else (f"  (venue {fmt_price(venue_lp, tick)}, Δ {risk.liquidation_price - venue_lp:+,.6g})")
    )
    rows = [
        ("Liquidation price", fmt_price(risk.liquidation_price, tick) + (diff or "  (venue gave none)")),
        ("Bankruptcy price", fmt_price(risk.bankruptcy_price, tick)),
        ("Distance to liq.", fmt_pct(risk.distance_to_liquidation)),
        (
            "Margin ratio",
            fmt_pct(risk.margin_ratio)
            + (
                f"  ({venue.native_margin_ratio_name} {risk.margin_ratio_native * 100:.1f}%)"
                if risk.margin_ratio_native is not None and venue.native_margin_ratio_name
                else ""
            ),
        ),
        ("Margin balance", fmt_money(risk.margin_balance)),
        (
            "Maintenance",
            f"{fmt_money(risk.maintenance_margin)} = value {fmt_money(risk.notional)} × "
            f"{risk.tier.mmr * 100:.3g}% − {fmt_money(risk.tier.maint_amount)}"
            + (f" + fee {fmt_money(risk.liquidation_fee)}" if risk.liquidation_fee else ""),
        ),
        ("Initial margin", fmt_money(risk.initial_margin)),
        ("Eff. leverage", "—" if risk.effective_leverage is None else f"{risk.effective_leverage:.2f}x"),
        (
            "Mark",
            f"{fmt_price(view.mark_price, tick)}"
            + ("" if view.mark_age_s is None else f"  ({view.mark_age_s:.1f}s old{', STALE' if view.stale else ''})"),
        ),
        ("Formula", venue.family),
        ("Tiers", risk.spec.tiers.source[:70] or "bundled"),
    ]
    if risk.next_tier_floor is not None:
        rows.insert(
            6,
            (
                "Next bracket",
                f"starts at {risk.next_tier_floor:,.0f} "
                f"({'notional' if risk.spec.tiers.basis == 'notional' else 'size'})",
            ),
        )
    for key, value in rows:
        lines.add_row(key, value)
    adl = risk.adl
    adl_text = Text.assemble(
        ("ADL ", "bold"),
        adl_lights(adl.lights, adl.source),
        f"  score {adl.score:.4g} — {ADL_HELP[adl.source]}.\n",
        (
            f"Ranking: {adl.method}. Profit and leverage raise it; taking profit or adding margin "
            "(lower effective leverage) lowers it.",
            "dim",
        ),
    )
    note = Text(view.note, style="yellow") if view.note else Text("")
    return Group(head, lines, Text(""), tier_table(view), Text(""), adl_text, note)


class DetailPanel(VerticalScroll):
    """Numbers behind the selected row, its bracket table and a mark-price sparkline."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.history: dict[str, deque[float]] = {}
        self._shown: tuple[object, ...] | None = None
        self._laid_out: str | None = None

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static(id="detail-text")
        yield Static(Text("mark (last 2 min)", style="dim"), id="spark-label")
        yield Sparkline([], id="spark")

    def record(self, key: str, mark: float) -> None:
        series = self.history.setdefault(key, deque(maxlen=240))
        if not series or series[-1] != mark or len(series) < 2:
            series.append(mark)

    def show(self, key: str | None, view: PositionView | None) -> None:
        text = self.query_one("#detail-text", Static)
        spark = self.query_one("#spark", Sparkline)
        series_now = tuple(self.history.get(key, ())) if key else ()
        signature = (
            key,
            None
            if view is None
            else (view.risk, view.mark_price, view.stale, None if view.mark_age_s is None else round(view.mark_age_s)),
            series_now[-1:],
            len(series_now),
        )
        if signature == self._shown:
            return
        self._shown = signature
        if view is None or key is None:
            text.update(Text("Select a position to see the numbers behind it.", style="dim"))
            spark.data = []
            return
        # Re-layout only when another position is shown: the same position's figures keep their shape.
        text.update(explain(view), layout=key != self._laid_out)
        self._laid_out = key
        series = list(self.history.get(key, ()))
        spark.data = series if len(series) > 1 and not any(math.isnan(x) for x in series) else []
