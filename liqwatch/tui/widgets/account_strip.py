"""One card per account: equity, wallet, account margin ratio as a gauge, feed status and age; an
account without figures says "no data" and why (never equity 0.00)."""

from __future__ import annotations

import functools

from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text
from textual.containers import Horizontal

from liqwatch.core.bands import BANDS, Band
from liqwatch.core.collateral import CollateralRisk
from liqwatch.output import fmt_money, fmt_pct
from liqwatch.records import account_wallet
from liqwatch.state import MODE_LABELS, AccountView
from liqwatch.tui.widgets.detail import BlockText, Part
from liqwatch.views import VenueCollateral

GAUGE = 20
GAUGE_STYLES: dict[Band, str] = {
    "safe": "green",
    "watch": "yellow",
    "danger": "red",
    "critical": "bold red",
    "liquidating": "bold red",
}
"""The gauge colour of each risk band (:data:`liqwatch.core.bands.BANDS`)."""
DANGER_BANDS = frozenset({"danger", "critical", "liquidating"})
"""Bands that mark the account card ``-danger`` (no ratio at all counts as liquidating)."""


def gauge(ratio: float | None) -> Text:
    """The account margin ratio as a bar coloured by danger (100% = liquidation)."""
    if ratio is None:
        return Text("—" * GAUGE, style="bold red")
    filled = min(GAUGE, round(min(ratio, 1.0) * GAUGE))
    style = GAUGE_STYLES[BANDS.band(ratio)]
    return Text("█" * filled, style=style) + Text("░" * (GAUGE - filled), style="dim")


def feed_text(view: AccountView) -> Text:
    states = view.status
    if view.detail:  # one line, cut at the card's edge: the cause is at the start
        return Text(f"error: {view.unprefixed(view.detail)}", style="bold red", no_wrap=True, overflow="ellipsis")
    values = set(states.values())
    if not values:
        return Text("connecting…", style="yellow")
    if values & {"disconnected", "reconnecting"}:
        return Text("reconnecting", style="bold yellow")
    if view.stale:
        return Text("STALE marks", style="bold yellow")
    return Text("connected", style="green")


