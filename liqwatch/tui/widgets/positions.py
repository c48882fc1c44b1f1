"""The positions table: sortable, filterable, coloured by risk; only changed cells are repainted.

Built on Textual's Line API: every row is one cached :class:`Strip`, composed directly from the
cells' texts and styles. A row's strip is rebuilt only when one of its cells, the cursor, the
hover or the column widths change, and only rows on screen are formatted and painted: rows off
screen just keep their latest view until they are scrolled into sight.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Collection, Sequence
from typing import ClassVar, NamedTuple

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from liqwatch.core.bands import BANDS, Band
from liqwatch.numfmt import plain
from liqwatch.output import adl_lights, display_tick, fmt_money, fmt_pct, fmt_price, money_in
from liqwatch.state import PositionView
from liqwatch.tui.backstop import Backstop, adl_marker, pool_cell

# The order on screen. The first REQUIRED columns stay in view at any usable size; when the width
# is short, whole columns are narrowed or dropped in the order of LAYOUT_STEPS, never a cell cut.
COLUMNS = (
    ("symbol", "Symbol"),
    ("side", "Side"),
    ("mark", "Mark"),
    ("liq", "Liq. price"),
    ("dlp", "Δ venue"),
    ("dist", "To liq."),
    ("mr", "Margin ratio"),
    ("adl", "ADL"),
    ("tier", "Tier"),
    ("pool", "Pool"),
    ("upnl", "uPnL"),
    ("size", "Size"),
    ("entry", "Entry"),
    ("bankr", "Bankr."),
    ("account", "Account"),
)
SHORT_LABELS = {
    "symbol": "Sym",
    "side": "Side",
    "mark": "Mark",
    "liq": "Liq",
    "dlp": "Δ",
    "dist": "Dist",
    "mr": "MR",
    "adl": "ADL",
    "tier": "T",
}
"""Headers of narrowed columns (the help screen spells them out)."""
REQUIRED = 9
"""Symbol to tier: the columns that must be in view at any terminal size from 80 columns."""
LAYOUT_STEPS: tuple[tuple[str, str], ...] = (
    ("drop", "account"),
    ("drop", "entry"),
    ("drop", "size"),
    ("narrow", "mr"),
    ("narrow", "tier"),
    ("narrow", "adl"),
    ("drop", "pool"),
    ("narrow", "side"),
    ("narrow", "dist"),
    ("narrow", "liq"),
    ("narrow", "symbol"),
    ("narrow", "dlp"),
    ("drop", "upnl"),
    ("drop", "bankr"),
    ("drop", "dlp"),
    ("drop", "tier"),
    ("drop", "adl"),
)
"""What gives way, in order, when the table is wider than its widget: ``narrow`` a column (its short
header and narrow form: L/S and x for the side, ADL e for an estimate, the tier without its MMR)
or ``drop`` it (its figures stay in the detail and the export). Layout ``k`` applies the first
``k`` steps; the table takes the smallest ``k`` that fits, so that the bankruptcy price and the
uPnL go last of the figures outside the required columns."""
COLUMN_INDEX = {key: i for i, (key, _) in enumerate(COLUMNS)}
CELL_PADDING = 1
"""Blank cells either side of every cell's text."""
HEADER = -1
"""The row index of the header (for the hover)."""
NOWHERE = -2
"""No row (the mouse is elsewhere)."""

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


BAND_STYLES: dict[Band, str] = {
    "safe": "green",
    "watch": "yellow",
    "danger": "red",
    "critical": "bold red",
    "liquidating": "bold white on red",
}
"""The row colour of each risk band (:data:`liqwatch.core.bands.BANDS`)."""


def risk_style(view: PositionView) -> str:
    risk = view.risk
    if risk is None:
        return "dim"
    return BAND_STYLES[BANDS.band(risk.margin_ratio or 0.0, risk.status)]


class Cell(NamedTuple):
    """One cell: its text, its Rich style (a style string) and whether it is right-aligned."""

    text: str
    style: str = ""
    right: bool = False

    def as_text(self) -> Text:
        return Text(self.text, style=self.style, justify="right" if self.right else None)


