"""The numbers behind each figure of the selected position."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.segment import Segment
from rich.style import Style as RichStyle
from rich.table import Table
from rich.text import Text
from textual.containers import Container, VerticalScroll
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.style import Style
from textual.visual import Visual, visualize
from textual.widget import Widget

from liqwatch.core.collateral import AssetValue, CollateralPosition, CollateralRisk
from liqwatch.core.venues import get_venue
from liqwatch.numfmt import plain
from liqwatch.output import adl_lights, display_tick, fmt_money, fmt_pct, fmt_price, money_in
from liqwatch.records import live_loss_fields
from liqwatch.state import PositionView
from liqwatch.tui.backstop import Backstop, backstop_rows
from liqwatch.tui.history import Point
from liqwatch.tui.widgets.chart import Level, LineChart, Series
from liqwatch.views import VenueCollateral

ADL_HELP = {
    "exchange": "reported by the venue",
    "estimate": "liqwatch's estimate from the venue's ranking formula (not the venue's own figure)",
}


def _signed(x: float) -> str:
    """``x`` to six significant digits with its sign (``+12.5``, ``-0.003``), never scientific."""
    return ("+" if x > 0 else "") + plain(x)


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
            f"{plain(t.mmr * 100, 3)}%",
            f"{t.maint_amount:,.2f}",
            f"{plain(t.max_leverage)}x",
            style=style,
        )
    return table


def age_text(age_s: float) -> str:
    """A mark's age in whole seconds: finer figures would change (and repaint) on every refresh."""
    return "<1s" if age_s < 1 else f"{int(age_s)}s"


def settle_of(view: PositionView) -> str | None:
    """The currency a position's amounts are in, where its record says (inverse markets settle in
    the coin); None where it does not."""
    settle = getattr(view.data, "settle", None)
    return settle if isinstance(settle, str) and settle else None


def money_fn(settle: str | None) -> Callable[[float | None], str]:
    """Amounts with the settlement currency after the figure (coin precision for a coin), where
    the record says; plain ``fmt_money`` where it does not."""
    if not settle:
        return fmt_money
    return lambda value: money_in(value, settle)


class KeyValues:
    """Figures as two columns, a dim key and its value, the value wrapped under itself: what a
    two-column ``Table.grid`` draws, at a fraction of its cost (it is drawn again on every mark)."""

    def __init__(self, rows: list[tuple[str, str]], gap: int = 2) -> None:
        self.rows = rows
        self.gap = gap

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        key_width = max((len(key) for key, _ in self.rows), default=0) + self.gap
        value_width = max(1, options.max_width - key_width)
        dim = RichStyle(dim=True)
        blank = " " * key_width
        for key, value in self.rows:
            lines = Text(value).wrap(console, value_width) if len(value) > value_width else [Text(value)]
            for i, line in enumerate(lines):
                yield Segment(key.ljust(key_width) if i == 0 else blank, dim if i == 0 else None)
                yield Segment(line.plain.rstrip())
                yield Segment.line()


Part = tuple[Hashable, Callable[[], RenderableType]]
"""A block of the panel: a signature of what it shows, and how to build it (only when that changed)."""


