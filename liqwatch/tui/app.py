"""The liqwatch dashboard.

Feeds run as tasks on the app's event loop and push events into the state store at wire speed; a
timer redraws from a snapshot a few times a second (ticks are coalesced, only changed cells are
repainted). Nothing here computes risk: the view asks the state store, which asks the core.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Footer, Header, Input

from liqwatch.core.venues import Venue
from liqwatch.feeds.base import Feed
from liqwatch.feeds.events import Event, Status
from liqwatch.monitor import Monitor
from liqwatch.state import Notice, PositionView, Snapshot, State
from liqwatch.tui.widgets.account_strip import AccountStrip
from liqwatch.tui.widgets.alerts import AlertsPane
from liqwatch.tui.widgets.detail import DetailPanel
from liqwatch.tui.widgets.positions import SORTS, PositionsTable, row_key

if TYPE_CHECKING:  # the alerts machinery (pydantic models, aiohttp) loads after the first frame
    from liqwatch.alerts.model import Alert
    from liqwatch.alerts.runner import AlertRunner

REFRESH_SECONDS = 0.5
AGE_REFRESH_SECONDS = 1.0
MAX_TOASTS = 3
"""More alerts than this at once become one summary toast."""


class LiqwatchApp(App[None]):
    CSS_PATH = Path(__file__).with_name("liqwatch.tcss")
    TITLE = "liqwatch"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "quit"),
        Binding("question_mark", "help", "help"),
        Binding("w", "whatif", "what-if"),
        Binding("l", "ladder", "ladder"),
        Binding("s", "cycle_sort", "sort"),
        Binding("slash", "filter", "filter"),
        Binding("d", "toggle_detail", "detail"),
        Binding("a", "toggle_alerts", "alerts"),
        Binding("escape", "clear_filter", "clear filter", show=False),
    ]

    def __init__(
        self,
        feeds: Sequence[Feed],
        *,
        subtitle: str = "",
        clock: Callable[[], float] = time.time,
        refresh_seconds: float = REFRESH_SECONDS,
        autostart: bool = True,
        show_clock: bool = True,
        alerts: Callable[[], AlertRunner] | None = None,
    ) -> None:
        super().__init__()
        self.show_clock = show_clock
        self._alerts_factory = alerts
        self._clock = clock
        self.alerts: AlertRunner | None = None
        """Built after the first frame (see :meth:`start_alerts`)."""
        self._pending_toasts: list[Alert] = []
        self.monitor = Monitor(feeds, State(clock), on_event=self._on_event, on_notice=self._on_notice)
        self.sub_title = subtitle
        self.refresh_seconds = refresh_seconds
        self.autostart = autostart
        self.snapshot: Snapshot | None = None
        self.views: dict[str, PositionView] = {}
        self._errors_seen: set[str] = set()
        self._version = -1
        self._refreshed = 0.0

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Header(show_clock=self.show_clock)
        yield AccountStrip(id="accounts")
        with Horizontal(id="main"):
            yield PositionsTable(id="positions")
            yield DetailPanel(id="detail")
        yield AlertsPane(id="alerts")
        yield Input(placeholder="filter: account, symbol or side (Enter to apply, Esc to clear)", id="filter")
        yield Footer()

    def on_mount(self) -> None:
        self.call_after_refresh(self.start_alerts)
        if self.autostart:
            self.start_feeds()
        self.set_interval(self.refresh_seconds, self.refresh_view)
        self.refresh_view()
        self.query_one(PositionsTable).focus()

    def start_feeds(self) -> None:
        """Feeds start after the first frame is painted: ccxt is imported inside the venue feed."""
        self.call_after_refresh(self.monitor.start)

    def start_alerts(self) -> None:
        """The alert engine and its channels (default rules unless a factory was given)."""
        if self.alerts is not None:
            return
        from liqwatch.alerts.runner import AlertRunner

        runner = self._alerts_factory() if self._alerts_factory is not None else AlertRunner(clock=self._clock)
        runner.on_alert = self._on_alert
        runner.start()
        self.alerts = runner

    async def on_unmount(self) -> None:
        await self.monitor.stop()
        if self.alerts is not None:
            await self.alerts.stop()

    # ------------------------------------------------------------------ data

    def _on_alert(self, alert: Alert) -> None:
        if not self.is_running:
            return  # shutting down: the pane is gone (channels still get the alert)
        self.query_one(AlertsPane).add(alert)
        if not self._pending_toasts:
            self.call_later(self._flush_toasts)
        self._pending_toasts.append(alert)

    def _flush_toasts(self) -> None:
        """One toast per alert, but a burst (many positions crossing at once) becomes one summary
        toast: the pane keeps every line. The bell rings once for any critical alert."""
        alerts, self._pending_toasts = self._pending_toasts, []
        if not alerts:
            return
        if any(a.severity == "critical" for a in alerts):
            self.bell()
        if len(alerts) <= MAX_TOASTS:
            for alert in alerts:
                self.notify(
                    alert.message,
                    title=f"{alert.rule.replace('_', ' ')} · {alert.level}",
                    severity="error" if alert.severity == "critical" else "warning",
                    timeout=12,
                )
            return
        critical = sum(1 for a in alerts if a.severity == "critical")
        self.notify(
            f"{len(alerts)} alerts ({critical} critical) — press a for the alerts pane",
            title="alerts",
            severity="error" if critical else "warning",
            timeout=12,
        )

    def _on_event(self, event: Event) -> None:
        if self.alerts is not None:
            self.alerts.on_event(event)
        if isinstance(event, Status) and event.state == "error" and event.detail not in self._errors_seen:
            self._errors_seen.add(event.detail)
            self.notify(event.detail, title=f"{event.account}: feed error", severity="error", timeout=10)

    def _on_notice(self, notice: Notice) -> None:
        if self.alerts is not None:  # the position-lost rule alerts (toast, bell, pane, channels)
            self.alerts.on_notice(notice)

    def refresh_view(self, *, force_sort: bool = False) -> None:
        if not self.is_running:
            return  # the timer can still tick while shutdown removes the widgets
        state = self.monitor.state
        now = state.clock()
        if not force_sort and state.version == self._version and now - self._refreshed < AGE_REFRESH_SECONDS:
            return  # nothing new: ages and staleness are re-checked once a second
        self._version = state.version
        self._refreshed = now
        snap = state.snapshot()
        self.snapshot = snap
        if self.alerts is not None:
            self.alerts.on_snapshot(snap)
        self.views = {row_key(v): v for v in snap.positions}
        detail = self.query_one(DetailPanel)
        for key, view in self.views.items():
            detail.record(key, view.mark_price)
        with self.batch_update():
            self.query_one(AccountStrip).show(snap.accounts)
            table = self.query_one(PositionsTable)
            table.show(snap.positions, force_sort=force_sort)
            self._show_detail()
        stale = sum(1 for v in snap.positions if v.stale)
        subtitle = f"{len(snap.positions)} positions · sort: {table.sort_name}" + (f" · {stale} STALE" if stale else "")
        if subtitle != self.sub_title:
            self.sub_title = subtitle

    def _show_detail(self) -> None:
        table = self.query_one(PositionsTable)
        key = table.selected_key()
        self.query_one(DetailPanel).show(key, self.views.get(key) if key else None)

    def on_positions_table_row_highlighted(self, _: PositionsTable.RowHighlighted) -> None:
        self._show_detail()

    # ------------------------------------------------------------------ actions

    def action_help(self) -> None:
        from liqwatch.tui.screens.help import HelpScreen

        self.push_screen(HelpScreen())

    def action_cycle_sort(self) -> None:
        table = self.query_one(PositionsTable)
        names = list(SORTS)
        table.sort_name = names[(names.index(table.sort_name) + 1) % len(names)]
        self.refresh_view(force_sort=True)

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.add_class("-visible")
        box.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            self.query_one(PositionsTable).filter_text = event.value.strip()
            event.input.remove_class("-visible")
            self.query_one(PositionsTable).focus()
            self.refresh_view(force_sort=True)

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.value = ""
        box.remove_class("-visible")
        self.query_one(PositionsTable).filter_text = ""
        self.query_one(PositionsTable).focus()
        self.refresh_view(force_sort=True)

    def action_toggle_alerts(self) -> None:
        self.query_one(AlertsPane).toggle_class("-hidden")

    def action_toggle_detail(self) -> None:
        self.query_one(DetailPanel).toggle_class("-hidden")

    def _selected_account(self) -> tuple[Venue, list, float | dict[str, float], int] | None:  # type: ignore[type-arg]
        key = self.query_one(PositionsTable).selected_key()
        view = self.views.get(key) if key else None
        if view is None or view.risk is None:
            return None
        acc = self.monitor.state.accounts[view.account]
        # the view's risk record holds the very spec the core assessed: find it by identity
        matches = [i for i, spec in enumerate(acc.last_specs) if spec is view.risk.spec]
        if not matches:
            return None
        return acc.venue, list(acc.last_specs), acc.collateral(), matches[0]

    def action_whatif(self) -> None:
        from liqwatch.tui.screens.whatif import WhatIfScreen

        selected = self._selected_account()
        if selected is None:
            self.notify("Select a position with risk figures first.", severity="warning")
            return
        venue, specs, wallet, index = selected
        self.push_screen(WhatIfScreen(venue, specs, wallet, index))

    def action_ladder(self) -> None:
        from liqwatch.tui.screens.ladder import LadderScreen

        snap = self.snapshot or self.monitor.state.snapshot()
        rows = [(a.name, a.risk) for a in snap.accounts if a.risk is not None]
        accounts = [
            (acc.name, acc.venue, list(acc.last_specs), acc.wallet_balance or 0.0)
            for acc in self.monitor.state.accounts.values()
        ]
        self.push_screen(LadderScreen(rows, accounts))