Row = tuple[Cell, ...]
"""A row's cells in COLUMNS order."""


def venue_delta(view: PositionView, tick: float) -> str:
    """The venue's liquidation price relative to liqwatch's, where they differ by a tick or more
    ("" where they agree, "—" where the venue gives none); both prices are in the detail."""
    risk = view.risk
    venue_lp = view.data.exchange_liquidation_price
    ours = None if risk is None else risk.liquidation_price
    if venue_lp is None:
        return "—"
    if ours is None:
        return "≠"
    if abs(venue_lp - ours) < tick:
        return ""
    return f"{(venue_lp - ours) / ours * 100:+.2f}%"


def side_text(view: PositionView, compact: bool) -> str:
    data = view.data
    if compact:
        return (
            ("L" if data.side == "long" else "S")
            + ("" if data.position_side == "both" else "h")
            + (" iso" if data.margin_mode == "isolated" else " x")
        )
    return (
        data.side
        + ("" if data.position_side == "both" else " hedge")
        + (" iso" if data.margin_mode == "isolated" else " cross")
    )


def cells(view: PositionView, narrow: Collection[str] = (), backstop: Backstop | None = None) -> Row:
    """A row's cells; ``narrow``: the columns in their narrow forms (side: L/S, x for cross; ADL:
    lights and e for an estimate; tier: without its MMR; liq: the venue's price as ``—v``).
    ``backstop``: the venue's market data for the symbol (the ADL cell ends in ``!`` close to the
    venue's ADL, ``!!`` while it runs; the Pool cell is the pool's drawdown from its 8-hour
    maximum)."""
    data = view.data
    risk = view.risk
    tick = display_tick_for(view)
    style = risk_style(view)
    mark = fmt_price(view.mark_price, tick)
    if view.stale:
        age = "no feed" if view.mark_age_s is None else f"{view.mark_age_s:.0f}s"
        mark_cell = Cell(f"{mark} ⚠{age}", "bold yellow reverse")
    else:
        mark_cell = Cell(mark)
    liq = "—" if risk is None else fmt_price(risk.liquidation_price, tick)
    side = Cell(side_text(view, "side" in narrow), "green" if data.side == "long" else "red")
    symbol = Cell(data.symbol.split(":")[0])
    delta = Cell(venue_delta(view, tick), "yellow", True)
    marker, marker_style = adl_marker(backstop)
    pool_text, pool_style = pool_cell(backstop)
    pool = Cell(pool_text, pool_style, True)
    if risk is None:
        venue_lp = data.exchange_liquidation_price
        pooled = view.collateral  # a multi-assets account's cross position: ours, from the collateral
        if pooled is not None:
            liq = fmt_price(pooled.liquidation_price, tick)
        elif venue_lp is not None:  # liqwatch has no price of its own here: the venue's, labelled
            liq = f"—v {fmt_price(venue_lp, tick)}" if "liq" in narrow else f"— (venue {fmt_price(venue_lp, tick)})"
        ratio = view.venue_margin_ratio  # the venue's account figures (account-level margin)
        return (
            symbol,
            side,
            mark_cell,
            Cell(liq, style, True),
            Cell(""),
            Cell("—", style, True),
            Cell("—" if ratio is None else f"{fmt_pct(ratio)} acct", style, True),
            Cell("—" + marker, marker_style),
            Cell("—"),
            pool,
            Cell("—", "", True),
            Cell(f"{plain(data.size)}", "", True),
            Cell(fmt_price(data.entry_price, tick), "", True),
            Cell("—", "", True),
            Cell(view.account),
        )
    adl = risk.adl
    settle = getattr(data, "settle", None)
    upnl = (
        money_in(risk.unrealized_pnl, settle) if isinstance(settle, str) and settle else fmt_money(risk.unrealized_pnl)
    )
    return (
        symbol,
        side,
        mark_cell,
        Cell(liq, style, True),
        delta,
        Cell(fmt_pct(risk.distance_to_liquidation), style, True),
        Cell(fmt_pct(risk.margin_ratio) + ("" if risk.status == "ok" else " LIQ"), style, True),
        Cell(
            (
                ("●" * adl.lights + "○" * (5 - adl.lights) + ("e" if adl.source != "exchange" else ""))
                if "adl" in narrow
                else adl_lights(adl.lights, adl.source)
            )
            + marker,
            marker_style or ("bold magenta" if adl.lights >= 4 else ""),
        ),
        Cell(str(risk.tier.index) if "tier" in narrow else f"{risk.tier.index} · {risk.tier.mmr * 100:.2f}%"),
        pool,
        Cell(upnl, "green" if risk.unrealized_pnl >= 0 else "red", True),
        Cell(f"{plain(data.size)}", "", True),
        Cell(fmt_price(data.entry_price, tick), "", True),
        Cell(fmt_price(risk.bankruptcy_price, tick), "", True),
        Cell(view.account),
    )