class AccountCard(BlockText):
    """Each line is a block of its own: a new figure repaints its line, not the card and its border."""

    def show(self, view: AccountView, compact: bool = False) -> None:
        """Four lines; ``compact`` (a short terminal): two, the gauge shorter. An account without
        figures: "no data" and why, wrapped over the lines the figures would take."""
        risk = view.risk
        ratio = None if risk is None else risk.account.margin_ratio
        balance = None if risk is None else risk.account.margin_balance
        title = Text(f"{view.name} ", style="bold") + Text(f"({view.exchange})", style="dim")
        if view.data_status != "ok":
            lines = _no_data_lines(view, title, compact)
        elif view.collateral_risk is not None:  # multi-assets, computed from the collateral
            self._show_pooled(view, title, compact)
            return
        elif not view.computed:  # not liqwatch's figures to give: the mode and the venue's ratio
            # and status; the gauge (and the danger band) against the venue's own liquidation level
            said_ = f"{MODE_LABELS.get(view.mode, view.mode)} · venue ratio {fmt_pct(view.margin_ratio_venue)}"
            if view.account_status_venue:
                said_ += f" · {view.account_status_venue}"
            said = Text(said_, style="bold")
            ratio = view.venue_ratio_to_trigger
            tail = " venue"
            if view.liquidation_trigger != 1.0:  # e.g. Binance PM: liquidation at uniMMR 1.05
                tail += f" (liq. at {fmt_pct(1.0 / view.liquidation_trigger)})"
            if compact:
                lines = [Text(f"{view.name} ", style="bold") + feed_text(view), said]
            else:
                lines = [title, said, Text("MR ") + gauge(ratio) + Text(tail), feed_text(view)]
        elif compact:
            bar = gauge(ratio)
            bar.truncate(6)
            line1 = Text(f"{view.name} ", style="bold") + feed_text(view)
            line2 = Text("MR ") + bar + Text(f" {fmt_pct(ratio)}")
            lines = [line1, line2]
        else:
            line2 = Text(f"equity {fmt_money(balance)}  wallet {fmt_money(account_wallet(view))}")
            line3 = Text("MR ") + gauge(ratio) + Text(f" {fmt_pct(ratio)}")
            lines = [title, line2, line3, feed_text(view)]
        # Each line as joined into one Text (its style a span, as Static showed the four lines).
        lines = [Text("\n").join([line]) for line in lines]
        parts: list[Part] = [((line.plain, tuple(line.spans)), functools.partial(_same, line)) for line in lines]
        if view.data_status != "ok" and not compact:  # the reason in the two lines left, cut with … past them
            reason = lines[-1]
            parts[-1] = ((reason.plain, tuple(reason.spans), "fit"), functools.partial(Fitted, reason, 2))
        elif view.data_status == "ok" and compact:
            # the name and the feed state on one line, cut at the card's edge (wrapped, they pushed
            # the ratio out of the card); the equity where it fits whole, never a cut number
            head, wide, narrow = lines[0], lines[1] + Text(f" {fmt_money(balance)}"), lines[1]
            bare = Text(f"MR {fmt_pct(ratio)}")  # four cards at 80 columns: the ratio whole, no bar
            parts[0] = ((head.plain, tuple(head.spans), "widest"), functools.partial(Widest, (head,)))
            parts[1] = ((wide.plain, tuple(wide.spans), "widest"), functools.partial(Widest, (wide, narrow, bare)))
        elif view.data_status == "ok" and view.collateral_venue is not None and len(lines) == 4:
            parts[3] = venue_equity_part(view.collateral_venue, lines[3])
        elif view.data_status == "ok" and view.computed and len(lines) == 4:
            # four cards at 120 columns: each line in the widest form that fits whole (wrapped, the
            # equity line pushed the margin ratio out of the card); a figure is never cut
            wallet = fmt_money(account_wallet(view))
            money = (lines[1], Text(f"eq. {fmt_money(balance)}  wal. {wallet}"), Text(f"eq. {fmt_money(balance)}"))
            short = gauge(ratio)
            short.truncate(6)
            gauges = (lines[2], Text("MR ") + short + Text(f" {fmt_pct(ratio)}"), Text(f"MR {fmt_pct(ratio)}"))
            for i, options in ((0, (lines[0],)), (1, money), (2, gauges)):
                first = options[0]
                parts[i] = ((first.plain, tuple(first.spans), "widest"), functools.partial(Widest, options))
        self.show_parts(parts)
        # no figures is not a band: the card is -stale (below), its text says why
        self.set_class(view.data_status == "ok" and BANDS.band(ratio) in DANGER_BANDS, "-danger")
        self.set_class(view.stale, "-stale")

    def _show_pooled(self, view: AccountView, title: Text, compact: bool) -> None:
        """A ``multi_assets`` account computed from its collateral (issue #21): its mode, effective
        equity and haircut (value - collateral value), and the gauge on our ratio with the venue's
        beside it. Each line the widest of its forms that fits the card whole (never a cut figure);
        compact: the name and feed state, then the ratio line."""
        risk = view.collateral_risk
        assert risk is not None
        ratio = risk.margin_ratio
        label = MODE_LABELS.get(view.mode, view.mode)
        equity = fmt_money(risk.effective_equity)
        venue = f"(venue {fmt_pct(view.margin_ratio_venue)})"

        def gauge_line(width: int | None, tail: str) -> Text:
            if width is None:
                return Text(f"MR {fmt_pct(ratio)}{tail}")
            bar = gauge(ratio)
            bar.truncate(width)
            return Text("MR ") + bar + Text(f" {fmt_pct(ratio)}{tail}")

        ratio_forms = (
            gauge_line(GAUGE, f" {venue}"),
            gauge_line(10, f" {venue}"),
            gauge_line(6, f" {venue}"),
            gauge_line(None, f" {venue}"),
            gauge_line(6, ""),
            gauge_line(None, ""),
        )
        feed = feed_text(view)
        if compact:
            head = Text(f"{view.name} ", style="bold") + feed
            forms = [(head,), ratio_forms]
        else:
            haircut = Text(f"haircut {fmt_money(haircut_usd(risk))}")
            both = haircut + Text(" · ") + feed
            # the feed's own words lead where it is not plainly connected (an error, stale marks)
            last = (both, haircut) if feed.plain == "connected" else (both, feed)
            forms = [
                (title,),
                (Text(f"{label} · eff. equity {equity}"), Text(f"{label} · eq. {equity}"), Text(f"eq. {equity}")),
                ratio_forms,
                last,
            ]
        parts: list[Part] = []
        for given in forms:
            texts = tuple(Text("\n").join([t]) for t in given)
            signature = tuple((t.plain, tuple(t.spans)) for t in texts)
            parts.append(((signature, "widest"), functools.partial(Widest, texts)))
        self.show_parts(parts)
        self.set_class(BANDS.band(ratio) in DANGER_BANDS, "-danger")
        self.set_class(view.stale, "-stale")


