"""One card per account: equity, wallet, account margin ratio as a gauge, feed status and age."""

from __future__ import annotations

import functools

from rich.text import Text
from textual.containers import Horizontal

from liqwatch.core.bands import BANDS, Band
from liqwatch.output import fmt_money, fmt_pct
from liqwatch.state import AccountView
from liqwatch.tui.widgets.detail import BlockText, Part

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
    if view.detail:
        return Text(f"error: {view.detail}"[:60], style="bold red")
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
        """Four lines; ``compact`` (a short terminal): two, the gauge shorter."""
        risk = view.risk
        ratio = None if risk is None else risk.account.margin_ratio
        balance = None if risk is None else risk.account.margin_balance
        title = Text(f"{view.name} ", style="bold") + Text(f"({view.exchange})", style="dim")
        if compact:
            bar = gauge(ratio)
            bar.truncate(6)
            line1 = Text(f"{view.name} ", style="bold") + feed_text(view)
            line2 = Text("MR ") + bar + Text(f" {fmt_pct(ratio)} {fmt_money(balance)}")
            lines = [line1, line2]
        else:
            line2 = Text(f"equity {fmt_money(balance)}  wallet {fmt_money(view.wallet_balance)}")
            line3 = Text("MR ") + gauge(ratio) + Text(f" {fmt_pct(ratio)}")
            lines = [title, line2, line3, feed_text(view)]
        # Each line as joined into one Text (its style a span, as Static showed the four lines).
        lines = [Text("\n").join([line]) for line in lines]
        parts: list[Part] = [((line.plain, tuple(line.spans)), functools.partial(_same, line)) for line in lines]
        self.show_parts(parts)
        self.set_class(BANDS.band(ratio) in DANGER_BANDS, "-danger")
        self.set_class(view.stale, "-stale")


def _same(line: Text) -> Text:
    return line


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