def explain_parts(
    view: PositionView, backstop: Backstop | None = None, account: CollateralRisk | VenueCollateral | None = None
) -> list[Part]:
    """The panel's blocks, top to bottom: the figures change with every mark, the brackets rarely.
    ``account``: the position's multi-assets account computed from its collateral (its cross
    positions are priced from it: their figures and the account's Collateral block), or a
    portfolio-margin account's collateral as its venue reports it (:func:`venue_parts`)."""
    data = view.data
    risk = view.risk
    head = Text(f"{view.account} · {data.symbol} {data.side} {data.margin_mode}", style="bold")
    market = tuple(backstop_rows(backstop, view.exchange, data.symbol))
    market_head = Text(f"Backstop · {view.exchange}", style="bold")
    backstop_part: Part = (("backstop", market), lambda: Group(Text(""), market_head, KeyValues(list(market))))
    if risk is None and isinstance(account, VenueCollateral):
        return venue_parts(view, account, head, backstop_part)
    if risk is None and view.collateral is not None and isinstance(account, CollateralRisk):
        return pooled_parts(view, view.collateral, account, head, backstop_part)
    if risk is None:
        message = view.note or "no risk figures yet"
        return [((head.plain, message), lambda: Group(head, Text(message, style="yellow"))), backstop_part]
    venue = get_venue(view.exchange)
    money = money_fn(settle_of(view))
    tick = display_tick(risk.spec)
    venue_lp = data.exchange_liquidation_price
    diff = (
        ""
        if venue_lp is None or risk.liquidation_price is None
        else (f"  (venue {fmt_price(venue_lp, tick)}, Δ {_signed(risk.liquidation_price - venue_lp)})")
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
        ("Margin balance", money(risk.margin_balance)),
        (
            "Maintenance",
            f"{money(risk.maintenance_margin)} = value {money(risk.notional)} × "
            f"{plain(risk.tier.mmr * 100, 3)}% − {money(risk.tier.maint_amount)}"
            + (f" + fee {money(risk.liquidation_fee)}" if risk.liquidation_fee else ""),
        ),
        ("Initial margin", money(risk.initial_margin)),
        ("Eff. leverage", "—" if risk.effective_leverage is None else f"{risk.effective_leverage:.2f}x"),
        ("Mark", mark_text(view, tick)),
        ("Entry", fmt_price(data.entry_price, tick)),
        ("Size", f"{plain(data.size)}"),
        ("uPnL", money(risk.unrealized_pnl)),
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

    def figures() -> RenderableType:
        return Group(head, KeyValues(rows))

    adl = risk.adl
    adl_text = Text.assemble(
        ("ADL ", "bold"),
        adl_lights(adl.lights, adl.source),
        f"  score {plain(adl.score, 4)} — {ADL_HELP[adl.source]}.\n",
        (
            f"Ranking: {adl.method}. Profit and leverage raise it; taking profit or adding margin "
            "(lower effective leverage) lowers it.",
            "dim",
        ),
    )
    note = Text(view.note, style="yellow") if view.note else Text("")
    cost = liquidation_cost_text(view)
    start = max(0, risk.tier.index - 3)
    brackets = (risk.spec.tiers.basis, risk.tier.index, tuple(risk.spec.tiers.tiers[start : start + 6]))
    return [
        ((head.plain, tuple(rows)), figures),
        backstop_part,
        (brackets, lambda: Group(Text(""), tier_table(view), Text(""))),
        ((adl_text.plain, view.note), lambda: Group(adl_text, note)),
        (("cost", cost.plain), lambda: Group(Text(""), cost)),
    ]


def pooled_parts(
    view: PositionView, position: CollateralPosition, account: CollateralRisk, head: Text, backstop_part: Part
) -> list[Part]:
    """A cross position of a multi-assets account (issue #21): its liquidation price from the
    account's collateral, the account's figures in USD, and the Collateral block."""
    data = view.data
    tick = display_tick(position.spec)
    money = money_fn(position.settle)
    venue_lp = data.exchange_liquidation_price
    lp = position.liquidation_price
    diff = (
        "" if venue_lp is None or lp is None else f"  (venue {fmt_price(venue_lp, tick)}, Δ {_signed(lp - venue_lp)})"
    )
    moving = f"{position.underlying} collateral moves with the mark" if position.co_moving else "none"
    rows = [
        ("Liquidation price", fmt_price(lp, tick) + (diff or "  (venue gave none)")),
        ("Distance to liq.", fmt_pct(position.distance_to_liquidation)),
        ("Account MR", fmt_pct(account.margin_ratio) + "  (MM ÷ eff. equity)"),
        ("Effective equity", f"{fmt_money(account.effective_equity)} USD  (haircut {fmt_money(haircut(account))})"),
        ("Maintenance", f"{money(position.requirement)} = {fmt_money(position.requirement_usd)} USD"),
        ("Account MM", f"{fmt_money(account.maintenance_margin_usd)} USD"),
        ("Mark", mark_text(view, tick)),
        ("Entry", fmt_price(data.entry_price, tick)),
        ("Size", plain(data.size)),
        ("uPnL", money(position.unrealized_pnl)),
        ("Co-moving", moving),
    ]
    assets = collateral_rows(account)
    cells = (fmt_money(account.effective_equity), tuple(assets))
    note = Text(view.note, style="yellow") if view.note else Text("")
    return [
        ((head.plain, tuple(rows)), lambda: Group(head, KeyValues(rows))),
        (("collateral", cells), lambda: collateral_block(account, assets)),
        backstop_part,
        (("note", view.note), lambda: Group(Text(""), note)),
    ]


def mark_text(view: PositionView, tick: float | None) -> str:
    """The detail's Mark row: the mark at the tick, and how old it is (STALE past the feed's limit)."""
    age = view.mark_age_s
    return fmt_price(view.mark_price, tick) + (
        "" if age is None else f"  ({age_text(age)} old{', STALE' if view.stale else ''})"
    )


def haircut(account: CollateralRisk) -> float:
    """The account's value less its effective equity: what the venue's collateral ratios take off."""
    return account.equity_usd - account.effective_equity


def collateral_rows(account: CollateralRisk) -> list[tuple[str, str]]:
    """The Collateral block: per asset (``liqwatch.core.collateral.value_asset``'s figures, in the
    account's order) its balance (and, as calc's table, its equity where the PnL settled in it
    moved it), the venue's index price, collateral value ÷ value, the equity's USD value, what it
    counts for and its share of the effective equity. One wrapped line of words per asset: the
    detail is narrow, a table's columns would cut the figures."""
    return asset_rows(account.assets, account.effective_equity)


def asset_rows(assets: Sequence[AssetValue], eff: float | None) -> list[tuple[str, str]]:
    """One wrapped line of words per asset, its share of the effective equity ``eff`` (— where
    there is none, or it is not positive)."""
    rows: list[tuple[str, str]] = []
    for v in assets:
        equity = f" · equity {plain(v.equity, 8, max_decimals=8)}" if v.equity != v.amount else ""
        share = fmt_pct(v.collateral_value_usd / eff) if eff is not None and eff > 0 else "—"
        rows.append(
            (
                v.asset,
                f"amount {plain(v.amount, 8, max_decimals=8)}{equity} · price {plain(v.price, 8, max_decimals=8)} · "
                f"ratio {fmt_pct(v.ratio)} · value {fmt_money(v.value_usd)} · "
                f"collateral value {fmt_money(v.collateral_value_usd)} · share {share}",
            )
        )
    return rows


def collateral_block(account: CollateralRisk, rows: list[tuple[str, str]]) -> RenderableType:
    title = Text(f"Collateral · effective equity {fmt_money(account.effective_equity)} USD", style="bold")
    return Group(Text(""), title, KeyValues(rows))


def venue_parts(view: PositionView, account: VenueCollateral, head: Text, backstop_part: Part) -> list[Part]:
    """A cross position of a portfolio-margin account (issue #21 points 4 and 5): none of liqwatch's
    figures (the venue's requirement comes from risk scenarios), the venue's own liquidation
    estimate labelled as the venue's, and the account's Collateral block as the venue reports it."""
    data = view.data
    tick = data.tick_size
    venue_lp = data.exchange_liquidation_price
    rows = [
        (
            "Liquidation price",
            "—  (the venue gives no estimate)"
            if venue_lp is None
            else f"{fmt_price(venue_lp, tick)}  (the venue's estimate, not liqwatch's)",
        ),
        ("Mark", mark_text(view, tick)),
        ("Entry", fmt_price(data.entry_price, tick)),
        ("Size", plain(data.size)),
    ]
    assets = venue_collateral_rows(account)
    cells = (account.effective_equity, account.effective_equity_name, tuple(assets))
    note = Text(view.note, style="yellow") if view.note else Text("")
    return [
        ((head.plain, tuple(rows)), lambda: Group(head, KeyValues(rows))),
        (("note", view.note), lambda: Group(Text(""), note)),
        (("venue collateral", cells), lambda: venue_collateral_block(account, assets)),
        backstop_part,
    ]


def venue_collateral_rows(account: VenueCollateral) -> list[tuple[str, str]]:
    """The Collateral block of a portfolio-margin account, each coin as the venue reports it: its
    balance net of borrow (and its equity where the PnL the venue settles in it moves it), USD index
    price, the venue's collateral rate (collateral value ÷ value), value, collateral value and share
    of the venue's own effective equity."""
    return asset_rows(account.assets, account.effective_equity)


def venue_collateral_block(account: VenueCollateral, rows: list[tuple[str, str]]) -> RenderableType:
    named = f" ({account.effective_equity_name})" if account.effective_equity_name else ""
    title = Text(
        f"Collateral (venue) · effective equity {fmt_money(account.effective_equity)} USD{named}, "
        f"haircut {fmt_money(account.haircut_usd)}",
        style="bold",
    )
    return Group(Text(""), title, KeyValues(rows))


def liquidation_cost_text(view: PositionView) -> Text:
    """What a full liquidation would cost (issue #13): the best and worst fill, the venue's rule."""
    fields = live_loss_fields(view)
    loss = fields["liquidation_loss"]
    head = ("Liquidation cost ", "bold")
    if loss is None:
        return Text.assemble(head, (f"— {fields['liquidation_loss_unavailable']}", "dim"))
    cur = loss["currency"]

    def amount(x: float) -> str:
        return money_in(x, cur).removesuffix(f" {cur}")

    def case(c: dict[str, Any]) -> str:
        fee = "?" if c["fee"] is None else amount(c["fee"])
        return f"loses {money_in(c['loss'], cur)} (fee {fee}, returned {amount(c['returned'])})"

    return Text.assemble(
        head,
        f"at the liq. price {case(loss['best'])}; at the bankruptcy price {case(loss['worst'])}.\n",
        (f"{loss['model']}: {loss['rule']}." + (f" {loss['note']}." if loss["note"] else ""), "dim"),
    )


@dataclass
class _Block:
    signature: Hashable
    renderable: RenderableType
    strips: list[Strip] | None = None
    rendered_for: tuple[int, Style] | None = None


class BlockText(Widget):
    """Blocks of Rich renderables, each rendered (to cached strips) only when what it shows changed.

    Draws exactly what a Static showing ``Group(*blocks)`` draws; knowing its height without
    rendering again, it asks for a layout only when that height changes.
    """

    DEFAULT_CSS = """
    BlockText {
        height: auto;
    }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._blocks: list[_Block] = []

    @property
    def content(self) -> RenderableType:
        """What is shown, as one renderable."""
        if len(self._blocks) == 1:
            return self._blocks[0].renderable
        return Group(*(block.renderable for block in self._blocks))

    def render(self) -> RenderableType:
        return self.content

    def show_parts(self, parts: list[Part]) -> None:
        old = self._blocks
        blocks = [
            old[i] if i < len(old) and old[i].signature == signature else _Block(signature, make())
            for i, (signature, make) in enumerate(parts)
        ]
        if len(blocks) == len(old) and all(a is b for a, b in zip(blocks, old, strict=True)):
            return
        width = self.size.width
        before = [len(self._strips(block, width)) for block in old] if width else None
        self._blocks = blocks
        after = [len(self._strips(block, width)) for block in blocks] if width else None
        if before is None or after != before:
            self.refresh(layout=before is None or sum(before) != sum(after or ()))
            return
        y = 0  # same blocks, same heights: repaint only the lines of the blocks that changed
        for new, prev, height in zip(blocks, old, after, strict=True):
            if new is not prev:
                self.refresh(Region(0, y, width, height))
            y += height

    def _strips(self, block: _Block, width: int) -> list[Strip]:
        style = self.visual_style
        if block.strips is None or block.rendered_for != (width, style):
            visual = visualize(self, block.renderable)
            block.strips = Visual.to_strips(self, visual, width, None, style)
            block.rendered_for = (width, style)
        return block.strips

    def _height(self, width: int) -> int:
        return sum(len(self._strips(block, width)) for block in self._blocks)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return self._height(width)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        for block in self._blocks:
            strips = self._strips(block, width)
            if y < len(strips):
                return strips[y]
            y -= len(strips)
        return Strip.blank(width, self.visual_style.rich_style)


class DetailText(BlockText):
    """The selected position's figures, brackets, ADL and liquidation cost, as blocks."""


class DetailPanel(VerticalScroll):
    """Numbers behind the selected row, its bracket table, its mark over time against its
    liquidation, bankruptcy and entry prices, and its account's margin ratio over time."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._shown: tuple[object, ...] | None = None
        self._while_hidden: (
            tuple[
                str | None,
                PositionView | None,
                tuple[Point, ...],
                tuple[Point, ...],
                Backstop | None,
                CollateralRisk | VenueCollateral | None,
            ]
            | None
        ) = None

    def compose(self):  # type: ignore[no-untyped-def]
        with Container(id="charts"):
            yield LineChart("mark", empty="no mark history yet", id="mark-chart")
            yield LineChart("account margin ratio %", empty="no margin-ratio history yet", id="mr-chart")
        yield DetailText(id="detail-text")

    def on_show(self) -> None:
        if self._while_hidden is not None:
            self.show(*self._while_hidden)

    @property
    def shown_key(self) -> str | None:
        """The row whose numbers are on display (None: none, or the panel is hidden)."""
        key = None if self._shown is None else self._shown[0]
        return key if isinstance(key, str) else None

    def show(
        self,
        key: str | None,
        view: PositionView | None,
        marks: tuple[Point, ...] = (),
        ratios: tuple[Point, ...] = (),
        backstop: Backstop | None = None,
        account: CollateralRisk | VenueCollateral | None = None,
    ) -> None:
        """``account``: the position's multi-assets account computed from its collateral, or its
        portfolio-margin account's collateral as the venue reports it."""
        if not self.display:  # hidden: nothing to paint until it is shown again
            self._shown = None
            self._while_hidden = (key, view, marks, ratios, backstop, account)
            return
        self._while_hidden = None
        signature = (
            key,
            None
            if view is None
            else (
                view.risk,
                view.collateral,
                view.mark_price,
                view.stale,
                view.note,
                None if view.mark_age_s is None else age_text(view.mark_age_s),
            ),
            marks[-1:] if marks else None,
            len(marks),
            ratios[-1:] if ratios else None,
            len(ratios),
            backstop,
            account,
        )
        if signature == self._shown:
            return
        self._shown = signature
        text = self.query_one("#detail-text", DetailText)
        mark_chart = self.query_one("#mark-chart", LineChart)
        mr_chart = self.query_one("#mr-chart", LineChart)
        if view is None or key is None:
            hint = Text("Select a position to see the numbers behind it.", style="dim")
            text.show_parts([(None, lambda: hint)])
            mark_chart.plot()
            mr_chart.plot()
            return
        text.show_parts(explain_parts(view, backstop, account))
        retitle(mark_chart, f"mark · {view.data.symbol.split(':')[0]}")
        mark_chart.plot([Series("mark", marks, "cyan")], price_levels(view))
        retitle(mr_chart, f"margin ratio % · {view.account}")
        mr_chart.plot(
            [Series("margin ratio %", tuple((t, v * 100) for t, v in ratios), "yellow")],
            [Level("liquidation 100%", 100.0, "red")] if ratios and max(v for _, v in ratios) > 0.5 else [],
        )


def retitle(widget: Widget, title: str) -> None:
    """Set a border title where it changed (setting one repaints the whole widget)."""
    if widget.border_title != title:
        widget.border_title = title


def price_levels(view: PositionView) -> list[Level]:
    """The prices the mark is judged against: liquidation, bankruptcy, entry, and the venue's
    liquidation price where it differs from liqwatch's by a tick or more."""
    levels = []
    risk = view.risk
    if risk is not None and risk.liquidation_price is not None:
        levels.append(Level("liq", risk.liquidation_price, "red"))
    pooled = view.collateral  # a multi-assets account's cross position: ours, from the collateral
    if risk is None and pooled is not None and pooled.liquidation_price is not None:
        levels.append(Level("liq", pooled.liquidation_price, "red"))
    if risk is not None and risk.bankruptcy_price is not None:
        levels.append(Level("bankr", risk.bankruptcy_price, "magenta"))
    levels.append(Level("entry", view.data.entry_price, "blue"))
    venue = view.data.exchange_liquidation_price
    if venue is not None and risk is not None:
        ours = risk.liquidation_price
        if ours is None or abs(venue - ours) >= display_tick(risk.spec):
            levels.append(Level("venue liq", venue, "yellow"))
    return levels
