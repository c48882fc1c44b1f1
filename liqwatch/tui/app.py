"""The liqwatch dashboard.

Feeds run as tasks on the app's event loop and push events into the state store at wire speed; a
timer redraws from a snapshot a few times a second (ticks are coalesced, only changed cells are
repainted). Nothing here computes risk: the view asks the state store, which asks the core.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from textual import events
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Container
from textual.screen import Screen
from textual.widgets import Footer, Input

from liqwatch.core.collateral import CollateralAsset, CollateralRisk
from liqwatch.core.model import PositionSpec
from liqwatch.core.venues import Venue
from liqwatch.feeds.base import Feed
from liqwatch.monitor import Monitor
from liqwatch.state import Notice, PositionView, Snapshot, State
from liqwatch.tui.backstop import Backstop, backstop_of
from liqwatch.tui.history import History
from liqwatch.tui.settings import Settings, settings_path
from liqwatch.tui.toasts import SummaryToast
from liqwatch.tui.widgets.account_strip import AccountStrip
from liqwatch.tui.widgets.alerts import AlertLine, AlertsPane
from liqwatch.tui.widgets.detail import DetailPanel
from liqwatch.tui.widgets.header import DashClock, DashHeader
from liqwatch.tui.widgets.positions import SORTS, PositionsTable, row_key
from liqwatch.views import VenueCollateral

if TYPE_CHECKING:  # the alerts machinery and the feeds' events (pydantic models, aiohttp) load after the first frame
    from liqwatch.alerts.model import Alert
    from liqwatch.alerts.runner import AlertRunner
    from liqwatch.feeds.events import Event
    from liqwatch.market.model import MarketReport

REFRESH_SECONDS = 0.5
AGE_REFRESH_SECONDS = 1.0
WIDE = 140
"""From this many columns the detail is a column beside the table (shown unless ``d`` hid it);
below, a pane under the table, open from SHORT lines (the table then takes only the lines its
rows need, and the pane the empty ones below) and closed below that (the table comes first);
``d`` opens or closes it."""
DUTY = 0.04
"""The share of a core the timer's refreshes may take (snapshot, alert rules, table, detail)."""
MARKET_SECONDS = 5.0
"""How often the demo's backstop is read (simulated seconds): the venues' own insurance figures
change each minute at most, and a read of a large demo market costs milliseconds."""
WARNING_SECONDS = 30.0
"""How long a warning toast at start stays (its line in the alerts pane stays)."""
SHORT = 32
"""Below this many lines the account cards take two lines and the alerts pane three."""