def venue_equity_part(collateral: VenueCollateral, feed: Text) -> Part:
    """A portfolio-margin account's last line: the venue's own effective equity and the haircut of
    its collateral rates, labelled as the venue's, then the feed state; the widest form that fits
    whole. Where the feed is not plainly connected (an error, stale marks) its own words stay when
    the figures do not fit beside them."""
    equity = fmt_money(collateral.effective_equity)
    haircut = fmt_money(collateral.haircut_usd)
    full = Text(f"venue eff. equity {equity} · haircut {haircut} · ") + feed
    forms: tuple[Text, ...] = (full, feed)
    if feed.plain == "connected":
        forms = (
            full,
            Text(f"venue eff. equity {equity} · haircut {haircut}"),
            Text(f"venue eq. {equity} · haircut {haircut}"),
            Text(f"venue eq. {equity}"),
        )
    texts = tuple(Text("\n").join([t]) for t in forms)
    signature = tuple((t.plain, tuple(t.spans)) for t in texts)
    return ((signature, "widest"), functools.partial(Widest, texts))


def haircut_usd(risk: CollateralRisk) -> float:
    """What the venue's collateral ratios take off the account: its value (every asset's equity at
    its price) less its effective equity (what the assets count for)."""
    return risk.equity_usd - risk.effective_equity


def _same(line: Text) -> Text:
    return line


class Fitted:
    """``text`` wrapped at the width it is drawn at, cut to ``height`` lines: the last then ends in …
    (the card's width is known only when drawn)."""

    def __init__(self, text: Text, height: int) -> None:
        self.text = text
        self.height = height

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        wrapped = list(self.text.wrap(console, width))
        if len(wrapped) > self.height:
            wrapped = wrapped[: self.height]
            last = wrapped[-1]
            last.truncate(width - 1)
            last.rstrip()
            last.append("…", style=self.text.style)
        yield Text("\n").join(wrapped)


class Widest:
    """The first of ``texts`` (widest first) that fits the width it is drawn at, whole; else the
    last one on one line, cut with … (the card's width is known only when drawn)."""

    def __init__(self, texts: tuple[Text, ...]) -> None:
        self.texts = texts

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        fits = next((t for t in self.texts if t.cell_len <= width), None)
        if fits is None:
            fits = self.texts[-1].copy()
            fits.truncate(width, overflow="ellipsis")
        yield fits


def _no_data_lines(view: AccountView, title: Text, compact: bool) -> list[Text]:
    """The card of an account without figures: its title, "no data", and the whole reason in the
    lines left (wrapped; compact: one line cut at the edge). The cause leads the reason."""
    error = view.data_status == "error"
    why = view.cause or ("connecting…" if not error else "error")
    style = "bold red" if error else "yellow"
    if compact:
        head = Text(f"{view.name} ", style="bold") + Text("no data", style=style)
        return [head, Text(why, style=style, no_wrap=True, overflow="ellipsis")]
    head = Text("no data", style=style) + Text(" — error" if error else " yet", style=style)
    return [title, head, Text(why, style=style, overflow="fold")]


class AccountStrip(Horizontal):
    compact = False
    """Two-line cards (set by the app on a short terminal)."""

    def show(self, views: list[AccountView]) -> None:
        cards = {card.id: card for card in self.query(AccountCard)}
        for view in views:
            card_id = f"acct-{abs(hash(view.name))}"
            card = cards.get(card_id)
            if card is None:
                card = AccountCard(id=card_id)
                self.mount(card)
            card.show(view, self.compact)
