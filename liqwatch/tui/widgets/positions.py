"""The positions table: sortable, filterable, coloured by risk; only changed cells are repainted."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from rich.text import Text
from textual.widgets import DataTable

from liqwatch.output import adl_lights, display_tick, fmt_money, fmt_pct, fmt_price
from liqwatch.state import PositionView

# Most important first: on a narrow terminal the table scrolls sideways and these stay in view.
COLUMNS = (
    ("symbol", "Symbol"),
    ("side", "Side"),
    ("mark", "Mark"),
    ("liq", "Liq. price"),
    ("dist", "To liq."),
    ("mr", "Margin ratio"),
    ("adl", "ADL"),
    ("tier", "Tier"),
    ("upnl", "uPnL"),
    ("size", "Size"),
    ("entry", "Entry"),
    ("bankr", "Bankr."),
    ("account", "Account"),
)

SORTS: dict[str, Callable[[PositionView], tuple[float, str]]] = {
    "nearest liquidation": lambda v: (
        math.inf if v.risk is None or v.risk.distance_to_liquidation is None else v.risk.distance_to_liquidation,
        v.data.symbol,
    ),
    "margin ratio": lambda v: (-(v.risk.margin_ratio or math.inf) if v.risk else math.inf, v.data.symbol),
    "uPnL": lambda v: (v.risk.unrealized_pnl if v.risk else math.inf, v.data.symbol),
    "symbol": lambda v: (0.0, f"{v.data.symbol} {v.account}"),
    "account": lambda v: (0.0, f"{v.account} {v.data.symbol}"),
}
RESORT_SECONDS = 2.0
"""Rows keep their places between re-sorts so that they do not jump under the reader's eye."""


def row_key(view: PositionView) -> str:
    return f"{view.account}|{view.data.symbol}|{view.data.side}"


def risk_style(view: PositionView) -> str:
    risk = view.risk
    if risk is None:
        return "dim"
    if risk.status != "ok":
        return "bold white on red"
    ratio = risk.margin_ratio or 0.0
    if ratio >= 0.85:
        return "bold red"
    if ratio >= 0.7:
        return "red"
    if ratio >= 0.5:
        return "yellow"
    return "green"


def cells(view: PositionView) -> dict[str, Text]:
    data = view.data
    risk = view.risk
    tick = display_tick_for(view)
    style = risk_style(view)
    mark = fmt_price(view.mark_price, tick)
    if view.stale:
        age = "no feed" if view.mark_age_s is None else f"{view.mark_age_s:.0f}s"
        mark_text = Text(f"{mark} ⚠{age}", style="bold yellow reverse")
    else:
        mark_text = Text(mark)
    liq = "—" if risk is None else fmt_price(risk.liquidation_price, tick)
    venue_lp = data.exchange_liquidation_price
    ours = None if risk is None else risk.liquidation_price
    if ours is not None and venue_lp is not None and abs(venue_lp - ours) >= tick:
        liq += f" (venue {fmt_price(venue_lp, tick)})"
    side = (
        data.side
        + ("" if data.position_side == "both" else " hedge")
        + (" iso" if data.margin_mode == "isolated" else " cross")
    )
    out = {
        "account": Text(view.account),
        "symbol": Text(data.symbol.split(":")[0]),
        "side": Text(side, style="green" if data.side == "long" else "red"),
        "size": Text(f"{data.size:,.6g}", justify="right"),
        "entry": Text(fmt_price(data.entry_price, tick), justify="right"),
        "mark": mark_text,
        "liq": Text(liq, style=style, justify="right"),
        "bankr": Text("—" if risk is None else fmt_price(risk.bankruptcy_price, tick), justify="right"),
        "dist": Text("—" if risk is None else fmt_pct(risk.distance_to_liquidation), style=style, justify="right"),
        "mr": Text(
            "—" if risk is None else fmt_pct(risk.margin_ratio) + ("" if risk.status == "ok" else " LIQ"),
            style=style,
            justify="right",
        ),
        "tier": Text("—" if risk is None else f"{risk.tier.index} · {risk.tier.mmr * 100:.2f}%"),
        "adl": Text(
            "—" if risk is None else adl_lights(risk.adl.lights, risk.adl.source),
            style="bold magenta" if risk is not None and risk.adl.lights >= 4 else "",
        ),
        "upnl": Text(
            "—" if risk is None else fmt_money(risk.unrealized_pnl),
            style="" if risk is None else ("green" if risk.unrealized_pnl >= 0 else "red"),
            justify="right",
        ),
    }
    return out