def paced_interval(current: float, cost: float, step: float, duty: float = DUTY) -> float:
    """Seconds between refreshes that each cost ``cost`` seconds of CPU, so that they take at most
    ``duty`` of a core: a whole number of the timer's ``step`` (the cadence the timer can keep),
    never below one step. It slows down at once; it speeds up only once the faster cadence fits
    with a fifth to spare, so that a cost hovering at a boundary does not make the interval (and
    the subtitle that shows it, whose every change re-lays out the screen) flip each refresh."""
    need = cost / duty
    whole = max(step, math.ceil(need / step - 1e-9) * step)
    if need > current or (whole < current and need <= 0.8 * (current - step)):
        return whole
    return current


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
        Binding("A", "alerts_full", "alert texts", show=False),
        Binding("e", "export('csv')", "export"),
        Binding("E", "export('json')", "export JSON", show=False),
        Binding("escape", "clear_filter", "clear filter", show=False),
    ]
    COMMANDS_FOR_ACTIONS: ClassVar[list[tuple[str, str, str]]] = [
        ("What-if", "What-if for the selected position: size, price, leverage, margin, shock", "whatif"),
        ("Liquidation ladder", "Every position's distance to liquidation, shocks and insurance pools", "ladder"),
        ("Cycle sort", "Sort by nearest liquidation, margin ratio, uPnL, symbol or account", "cycle_sort"),
        ("Filter", "Show only positions matching an account, symbol or side", "filter"),
        ("Clear filter", "Show every position", "clear_filter"),
        ("Toggle detail", "Show or hide the numbers and charts behind the selected position", "toggle_detail"),
        ("Toggle alerts pane", "Show or hide the alerts pane", "toggle_alerts"),
        ("Alert texts", "Every alert of this session in full", "alerts_full"),
        ("Export CSV", "Write the positions table as shown to a CSV file", "export('csv')"),
        ("Export JSON", "Write the positions table as shown to a JSON file", "export('json')"),
        ("Help", "Every key, and what the numbers mean", "help"),
    ]
    """Every action of the dashboard, for the command palette (ctrl+p)."""
    FREEZE_HEAP: ClassVar[bool] = True
    """Once the first positions are on screen, tune the garbage collector for a long-running
    process (:func:`liqwatch.heap.settle`: what is alive then is frozen out of its reach, the
    youngest generation collected every 10,000 allocations): full collections walking ~100,000
    immortal objects took a fifth of a 50-position book's CPU, a third of a 2,000-position one's.
    Tests that run many apps in one process turn it off (frozen cycles are never freed)."""

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
        settings_file: Path | None = None,
        export_dir: Path | None = None,
        warnings: Sequence[str] = (),
        alert_engine: bool = True,
    ) -> None:
        super().__init__()
        self.alert_engine = alert_engine
        """False on the bus (``liqwatch --source``): the watchers' alerts are shown, none of our own."""
        self.warnings = tuple(warnings)
        """Said on screen once it is up (a toast and a line in the alerts pane), never on stderr
        behind the full-screen view: e.g. a config file other users can read."""
        self.settings_file = settings_file or settings_path()
        """Where the sort and filter are kept between runs."""
        self.settings = Settings.load(self.settings_file, set(SORTS))
        self.export_dir = export_dir
        """The directory ``e`` offers (None: the current directory at the time); then the one
        last written to."""
        self.marks = History()
        """Each position's mark over time (for the chart)."""
        self.ratios = History()
        """Each account's margin ratio over time."""
        self.toast = SummaryToast(self)
        self.pools = History(every=60.0)
        """Each insurance pool's balance over time (USD where known), from the market source."""
        self.reports: dict[str, MarketReport] = {}
        """Each venue's latest market report (pools, ADL state, mark vs index, funding)."""
        self._backstops: dict[tuple[str, str], Backstop | None] = {}
        self._market_changed = False
        self._feeds = list(feeds)
        self._market: Any = None
        """The market source (the demo's backstop, or a poller over the feeds' venues)."""
        self.wide = True
        self.detail_open: dict[bool, bool | None] = {True: True, False: None}
        """Whether the detail shows, in the wide and in the narrow layout (None: until ``d`` is
        pressed, open where the screen has SHORT lines or more)."""
        self.show_clock = show_clock
        self._alerts_factory = alerts
        self._clock = clock
        self.alerts: AlertRunner | None = None
        """Built after the first frame (see :meth:`start_alerts`)."""
        self.monitor = Monitor(feeds, State(clock), on_event=self._on_event, on_notice=self._on_notice)
        self.sub_title = subtitle
        self.refresh_seconds = refresh_seconds
        self.autostart = autostart
        self.snapshot: Snapshot | None = None
        self.views: dict[str, PositionView] = {}
        self._errors_seen: set[str] = set()
        self._version = -1
        self._refreshed = 0.0
        self._last_refresh_at = -float("inf")
        self._cost: float | None = None
        self._heap_frozen = False
        self._refreshes = 0
        """Refreshes that recomputed the view (the clock repaints with them)."""
        self.min_interval = refresh_seconds
        """Seconds between the timer's refreshes (stretched for a large book, see DUTY)."""

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        # The layout classes are set before the widgets exist: set later, they would restyle the
        # whole screen before the first frame.
        width, height = self.size
        self.wide = width >= WIDE
        self.screen.set_class(not self.wide, "-narrow")
        self.screen.set_class(height < SHORT, "-short")
        yield DashHeader(show_clock=self.show_clock)
        strip = AccountStrip(id="accounts")
        strip.compact = height < SHORT
        yield strip
        shown = self.detail_shown(self.wide, height < SHORT)
        with Container(id="main", classes="-detail" if shown else ""):
            yield PositionsTable(id="positions")
            yield DetailPanel(id="detail", classes="" if shown else "-hidden")
        yield AlertsPane(id="alerts")
        yield Input(placeholder="filter: account, symbol or side (Enter to apply, Esc to clear)", id="filter")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(PositionsTable)
        table.backstop = self.backstop_for
        table.sort_name = self.settings.sort
        table.filter_text = self.settings.filter
        self.query_one("#filter", Input).value = self.settings.filter
        self._layout(self.size.width, self.size.height)
        self.call_after_refresh(self.start_alerts)
        self._show_warnings()
        if self.autostart:
            self.start_feeds()
            self.call_after_refresh(self.start_market)
        self.set_interval(self.refresh_seconds, self._paced_refresh)
        self.refresh_view()
        self.query_one(PositionsTable).focus()
        dashboard = self.screen
        self.screen_change_signal.subscribe(
            self, lambda screen: self.toast.hold(screen is not dashboard), immediate=True
        )

    def _show_warnings(self) -> None:
        pane = self.query_one(AlertsPane)
        for text in self.warnings:
            pane.add_line(AlertLine(self._clock(), "warning", f"config: {text}"))
            self.notify(text, title="config", severity="warning", timeout=WARNING_SECONDS, markup=False)

    def start_feeds(self) -> None:
        """Feeds start after the first frame is painted: ccxt is imported inside the venue feed."""
        self.call_after_refresh(self.monitor.start)

    def start_alerts(self) -> None:
        """The alert engine and its channels (default rules unless a factory was given)."""
        if self.alerts is not None or not self.alert_engine:
            return
        from liqwatch.alerts.runner import AlertRunner

        runner = self._alerts_factory() if self._alerts_factory is not None else AlertRunner(clock=self._clock)
        runner.on_alert = self._on_alert
        runner.start()
        self.alerts = runner

    def start_market(self) -> None:
        """Insurance pools, ADL risk and mark vs index (issue #13) for the feeds' venues: the demo's
        simulated backstop, or the venues' public endpoints for the configured accounts."""
        from liqwatch.feeds.demo import DemoMarket

        demo = next((m for f in self._feeds if isinstance(m := getattr(f, "market", None), DemoMarket)), None)
        if demo is not None:
            from liqwatch.market.demo import DemoMarketSource

            speed = float(getattr(self._feeds[0], "speed", 1.0))
            source = DemoMarketSource(demo, clock=self._clock, speed=speed)
            run = functools.partial(source.run, self.on_market, every=MARKET_SECONDS)
            self._market = self.run_worker(run, exclusive=False)
            return
        from liqwatch.config import AccountConfig, Config
        from liqwatch.market.watching import WatchMarket

        accounts = [a for f in self._feeds if isinstance(a := getattr(f, "account", None), AccountConfig)]
        if not accounts:
            return
        warnings: list[str] = []
        market = WatchMarket(
            self._feeds, Config(accounts=accounts), self.monitor.state, self.on_market, demo=False, warnings=warnings
        )
        market.start()
        self._market = market
        for text in warnings:
            self.notify(text, title="market data", severity="warning")

    def on_market(self, report: MarketReport) -> None:
        """A venue's market report: its pools' balances for the chart, and the market alerts."""
        if not self.is_running:
            return
        for pool in report.insurance:
            value = pool.balance_usd if pool.balance_usd is not None else pool.balance
            self.pools.add(f"{report.exchange} {pool.pool}", report.ts, value)
        if self.alerts is not None:
            self.alerts.on_market(report)
        self.reports[report.exchange] = report
        self._backstops = {k: v for k, v in self._backstops.items() if k[0] != report.exchange}
        self._market_changed = True  # shown by the next refresh (one pass for every venue's report)
        from liqwatch.tui.screens.ladder import LadderScreen

        if isinstance(self.screen, LadderScreen):
            self.screen.show_pools(self.pool_series())

    def backstop_for(self, view: PositionView) -> Backstop | None:
        """The position's pool, ADL state, mark vs index and funding from its venue's latest
        report (None before the first one)."""
        key = (view.exchange, view.data.symbol)
        try:
            return self._backstops[key]
        except KeyError:
            report = self.reports.get(view.exchange)
            found = self._backstops[key] = None if report is None else backstop_of(report, view.data.symbol)
            return found

    def pool_series(self) -> dict[str, tuple[tuple[float, float], ...]]:
        return {key: self.pools.points(key) for key in self.pools.series}

    async def on_unmount(self) -> None:
        if self._market is not None and hasattr(self._market, "stop"):
            await self._market.stop()
        await self.monitor.stop()
        if self.alerts is not None:
            await self.alerts.stop()

    # ------------------------------------------------------------------ data

    def _on_alert(self, alert: Alert) -> None:
        """Every alert goes to the pane and is counted in the one summary toast; the bell rings
        once per burst that holds a critical alert."""
        if not self.is_running:
            return  # shutting down: the pane is gone (channels still get the alert)
        self.query_one(AlertsPane).add(alert)
        if alert.severity == "critical" and not self.toast.counts_critical():
            self.bell()
        self.toast.add(alert.severity, alert.message, f"{alert.rule.replace('_', ' ')} · {alert.level}")

    def _on_event(self, event: Event) -> None:
        if self.alerts is not None:
            self.alerts.on_event(event)
        if (
            event.type == "status"
            and event.state == "error"
            and self.alerts is None  # else the alert engine reports it (feed rule)
            and event.detail not in self._errors_seen
        ):
            self._errors_seen.add(event.detail)
            from liqwatch.tui.widgets.alerts import AlertLine

            line = f"{event.account}: feed error: {event.detail}"
            self.query_one(AlertsPane).add_line(AlertLine(self._clock(), "critical", line))
            self.toast.add("critical", line, f"{event.account}: feed error")

    def _on_notice(self, notice: Notice) -> None:
        if self.alerts is not None:  # the position-lost rule alerts (toast, bell, pane, channels)
            self.alerts.on_notice(notice)

    def _paced_refresh(self) -> None:
        """The timer's refresh. A large book makes each refresh expensive (every account's risk
        recomputed, every alert rule evaluated): the next one then waits until recomputing takes no
        more than :data:`DUTY` of a core, so a 2,000-position book refreshes about every 1.5 s
        instead of every 0.5 s (the subtitle says so); a small one is not slowed."""
        # The timer ticks every ``refresh_seconds``: a tick a hair early still counts as on time.
        refreshed = self._refreshes
        if time.monotonic() - self._last_refresh_at >= self.min_interval - self.refresh_seconds / 2:
            self.refresh_view()
        if self.show_clock and self.is_running:  # in the same frame as the refresh where there was one
            self.query_one(DashClock).tick(refreshed=self._refreshes != refreshed)

    def refresh_view(self, *, force_sort: bool = False) -> None:
        if not self.is_running:
            return  # the timer can still tick while shutdown removes the widgets
        state = self.monitor.state
        now = state.clock()
        if not force_sort and state.version == self._version and now - self._refreshed < AGE_REFRESH_SECONDS:
            if self._market_changed:  # only the venues' market data: the rows on screen and the detail
                self._market_changed = False
                self.query_one(PositionsTable).backstop_changed()
                self._show_detail()
            return  # nothing new: ages and staleness are re-checked once a second
        self._market_changed = False
        self._refreshes += 1
        started = time.process_time()
        self._last_refresh_at = time.monotonic()
        self._version = state.version
        self._refreshed = now
        snap = state.snapshot()
        self.snapshot = snap
        if self.alerts is not None:
            self.alerts.on_snapshot(snap)
        self.views = {row_key(v): v for v in snap.positions}
        if snap.positions and not self._heap_frozen and self.FREEZE_HEAP:
            self._heap_frozen = True
            self.call_after_refresh(self.freeze_heap)  # the positions are painted first
        self._record(snap)
        with self.batch_update():
            self.query_one(AccountStrip).show(snap.accounts)
            table = self.query_one(PositionsTable)
            table.show(snap.positions, force_sort=force_sort, keyed=self.views)
            self._show_detail()
        stale = sum(1 for v in snap.positions if v.stale)
        cost = time.process_time() - started
        self._cost = cost if self._cost is None else 0.7 * self._cost + 0.3 * cost
        self.min_interval = paced_interval(self.min_interval, self._cost, self.refresh_seconds)
        paced = f" · refresh {self.min_interval:.1f}s" if self.min_interval >= 2 * self.refresh_seconds else ""
        missing = sum(1 for a in snap.accounts if a.data_status != "ok")  # never "0 positions" and calm
        subtitle = (
            f"{len(snap.positions)} positions"
            + (f" · {missing} account{'' if missing == 1 else 's'} without data" if missing else "")
            + f" · sort: {table.sort_name}"
            + (f" · {stale} STALE" if stale else "")
            + paced
        )
        if subtitle != self.sub_title:
            self.sub_title = subtitle

    @staticmethod
    def freeze_heap() -> None:
        """See :attr:`FREEZE_HEAP`."""
        from liqwatch.heap import settle

        settle()

    def _record(self, snap: Snapshot) -> None:
        """The charts' histories: marks per position, margin ratio per account."""
        ts = snap.ts
        add = self.marks.add
        for key, view in self.views.items():
            add(key, ts, view.mark_price)
        for account in snap.accounts:
            if account.risk is not None:  # not single: the venue's ratio (ours is not computed)
                ratio = account.risk.account.margin_ratio if account.computed else account.margin_ratio_venue
                if account.collateral_risk is not None:  # multi-assets from its collateral: ours
                    ratio = account.collateral_risk.margin_ratio
                self.ratios.add(account.name, ts, ratio)
        if len(self.marks.series) > len(self.views):
            self.marks.retain(set(self.views))

    def _show_detail(self) -> None:
        table = self.query_one(PositionsTable)
        key = table.selected_key()
        view = self.views.get(key) if key else None
        self.query_one(DetailPanel).show(
            key,
            view,
            self.marks.points(key) if key else (),
            self.ratios.points(view.account) if view is not None else (),
            self.backstop_for(view) if view is not None else None,
            self.collateral_of(view) or self.venue_collateral_of(view),
        )

    def collateral_of(self, view: PositionView | None) -> CollateralRisk | None:
        """The multi-assets account (computed from its collateral) a cross position is priced in."""
        if view is None or view.collateral is None or self.snapshot is None:
            return None
        return next((a.collateral_risk for a in self.snapshot.accounts if a.name == view.account), None)

    def venue_collateral_of(self, view: PositionView | None) -> VenueCollateral | None:
        """A portfolio-margin account's collateral as its venue reports it, for its cross positions."""
        if view is None or view.risk is not None or self.snapshot is None:
            return None
        return next((a.collateral_venue for a in self.snapshot.accounts if a.name == view.account), None)

    # ------------------------------------------------------------------ layout by size

    def on_resize(self, event: events.Resize) -> None:
        self._layout(event.size.width, event.size.height)

    def _layout(self, width: int, height: int) -> None:
        """Wide: the detail beside the table; narrow: under it, opened with ``d``. Short: two-line
        account cards and a smaller alerts pane, so that the table keeps most of the screen."""
        wide = width >= WIDE
        short = height < SHORT
        self.wide = wide
        self.screen.set_class(not wide, "-narrow")
        self.screen.set_class(short, "-short")
        strip = self.query_one(AccountStrip)
        if strip.compact != short:
            strip.compact = short
            if self.snapshot is not None:
                strip.show(self.snapshot.accounts)
        self._show_detail_pane(self.detail_shown(wide, short))

    def detail_shown(self, wide: bool, short: bool) -> bool:
        """Whether the detail shows in this layout (see :attr:`detail_open`)."""
        choice = self.detail_open[wide]
        return not short if choice is None else choice

    def _show_detail_pane(self, shown: bool) -> None:
        self.query_one(DetailPanel).set_class(not shown, "-hidden")
        self.query_one("#main").set_class(shown, "-detail")

    def on_positions_table_row_highlighted(self, _: PositionsTable.RowHighlighted) -> None:
        self._show_detail()

    # ------------------------------------------------------------------ actions

    def action_help(self) -> None:
        from liqwatch.tui.screens.help import HelpScreen

        self.push_screen(HelpScreen())

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for title, help_text, action in self.COMMANDS_FOR_ACTIONS:
            yield SystemCommand(title, help_text, lambda action=action: self.run_action(action))

    def _save_settings(self) -> None:
        table = self.query_one(PositionsTable)
        self.settings = Settings(sort=table.sort_name, filter=table.filter_text)
        error = self.settings.save(self.settings_file)
        if error:
            self.notify(f"sort and filter not saved: {error}", severity="warning")

    def action_cycle_sort(self) -> None:
        table = self.query_one(PositionsTable)
        names = list(SORTS)
        table.sort_name = names[(names.index(table.sort_name) + 1) % len(names)]
        self._save_settings()
        self.refresh_view(force_sort=True)

    def action_export(self, fmt: Literal["csv", "json"] = "csv") -> None:
        """Ask where first (the path prefilled), then write the table as shown (issue #20)."""
        from liqwatch.tui.export import default_name
        from liqwatch.tui.screens.export import ExportScreen

        table = self.query_one(PositionsTable)
        views = [self.views[key] for key in table.order if key in self.views]
        now = self._clock()
        path = (self.export_dir or Path.cwd()) / default_name(fmt, now)

        def done(written: Path | None) -> None:
            if written is None:
                return
            self.export_dir = written.parent
            self.notify(str(written), title=f"exported {len(views)} positions ({fmt.upper()})", markup=False)

        self.push_screen(ExportScreen(views, fmt, path, now), done)

    def action_alerts_full(self) -> None:
        from liqwatch.tui.screens.alerts import AlertsScreen

        pane = self.query_one(AlertsPane)
        self.toast.dismiss()
        self.push_screen(AlertsScreen(pane.lines, pane.count))

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.add_class("-visible")
        box.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            self.query_one(PositionsTable).filter_text = event.value.strip()
            event.input.remove_class("-visible")
            self.query_one(PositionsTable).focus()
            self._save_settings()
            self.refresh_view(force_sort=True)

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.value = ""
        box.remove_class("-visible")
        self.query_one(PositionsTable).filter_text = ""
        self.query_one(PositionsTable).focus()
        self._save_settings()
        self.refresh_view(force_sort=True)

    def action_toggle_alerts(self) -> None:
        self.query_one(AlertsPane).toggle_class("-hidden")

    def action_toggle_detail(self) -> None:
        shown = not self.detail_shown(self.wide, self.size.height < SHORT)
        self.detail_open[self.wide] = shown
        self._show_detail_pane(shown)
        self._show_detail()

    def _selected_account(self) -> tuple[Venue, list, float | dict[str, float], int] | None:  # type: ignore[type-arg]
        key = self.query_one(PositionsTable).selected_key()
        view = self.views.get(key) if key else None
        if view is None or view.risk is None:
            return None
        acc = self.monitor.state.accounts[view.account]
        if acc.mode != "single":  # multi-assets, portfolio, unknown: no account figures of ours to move
            return None
        # the view's risk record holds the very spec the core assessed: find it by identity
        matches = [i for i, spec in enumerate(acc.last_specs) if spec is view.risk.spec]
        if not matches:
            return None
        return acc.venue, list(acc.last_specs), acc.collateral(), matches[0]

    def _selected_pooled(self) -> tuple[Venue, list[PositionSpec], list[CollateralAsset], int] | None:
        """The selected cross position of a multi-assets account computed from its collateral: the
        venue, the account's cross positions as the core assessed them, its collateral, and the
        position's index among them."""
        key = self.query_one(PositionsTable).selected_key()
        view = self.views.get(key) if key else None
        account = self.collateral_of(view)
        if view is None or view.collateral is None or account is None:
            return None
        specs = [p.spec for p in account.positions]
        matches = [i for i, spec in enumerate(specs) if spec is view.collateral.spec]
        acc = self.monitor.state.accounts.get(view.account)
        if not matches or acc is None or not acc.collateral_assets:
            return None
        return acc.venue, specs, list(acc.collateral_assets), matches[0]

    def action_whatif(self) -> None:
        from liqwatch.tui.screens.whatif import WhatIfScreen

        pooled = self._selected_pooled()
        if pooled is not None:  # issue #21: a multi-assets account's collateral shock
            venue, specs, assets, index = pooled
            self.push_screen(WhatIfScreen(venue, specs, 0.0, index, collateral=assets))
            return
        selected = self._selected_account()
        if selected is None:
            key = self.query_one(PositionsTable).selected_key()
            view = self.views.get(key) if key else None
            acc = self.monitor.state.accounts.get(view.account) if view is not None else None
            if acc is not None and acc.mode != "single":  # issue #21
                why = f"No what-if for a {acc.mode} account: liqwatch does not compute it yet."
                self.notify(why, severity="warning")
                return
            self.notify("Select a position with risk figures first.", severity="warning")
            return
        venue, specs, wallet, index = selected
        self.push_screen(WhatIfScreen(venue, specs, wallet, index))

    def action_ladder(self) -> None:
        from liqwatch.tui.screens.ladder import LadderScreen

        snap = self.snapshot or self.monitor.state.snapshot()
        rows = [(a.name, a.risk) for a in snap.accounts if a.risk is not None and a.computed]
        accounts = [
            (acc.name, acc.venue, list(acc.last_specs), acc.collateral())
            for acc in self.monitor.state.accounts.values()
            if acc.mode == "single"  # the others' figures are not liqwatch's (issue #21)
        ]
        self.push_screen(LadderScreen(rows, accounts, self.pool_series()))