def display_tick_for(view: PositionView) -> float:
    if view.risk is not None:
        return display_tick(view.risk.spec)
    return 10.0 ** (math.floor(math.log10(view.mark_price)) - 5)


class _Look:
    """The styles of one kind of row (header, even, odd; with or without cursor or hover), layered
    like DataTable's: the row's style, then the cell's own, then the cursor's colours."""

    __slots__ = ("cells", "fill", "pad", "post", "pre")

    def __init__(self, pre: Style, post: Style) -> None:
        self.pre = pre
        self.post = post
        self.fill = pre
        """The space right of the last column when the table is narrower than the widget."""
        self.cells: dict[str, Style] = {}
        """By cell style: ``""`` for the padding and texts with no style of their own."""
        self.pad = self.cell("")

    def cell(self, style: str) -> Style:
        """One Style object per cell style, so that runs of the same style are told by identity."""
        combined = self.cells.get(style)
        if combined is None:
            combined = self.cells[style] = self.pre + (Style.parse(style) if style else Style()) + self.post
        return combined


class PositionsTable(ScrollView, can_focus=True):
    """Rows are keyed by account, symbol and side; cells compare their text before repainting."""

    ALLOW_SELECT = False

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor_up", "Cursor up", show=False),
        Binding("down", "cursor_down", "Cursor down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("ctrl+home", "first_row", "First row", show=False),
        Binding("ctrl+end", "last_row", "Last row", show=False),
        Binding("home", "leftmost", "Leftmost column", show=False),
        Binding("end", "rightmost", "Rightmost column", show=False),
        Binding("left", "scroll_left", "Scroll left", show=False),
        Binding("right", "scroll_right", "Scroll right", show=False),
    ]
    """The keys of DataTable with a row cursor."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "positions-table--cursor",
        "positions-table--hover",
        "positions-table--header",
        "positions-table--header-hover",
        "positions-table--odd-row",
        "positions-table--even-row",
    }

    # The look of Textual's DataTable, which this table replaces.
    DEFAULT_CSS = """
    PositionsTable {
        background: $surface;
        color: $foreground;
        height: auto;
        max-height: 100%;

        &:focus {
            background-tint: $foreground 5%;
            & > .positions-table--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .positions-table--header {
                background-tint: $foreground 5%;
            }
        }
        &:dark {
            & > .positions-table--even-row {
                background: $surface-darken-1 40%;
            }
        }
        & > .positions-table--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        &:ansi > .positions-table--header {
            background: ansi_bright_blue;
            color: ansi_default;
        }
        & > .positions-table--odd-row {
        }
        & > .positions-table--even-row {
            background: $surface-lighten-1 50%;
        }
        & > .positions-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        & > .positions-table--hover {
            background: $block-hover-background;
        }
        & > .positions-table--header-hover {
            background: $accent 30%;
        }
    }
    """

    class RowHighlighted(Message):
        """The cursor moved to another row (or another position came under it)."""

        def __init__(self, table: PositionsTable, cursor_row: int, row_key: str) -> None:
            super().__init__()
            self.table = table
            self.cursor_row = cursor_row
            self.row_key = row_key

        @property
        def control(self) -> PositionsTable:
            return self.table

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.sort_name = "nearest liquidation"
        self.filter_text = ""
        self.cell_updates = 0
        """Cells repainted since start (for tests and benchmarks)."""
        self._order: list[str] = []
        self._index: dict[str, int] = {}
        self._views: dict[str, PositionView] = {}
        self._cells: dict[str, Row] = {}
        self._fresh: set[str] = set()
        """Rows whose cells were formatted from their latest view."""
        self._sorted_at = 0.0
        self._cursor_row = 0
        self._hover_row = NOWHERE
        self._highlighted: tuple[int, str] | None = None
        self.layout_step = 0
        """How many of :data:`LAYOUT_STEPS` apply (0: every column in its full form)."""
        self.narrow: frozenset[str] = frozenset()
        """Columns in their narrow forms, with their short headers."""
        self.hidden: frozenset[str] = frozenset()
        """Columns dropped for want of width (their figures are in the detail)."""
        self._shown = list(range(len(COLUMNS)))
        """Indices of the columns drawn, in COLUMNS order."""
        self.backstop: Callable[[PositionView], Backstop | None] = lambda _: None
        """Each row's market data (issue #13): the venue's pool and ADL state for its symbol."""
        self._widths = [cell_len(label) for label in self.labels()]
        self._seen: dict[tuple[int, bool], int] = {}
        """Each column's width in each form (narrow or not) when it was last measured: the widths
        of the forms not in use, for choosing the layout."""
        self._strips: dict[str, tuple[tuple[int, int, bool, bool, int], Strip]] = {}
        self._epoch = 0
        """Bumped whenever every strip must be rebuilt (styles, widths, widget width)."""
        self._looks: dict[tuple[bool, int, bool, bool], _Look] = {}
        self._header: tuple[tuple[int, bool, int], Strip] | None = None
        self._base_style: Style | None = None
        self._pseudo_state: object = None
        self._paint: tuple[int, int, int] | None = None

    # ------------------------------------------------------------------ public surface

    @property
    def order(self) -> list[str]:
        """Row keys in display order."""
        return list(self._order)

    @property
    def row_count(self) -> int:
        return len(self._order)

    @property
    def cursor_row(self) -> int:
        return self._cursor_row

    def selected_key(self) -> str | None:
        if not self._order or self._cursor_row >= len(self._order):
            return None
        return self._order[self._cursor_row]

    def get_cell(self, row_key: str, column_key: str) -> Text:
        """The cell as Rich Text (raises KeyError for an unknown row or column)."""
        return self._row_cells(row_key)[COLUMN_INDEX[column_key]].as_text()

    def show(
        self, views: list[PositionView], *, force_sort: bool = False, keyed: dict[str, PositionView] | None = None
    ) -> None:
        """Show ``views`` (``keyed``: the same views by :func:`row_key`, where the caller has them)."""
        needle = self.filter_text.lower()
        by_key = keyed if keyed is not None and not needle else {row_key(v): v for v in self._filtered(views)}
        now = time.monotonic()
        selected = self.selected_key()
        self._views = by_key
        sort_key = SORTS[self.sort_name]
        if by_key.keys() != self._index.keys():
            self._sorted_at = now
            self._rebuild(sorted(by_key, key=lambda k: sort_key(by_key[k])), selected)
            return
        if force_sort or now - self._sorted_at >= RESORT_SECONDS:
            order = sorted(by_key, key=lambda k: sort_key(by_key[k]))
            self._sorted_at = now
            if order != self._order:
                self._reorder(order, selected)
        # Only rows on screen are formatted now; the others when they are scrolled into view.
        self._format_on_screen()
        self._post_highlight()

    def backstop_changed(self) -> None:
        """New market data: the rows on screen are formatted again (only changed cells repaint);
        the others when they are scrolled into view."""
        self._format_on_screen()

    def _format_on_screen(self) -> None:
        """Format the rows on screen from their latest views and repaint the changed ones, as one
        refresh of runs of adjacent rows (not one per row)."""
        self._fresh = set()
        order = self._order
        top = self.scroll_offset.y
        dirty: list[int] = []
        epoch = self._epoch
        for index in range(top, min(len(order), top + self._rows_on_screen())):
            self._format(order[index], index, dirty=dirty)
        if not dirty or self._epoch != epoch:  # nothing changed, or the widths did (all repainted)
            return
        self._refresh_rows(dirty)

    def _refresh_rows(self, indices: list[int]) -> None:
        """Repaint the rows at ``indices`` (ascending, on screen) as one refresh of runs of
        adjacent rows (not one per row)."""
        if not indices:
            return
        top = self.scroll_offset.y
        width = self.size.width
        regions: list[Region] = []
        start = prev = indices[0]
        for index in indices[1:]:
            if index != prev + 1:
                regions.append(Region(0, start + 1 - top, width, prev - start + 1))
                start = index
            prev = index
        regions.append(Region(0, start + 1 - top, width, prev - start + 1))
        self.refresh(*regions)

    def move_cursor(self, *, row: int | None = None, animate: bool = False, scroll: bool = True) -> None:
        """Put the cursor on ``row`` (clamped to the table), scroll it into view and tell the app."""
        del animate  # rows are one line high: scrolling is immediate
        if row is not None:
            row = max(0, min(row, len(self._order) - 1))
            old = self._cursor_row
            if row != old:
                self._cursor_row = row
                self._refresh_row(old)
                self._refresh_row(row)
        if scroll:
            self._scroll_cursor_into_view()
        self._post_highlight()

    # ------------------------------------------------------------------ rows

    def _filtered(self, views: list[PositionView]) -> list[PositionView]:
        needle = self.filter_text.lower()
        if not needle:
            return views
        return [v for v in views if needle in f"{v.account} {v.data.symbol} {v.data.side} {v.exchange}".lower()]

    def _rows_on_screen(self) -> int:
        return max(0, self.scrollable_content_region.height - 1)  # the header takes the first line

    def _rebuild(self, order: list[str], selected: str | None) -> None:
        """Another set of rows: format them all so that the columns get their widths once."""
        self._order = order
        self._index = {key: i for i, key in enumerate(order)}
        narrow = self.narrow
        backstop = self.backstop
        self._cells = {key: cells(view := self._views[key], narrow, backstop(view)) for key in order}
        self._fresh = set(order)
        self._strips.clear()
        self._hover_row = NOWHERE
        widths = [cell_len(label) for label in self.labels()]
        for row in self._cells.values():
            for i, cell in enumerate(row):
                widths[i] = max(widths[i], cell_len(cell.text))
        self._set_widths(widths)
        self.virtual_size = Size(self._table_width(), len(order) + 1)
        self._cursor_row = self._index.get(selected, 0) if selected is not None else 0
        self.refresh()
        self._scroll_cursor_into_view()
        self.call_after_refresh(self._scroll_cursor_into_view)
        self._post_highlight()
        self._check_fit()

    def _reorder(self, order: list[str], selected: str | None) -> None:
        """Same rows, new places: the cursor follows its position; cached strips stay valid. Only
        the lines on screen whose row changed are repainted (a resort every few seconds swaps a
        few rows; repainting the whole table cost as much as the rest of the second's frame)."""
        old = self._order
        self._order = order
        self._index = {key: i for i, key in enumerate(order)}
        if selected is not None:
            self._cursor_row = self._index[selected]
        top = self.scroll_offset.y
        self._refresh_rows(
            [
                i
                for i in range(top, min(len(order), top + self._rows_on_screen()))
                if i >= len(old) or old[i] != order[i]
            ]
        )
        self._scroll_cursor_into_view()

    def _format(self, key: str, index: int, *, painting: bool = False, dirty: list[int] | None = None) -> Row:
        """Format a row from its latest view; repaint it if any cell changed (``painting``: it is
        being painted right now; ``dirty``: collect its index there, the caller repaints)."""
        view = self._views[key]
        row = cells(view, self.narrow, self.backstop(view))
        self._fresh.add(key)
        old = self._cells.get(key)
        if old == row:
            return row
        self._cells[key] = row
        if old is None:
            changed: Sequence[int] = range(len(row))
        else:
            changed = [i for i, (new_cell, old_cell) in enumerate(zip(row, old, strict=True)) if new_cell != old_cell]
        self.cell_updates += len(changed)
        widths = self._widths
        if any(cell_len(row[i].text) > widths[i] for i in changed):
            self._set_widths([max(w, cell_len(cell.text)) for w, cell in zip(widths, row, strict=True)])
            if painting:
                self.call_later(self._widths_changed)
            else:
                self._widths_changed()
        else:
            self._strips.pop(key, None)
            if dirty is not None:
                dirty.append(index)
            elif not painting:
                self._refresh_row(index)
        return row

    def _widths_changed(self) -> None:
        self.virtual_size = Size(self._table_width(), len(self._order) + 1)
        self.refresh()
        self._check_fit()

    def labels(self) -> list[str]:
        """The headers of every column (short ones for narrowed columns)."""
        narrow = self.narrow
        return [SHORT_LABELS.get(key, label) if key in narrow else label for key, label in COLUMNS]

    def shown_columns(self) -> list[str]:
        """The keys of the columns drawn, in order (the others were dropped for want of width)."""
        return [COLUMNS[i][0] for i in self._shown]

    def required_width(self) -> int:
        """Cells the required columns (symbol to tier) in view take."""
        shown = [i for i in self._shown if i < REQUIRED]
        return sum(self._widths[i] for i in shown) + 2 * CELL_PADDING * len(shown)

    @staticmethod
    def _layout_of(step: int) -> tuple[frozenset[str], frozenset[str]]:
        """The narrowed and the dropped columns of layout ``step``."""
        steps = LAYOUT_STEPS[:step]
        return (
            frozenset(key for op, key in steps if op == "narrow"),
            frozenset(key for op, key in steps if op == "drop"),
        )

    def _need(self, step: int) -> int:
        """The width layout ``step`` takes: the columns' widths in its forms, as last measured (a
        form never measured counts as its header, and is measured once it is used)."""
        narrow, hidden = self._layout_of(step)
        total = 0
        for i, (key, label) in enumerate(COLUMNS):
            if key in hidden:
                continue
            form = key in narrow
            if form == (key in self.narrow):
                width = self._widths[i]
            else:
                width = self._seen.get((i, form), cell_len(SHORT_LABELS.get(key, label) if form else label))
            total += width + 2 * CELL_PADDING
        return total

    def _check_fit(self) -> None:
        """The widest layout that fits (every column full where they all fit); re-checked when
        the widget's width or a column's width changes."""
        available = self.scrollable_content_region.width
        if available <= 0 or not self._order:
            return
        step = next((k for k in range(len(LAYOUT_STEPS) + 1) if self._need(k) <= available), len(LAYOUT_STEPS))
        if step != self.layout_step:
            self._set_layout(step)

    def _set_layout(self, step: int) -> None:
        self.layout_step = step
        self.narrow, self.hidden = self._layout_of(step)
        self._shown = [i for i, (key, _) in enumerate(COLUMNS) if key not in self.hidden]
        self._invalidate()
        self._rebuild(self._order, self.selected_key())

    def _row_cells(self, key: str, *, painting: bool = False) -> Row:
        if key not in self._fresh:
            return self._format(key, self._index[key], painting=painting)
        return self._cells[key]

    def _set_widths(self, widths: list[int]) -> None:
        narrow = self.narrow
        for i, (key, _) in enumerate(COLUMNS):
            self._seen[(i, key in narrow)] = widths[i]
        if widths != self._widths:
            self._widths = widths
            self._invalidate()

    def _table_width(self) -> int:
        widths = self._widths
        return sum(widths[i] for i in self._shown) + 2 * CELL_PADDING * len(self._shown)

    def _refresh_row(self, index: int) -> None:
        """Repaint a row if it is on screen (or the header)."""
        if index == HEADER:
            self.refresh(Region(0, 0, self.size.width, 1))
            return
        top = self.scroll_offset.y
        if top <= index < top + self._rows_on_screen():
            self.refresh(Region(0, index + 1 - top, self.size.width, 1))

    # ------------------------------------------------------------------ cursor, keys and mouse

    def _post_highlight(self) -> None:
        key = self.selected_key()
        if key is None:
            self._highlighted = None
            return
        highlighted = (self._cursor_row, key)
        if highlighted != self._highlighted:
            self._highlighted = highlighted
            self.post_message(self.RowHighlighted(self, self._cursor_row, key))

    def _scroll_cursor_into_view(self) -> None:
        rows = self._rows_on_screen()
        if rows <= 0 or not self._order:
            return
        top = self.scroll_offset.y
        row = self._cursor_row
        if row < top:
            self.scroll_to(y=row, animate=False, force=True)
        elif row >= top + rows:
            self.scroll_to(y=row - rows + 1, animate=False, force=True)

    def _set_hover(self, row: int) -> None:
        if row != self._hover_row:
            old, self._hover_row = self._hover_row, row
            self._refresh_row(old)
            self._refresh_row(row)

    def action_cursor_up(self) -> None:
        self._set_hover(NOWHERE)
        self.move_cursor(row=self._cursor_row - 1)

    def action_cursor_down(self) -> None:
        self._set_hover(NOWHERE)
        self.move_cursor(row=self._cursor_row + 1)

    def action_page_up(self) -> None:
        self._set_hover(NOWHERE)
        page = max(1, self._rows_on_screen())
        self.scroll_to(y=self.scroll_y - page, animate=False, force=True)
        self.move_cursor(row=self._cursor_row - page)

    def action_page_down(self) -> None:
        self._set_hover(NOWHERE)
        page = max(1, self._rows_on_screen())
        self.scroll_to(y=self.scroll_y + page, animate=False, force=True)
        self.move_cursor(row=self._cursor_row + page)

    def action_first_row(self) -> None:
        self._set_hover(NOWHERE)
        self.move_cursor(row=0)

    def action_last_row(self) -> None:
        self._set_hover(NOWHERE)
        self.move_cursor(row=len(self._order) - 1)

    def action_leftmost(self) -> None:
        self._set_hover(NOWHERE)
        self.scroll_to(x=0, animate=False)

    def action_rightmost(self) -> None:
        self._set_hover(NOWHERE)
        self.scroll_to(x=self.max_scroll_x, animate=False)

    def _row_at(self, event: events.MouseEvent) -> int:
        offset = event.get_content_offset(self)
        if offset is None or offset.y >= self.scrollable_content_region.height:
            return NOWHERE
        if offset.y == 0:
            return HEADER
        index = offset.y - 1 + self.scroll_offset.y
        return index if index < len(self._order) else NOWHERE

    def on_click(self, event: events.Click) -> None:
        index = self._row_at(event)
        if index >= 0:
            event.stop()
            self.move_cursor(row=index)

    def on_mouse_move(self, event: events.MouseMove) -> None:
        self._set_hover(self._row_at(event))

    def on_leave(self, _: events.Leave) -> None:
        self._set_hover(NOWHERE)

    def on_resize(self, _: events.Resize) -> None:
        self._invalidate()
        self._scroll_cursor_into_view()
        self._check_fit()

    # ------------------------------------------------------------------ Line API

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._invalidate()
        self.refresh()

    def _invalidate(self) -> None:
        """Every strip is rebuilt on its next paint (rare: styles, widths or widget width changed)."""
        self._epoch += 1
        self._looks.clear()
        self._header = None
        self._base_style = None

    def render_lines(self, crop: Region) -> list[Strip]:
        state = self.get_pseudo_class_state()
        if state != self._pseudo_state:  # focus, hover: the CSS may give rows other colours
            self._pseudo_state = state
            self._invalidate()
        # The width and scroll offsets, read once for the lines of this paint (each read of a
        # widget's size walks its region and gutters).
        offset = self.scroll_offset
        self._paint = (self.size.width, offset.x, offset.y)
        try:
            return super().render_lines(crop)
        finally:
            self._paint = None

    def _view(self) -> tuple[int, int, int]:
        """Width, horizontal and vertical scroll offset (of the paint under way, if one is)."""
        if self._paint is not None:
            return self._paint
        offset = self.scroll_offset
        return self.size.width, offset.x, offset.y

    def render_line(self, y: int) -> Strip:
        width, x, top = self._view()
        if self._base_style is None:
            self._base_style = self.rich_style
        if y == 0:
            strip = self._header_strip()
        else:
            index = y - 1 + top
            if index >= len(self._order):
                return Strip.blank(width, self._base_style)
            strip = self._row_strip(index)
        return strip.crop(x, x + width).adjust_cell_length(width, self._base_style)

    def _look(self, header: bool, parity: int, cursor: bool, hover: bool) -> _Look:
        """Styles layered like DataTable's: row style, then the cell's own, then the cursor's colours."""
        key = (header, parity, cursor, hover)
        look = self._looks.get(key)
        if look is None:
            if header:
                row_style = self.get_component_styles("positions-table--header").rich_style
            else:
                name = "positions-table--odd-row" if parity else "positions-table--even-row"
                row_style = self.get_component_styles(name).rich_style
            component = Style()
            if hover:
                component += self.get_component_rich_style("positions-table--hover")
                if header:
                    component += self.get_component_rich_style("positions-table--header-hover")
            if cursor:
                component += self.get_component_rich_style("positions-table--cursor")
            post = Style.from_color(component.color) + Style.from_color(bgcolor=component.bgcolor)
            look = self._looks[key] = _Look(row_style + component, post)
        return look

    def _strip_for(self, row: Sequence[Cell], look: _Look) -> Strip:
        """One line of the cells in view (those scrolled off sideways become one blank piece, those
        beyond the right edge are not built; a cell only partly in view is blank: a figure is
        never cut). Only the columns shown are drawn. Adjacent texts of the same style make one segment:
        every later stage (cropping, colour filters, the compositor's cuts, the terminal's
        output) walks a line segment by segment, and a row of plain cells is then one segment."""
        segments: list[Segment] = []
        add = segments.append
        texts: list[str] = []
        """The current run of padding and plain texts (all in the look's padding style)."""
        pad = " " * CELL_PADDING
        pad_style = look.pad
        cell_style = look.cell
        view_width, left, _ = self._view()
        right = left + view_width
        span_pad = 2 * CELL_PADDING
        x = 0
        skipped = 0
        widths = self._widths
        for i in self._shown:
            width = widths[i]
            span = width + span_pad
            if x >= right:
                break
            start = x
            x += span
            if start < left:
                skipped += span
                continue
            if x > right:  # cut by the right edge: left blank
                skipped += span
                break
            if skipped:
                add(Segment(" " * skipped, look.fill))
                skipped = 0
            cell = row[i]
            text = cell.text
            length = cell_len(text)
            if length > width:
                text, length = set_cell_size(text, width), width
            gap = " " * (width - length)
            if not cell.style:
                texts += (pad, gap, text, pad) if cell.right else (pad, text, gap, pad)
                continue
            texts.append(pad)
            add(Segment("".join(texts), pad_style))
            style = cell_style(cell.style)
            if cell.right:
                add(Segment(gap + text, style))
                texts = [pad]
            else:
                if text:
                    add(Segment(text, style))
                texts = [gap, pad]
        run = "".join(texts)
        if run:
            add(Segment(run, pad_style))
        if skipped:
            add(Segment(" " * skipped, look.fill))
        fill = view_width - self._table_width()
        if x < right and fill > 0:
            add(Segment(" " * fill, look.fill))
            x += fill
        return Strip(segments, x)

    def _header_strip(self) -> Strip:
        state = (self._epoch, self._hover_row == HEADER, self._view()[1])
        if self._header is None or self._header[0] != state:
            look = self._look(True, 0, False, state[1])
            self._header = (state, self._strip_for([Cell(label) for label in self.labels()], look))
        return self._header[1]

    def _row_strip(self, index: int) -> Strip:
        key = self._order[index]
        row = self._row_cells(key, painting=True)
        cursor = index == self._cursor_row
        hover = index == self._hover_row
        state = (self._epoch, index & 1, cursor, hover, self._view()[1])
        cached = self._strips.get(key)
        if cached is not None and cached[0] == state:
            return cached[1]
        strip = self._strip_for(row, self._look(False, index & 1, cursor, hover))
        self._strips[key] = (state, strip)
        return strip