def display_tick_for(view: PositionView) -> float:
    if view.risk is not None:
        return display_tick(view.risk.spec)
    return 10.0 ** (math.floor(math.log10(view.mark_price)) - 5)


class KeyedText(Text):
    """A cell that knows its row, so that DataTable.sort can order rows by our own ranking."""

    row_key: str = ""

    @classmethod
    def keyed(cls, text: Text, key: str) -> KeyedText:
        keyed = cls(text.plain, style=text.style, justify=text.justify)
        keyed.row_key = key
        return keyed


def _signature(text: Text) -> str:
    return f"{text.plain}\x00{text.style}"


class PositionsTable(DataTable[Text]):
    """Rows are keyed by account, symbol and side; cells compare their text before repainting."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)  # type: ignore[arg-type]
        self.sort_name = "nearest liquidation"
        self.filter_text = ""
        self._shown: dict[str, dict[str, str]] = {}
        self._order: list[str] = []
        self._sorted_at = 0.0
        self.cell_updates = 0
        """Cells repainted since start (for tests and benchmarks)."""

    def on_mount(self) -> None:
        for key, label in COLUMNS:
            self.add_column(label, key=key)

    def _visible(self, views: list[PositionView]) -> list[PositionView]:
        needle = self.filter_text.lower()
        if not needle:
            return views
        return [v for v in views if needle in f"{v.account} {v.data.symbol} {v.data.side} {v.exchange}".lower()]

    def _viewport(self) -> range:
        """Rows on screen (plus a margin): the only ones whose cells are formatted and repainted."""
        first = max(0, int(self.scroll_offset.y) - 5)
        return range(first, first + self.size.height + 10)

    def show(self, views: list[PositionView], *, force_sort: bool = False) -> None:
        views = self._visible(views)
        by_key = {row_key(v): v for v in views}
        now = time.monotonic()
        if set(by_key) != set(self._order):
            order = [row_key(v) for v in sorted(views, key=SORTS[self.sort_name])]
            self._rebuild(order, by_key)
            self._sorted_at = now
        elif force_sort or now - self._sorted_at >= RESORT_SECONDS:
            order = [row_key(v) for v in sorted(views, key=SORTS[self.sort_name])]
            self._sorted_at = now
            if order != self._order:
                self._reorder(order)
        order = self._order
        for index in self._viewport():
            if index >= len(order):
                break
            key = order[index]
            self._update_row(key, cells(by_key[key]))

    def _reorder(self, order: list[str]) -> None:
        """Move rows without re-adding them (DataTable.sort on the key carried by the first cell)."""
        selected = self.selected_key()
        rank = {key: i for i, key in enumerate(order)}
        self.sort(COLUMNS[0][0], key=lambda cell: rank[cell.row_key])
        self._order = order
        if selected in rank:
            self.move_cursor(row=rank[selected], animate=False)

    def _rebuild(self, order: list[str], by_key: dict[str, PositionView]) -> None:
        selected = self.selected_key()
        self.clear()
        self._shown = {}
        for key in order:
            row = cells(by_key[key])
            row[COLUMNS[0][0]] = KeyedText.keyed(row[COLUMNS[0][0]], key)
            self.add_row(*(row[c] for c, _ in COLUMNS), key=key)
            self._shown[key] = {c: _signature(row[c]) for c, _ in COLUMNS}
        self._order = order
        if selected in order:
            self.move_cursor(row=order.index(selected), animate=False)

    def _update_row(self, key: str, row: dict[str, Text]) -> None:
        shown = self._shown.setdefault(key, {})
        for column, text in row.items():
            signature = _signature(text)
            if shown.get(column) != signature:
                cell = KeyedText.keyed(text, key) if column == COLUMNS[0][0] else text
                self.update_cell(key, column, cell)
                shown[column] = signature
                self.cell_updates += 1

    @property
    def order(self) -> list[str]:
        """Row keys in display order."""
        return list(self._order)

    def selected_key(self) -> str | None:
        if not self._order or self.cursor_row >= len(self._order):
            return None
        return self._order[self.cursor_row]
