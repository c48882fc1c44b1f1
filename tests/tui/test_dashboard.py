"""Issue #14: every terminal size, calm in a crash, charts, palette, export, remembered sort."""

from __future__ import annotations

import asyncio
import csv
import json
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len
from rich.style import Style
from textual.binding import Binding
from textual.pilot import Pilot
from textual.widgets import RichLog
from textual.widgets._toast import Toast

from liqwatch.alerts.model import Alert
from liqwatch.output import display_tick, fmt_money, fmt_price
from liqwatch.tui.app import LiqwatchApp
from liqwatch.tui.screens.alerts import AlertsScreen
from liqwatch.tui.screens.export import ExportScreen
from liqwatch.tui.screens.ladder import NO_POOLS, LadderScreen
from liqwatch.tui.widgets.alerts import AlertsPane
from liqwatch.tui.widgets.chart import BRAILLE, ChartData, Level, LineChart, Series, draw
from liqwatch.tui.widgets.detail import DetailPanel
from liqwatch.tui.widgets.positions import COLUMNS, REQUIRED, PositionsTable
from tests.tui.driver import CRASH_DONE, T0, Clock, demo_app, run_to
from tests.tui.test_tui import plain, until

SIZES = [(80, 24), (100, 30), (120, 40), (160, 50)]


def screen_lines(app: LiqwatchApp) -> list[str]:
    return [strip.text for strip in app.screen._compositor.render_strips()]


def toasts_on_screen(app: LiqwatchApp) -> int:
    return len(app.screen.query(Toast))


def shown_labels(table: PositionsTable) -> list[str]:
    """The headers of the required columns as the table shows them (short where narrowed)."""
    labels = table.labels()
    return [labels[i] for i, (key, _) in enumerate(COLUMNS[:REQUIRED]) if key in table.shown_columns()]


@pytest.mark.parametrize("size", SIZES)
def test_every_size_shows_the_required_columns(size: tuple[int, int]) -> None:
    async def go() -> None:
        clock = Clock()
        app, _ = demo_app(clock)
        async with app.run_test(size=size) as pilot:
            table = app.query_one(PositionsTable)
            await until(pilot, lambda: table.row_count == 13 and table.size.width > 0)
            await pilot.pause()
            region = table.region
            header = screen_lines(app)[region.y][region.x : region.right]
            assert table.shown_columns()[:REQUIRED] == [key for key, _ in COLUMNS[:REQUIRED]]
            for label in shown_labels(table):
                assert f" {label} " in f" {header} ", (label, header)
            assert table.required_width() <= table.scrollable_content_region.width
            assert "(venue" not in header  # the venue's price is a Δ column, never a long cell
            detail = app.query_one(DetailPanel)
            if size[0] >= 140:  # a column beside the table, which keeps the rest
                assert detail.display and table.size.width >= size[0] - detail.outer_size.width - 1
            elif size[1] >= 32:  # under the table, open: the table's rows leave the lines below empty
                assert detail.display and detail.region.y > table.region.y
                # the table keeps every row in view, up to half the main area (max-height: 50%)
                main = app.query_one("#main")
                assert table.region.height == min(table.row_count + 1, main.region.height // 2)
                assert table.region.width == size[0]
            else:  # under the table, only when asked for
                assert not detail.display
                await pilot.press("d")
                await until(pilot, lambda: detail.display and detail.region.y > table.region.y)
                assert table.region.width == size[0]

    asyncio.run(go())


NUMERIC = ("mark", "liq", "dlp", "dist", "mr", "pool", "upnl", "size", "entry", "bankr")
"""The columns whose cells are figures."""


def rendered_cells(app: LiqwatchApp) -> dict[tuple[str, str], str]:
    """Every cell of the positions table as the screen shows it, by (row key, column key): each
    column read from the screen where the header says it starts."""
    table = app.query_one(PositionsTable)
    region = table.region
    lines = screen_lines(app)
    shown = table.shown_columns()
    labels = dict(zip([key for key, _ in COLUMNS], table.labels(), strict=True))
    spans: list[tuple[str, int, int]] = []
    x = 0
    for key in shown:
        width = max(cell_len(labels[key]), *(cell_len(table.get_cell(k, key).plain) for k in table.order))
        spans.append((key, x, x + width + 2))
        x += width + 2
    assert x <= table.scrollable_content_region.width  # every column shown is whole
    header = lines[region.y][region.x : region.right]
    for key, start, end in spans:
        assert header[start:end].strip() == labels[key], (key, header)
    found: dict[tuple[str, str], str] = {}
    top = table.scroll_offset.y
    for index in range(top, min(table.row_count, top + region.height - 1)):
        line = lines[region.y + 1 + index - top][region.x : region.right]
        for key, start, end in spans:
            found[(table.order[index], key)] = line[start:end].strip()
    return found


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_no_figure_is_ever_cut_and_the_bankruptcy_price_shows_from_120_columns(size: tuple[int, int]) -> None:
    """Issue #20 point 13: at 120 columns the uPnL cells were cut at the table's right edge
    (``-1,79`` for -1,790.52). Whole columns give way instead; the bankruptcy price stays."""

    async def go() -> None:
        clock = Clock()
        app, market = demo_app(clock)
        async with app.run_test(size=size) as pilot:
            table = app.query_one(PositionsTable)
            detail = app.query_one(DetailPanel)
            for moment in (2, CRASH_DONE):  # the crash widens the uPnL and margin ratio cells
                await run_to(pilot, market, clock, moment)
                await pilot.pause()
                cells = rendered_cells(app)
                assert cells
                for (key, column), text in cells.items():
                    want = table.get_cell(key, column).plain.strip()
                    assert text == want, (size, key, column, text, want)
                    if column in NUMERIC and want not in ("", "—"):
                        assert any(ch.isdigit() for ch in text) or text in ("?", "none", "≠")
                for key in table.order:  # the figures in full, as the formatters write them
                    risk = app.views[key].risk
                    if risk is None:  # a multi-assets account's cross position: priced from its collateral
                        assert app.views[key].collateral is not None
                        continue
                    if (key, "upnl") in cells:
                        assert cells[(key, "upnl")] == fmt_money(risk.unrealized_pnl)
                    if (key, "bankr") in cells:
                        assert cells[(key, "bankr")] == fmt_price(risk.bankruptcy_price, display_tick(risk.spec))
                key = table.selected_key()
                if detail.display and key is not None:  # a figure dropped from the table is in the detail
                    await until(pilot, lambda key=key: detail.shown_key == key)  # type: ignore[misc]
                    text = plain(app.query_one("#detail-text"))
                    for column in set(table.hidden) & {"size", "entry", "upnl", "bankr"}:
                        assert table.get_cell(key, column).plain in text, (column, text)
                if size[0] >= 120:
                    assert "bankr" in table.shown_columns() and "upnl" in table.shown_columns()
                    assert any(column == "bankr" and text[:1].isdigit() for (_, column), text in cells.items())

    asyncio.run(go())


def alert(i: int, severity: str = "critical") -> Alert:
    return Alert(
        id=f"a{i}",
        ts=1_790_000_000.0 + i,
        account="demo-binance",
        symbol="BTC/USDT:USDT",
        side="long",
        rule="distance",
        level="0.02",
        message=f"alert number {i}: BTC/USDT:USDT long 1.9% from liquidation " + "and a long explanation " * 6,
        severity=severity,  # type: ignore[arg-type]
    )


def test_a_burst_of_fifty_alerts_leaves_one_toast() -> None:
    async def go() -> None:
        clock = Clock()
        app, _ = demo_app(clock)
        async with app.run_test(size=(120, 40), notifications=True) as pilot:
            await until(pilot, lambda: app.alerts is not None)
            for i in range(50):
                app._on_alert(alert(i, "critical" if i % 2 else "warning"))
                if i % 7 == 0:
                    await pilot.pause()  # some arrive on later turns of the loop: still one toast
            await until(pilot, lambda: toasts_on_screen(app) == 1)
            await pilot.pause()
            assert toasts_on_screen(app) == 1 and len(app._notifications) == 1
            (note,) = list(app._notifications)
            assert note.title == "50 alerts: 25 critical · 25 warning (A: all)"
            assert "alert number 49" in note.message  # the newest line
            pane = app.query_one(AlertsPane)
            assert pane.count == 50
            width = pane.scrollable_content_region.width
            shown = pane.plain_lines(width)
            assert all(len(line) <= width for line in shown)
            assert all(line.rstrip().endswith("…") for line in shown)  # whole lines, cut, never wrapped
            # the table and the account strip are still in view, not covered
            assert app.query_one(PositionsTable).region.height > 10
            await pilot.press("A")
            await until(pilot, lambda: isinstance(app.screen, AlertsScreen))
            log = app.screen.query_one("#alerts-full", RichLog)
            await until(pilot, lambda: len(log.lines) > 50)
            unwrapped = " ".join(strip.text.strip() for strip in log.lines)
            assert alert(49).message.strip() in unwrapped  # the full text, newest first
            await pilot.press("escape")
            await until(pilot, lambda: not isinstance(app.screen, AlertsScreen))

    asyncio.run(go())


def test_the_crash_gives_one_summary_toast_and_keeps_the_table() -> None:
    async def go() -> None:
        clock = Clock()
        app, market = demo_app(clock)
        async with app.run_test(size=(120, 40), notifications=True) as pilot:
            toasts: list[int] = []
            while market.tick < CRASH_DONE:
                await run_to(pilot, market, clock, market.tick + 1)
                toasts.append(toasts_on_screen(app))
            pane = app.query_one(AlertsPane)
            assert pane.count >= 5  # liquidations and distance alerts
            assert max(toasts) <= 1
            table = app.query_one(PositionsTable)
            assert table.row_count < 13  # the crash liquidated some
            assert table.region.height == table.row_count + 1  # every row in view, the detail below

    asyncio.run(go())


def test_charts_follow_the_selected_position() -> None:
    async def go() -> None:
        clock = Clock()
        app, market = demo_app(clock)
        async with app.run_test(size=(160, 50)) as pilot:
            await run_to(pilot, market, clock, 10)
            chart = app.query_one("#mark-chart", LineChart)
            key = app.query_one(PositionsTable).selected_key()
            assert key is not None
            view = app.views[key]
            (series,) = chart.data.series
            assert len(series.points) >= 5 and series.points[-1][1] == view.mark_price
            names = {level.name: level.value for level in chart.data.levels}
            assert view.risk is not None
            assert names["liq"] == view.risk.liquidation_price
            assert names["entry"] == view.data.entry_price
            ratios = app.query_one("#mr-chart", LineChart).data.series[0].points
            assert ratios and ratios[-1][1] == pytest.approx(
                next(a for a in app.snapshot.accounts if a.name == view.account).risk.account.margin_ratio * 100  # type: ignore[union-attr]
            )
            drawn = chart.draws
            app.refresh_view()
            await pilot.pause()
            assert chart.draws == drawn  # nothing new: not drawn again

    asyncio.run(go())


def test_chart_draws_lines_and_levels() -> None:
    data = ChartData(
        (Series("mark", tuple((float(t), 100.0 - t) for t in range(20)), "cyan"),),
        (Level("liq", 70.0, "red"),),
    )
    lines = draw(data, 40, 10, Style())
    texts = [line.text for line in lines]
    assert len(lines) == 10 and all(line.cell_length == 40 for line in lines)
    assert "mark" in texts[0] and "liq" in texts[0]
    plot = texts[1:-1]
    assert any(chr(BRAILLE) < ch <= chr(BRAILLE + 255) for row in plot for ch in row)
    assert plot[0].lstrip().startswith("100") and plot[-1].lstrip().startswith("70")  # the level sets the floor
    assert "now" in texts[-1] and "-19s" in texts[-1]


def test_chart_repaints_only_the_lines_whose_cells_changed() -> None:
    """New data is drawn at once and compared line by line with what is on screen: a point that
    lands in the same cells repaints nothing; a moved line repaints only its rows, never the
    legend, the time axis or the border with its title."""
    from textual.app import App, ComposeResult
    from textual.geometry import Region

    class Host(App[None]):
        def compose(self) -> ComposeResult:
            yield LineChart("mark", id="chart")

    first = tuple((float(t), 100.0 + (t % 3)) for t in range(30))

    async def go() -> None:
        app = Host()
        async with app.run_test(size=(60, 12)) as pilot:
            chart = app.query_one(LineChart)
            chart.plot([Series("mark", first, "cyan")], [Level("liq", 90.0, "red")])
            await pilot.pause()
            drawn = chart.draws
            repaints: list[tuple[Region, ...]] = []
            real_refresh = chart.refresh

            def record(*regions: Region, **kwargs: Any) -> Any:
                repaints.append(regions)
                return real_refresh(*regions, **kwargs)

            chart.refresh = record  # type: ignore[method-assign]
            same_cells = (*first[:-2], (first[-2][0], first[-2][1] + 1e-6), first[-1])  # not an extreme
            chart.plot([Series("mark", same_cells, "cyan")], [Level("liq", 90.0, "red")])
            assert chart.draws == drawn + 1 and repaints == []  # drawn, identical: nothing repainted
            moved = (*first[:-1], (first[-1][0], 91.0))
            chart.plot([Series("mark", moved, "cyan")], [Level("liq", 90.0, "red")])
            await pilot.pause()
            assert repaints and all(regions for regions in repaints)  # line regions, not the whole chart
            rows = {y for regions in repaints for region in regions for y in range(region.y, region.bottom)}
            height = chart.content_size.height
            assert rows and 0 not in rows and height - 1 not in rows  # legend and time axis kept
            width = chart.content_size.width
            expected = [strip.text for strip in draw(chart.data, width, height, chart.rich_style)]
            assert [strip.text for strip in chart._lines or []] == expected

    asyncio.run(go())


def test_pools_chart_takes_plain_series_and_says_when_it_has_none() -> None:
    chart = LineChart("insurance")
    chart.plot_pools({}, empty="no insurance data yet")
    assert chart.data.series == () and chart.data.empty == "no insurance data yet"
    chart.plot_pools({"binance USDT": [(1.0, 5e9), (2.0, 4.9e9)], "okx": [(1.0, 1e9), (3.0, 1.1e9)]}, empty="-")
    assert [s.name for s in chart.data.series] == ["binance USDT", "okx"]
    assert chart.data.series[0].points == ((1.0, 5e9), (2.0, 4.9e9))


def test_palette_offers_every_action() -> None:
    async def go() -> None:
        clock = Clock()
        app, _ = demo_app(clock)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            titles = {c.title for c in app.get_system_commands(app.screen)}
            bound = {b.action.split("(")[0] for b in app.BINDINGS if isinstance(b, Binding)}
            offered = {action.split("(")[0] for _, _, action in app.COMMANDS_FOR_ACTIONS}
            assert bound - {"quit", "clear_filter"} <= offered | {"quit"}
            assert {"What-if", "Export CSV", "Export JSON", "Cycle sort", "Filter", "Quit"} <= titles

    asyncio.run(go())


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_export_writes_the_table_as_shown(tmp_path: Path, fmt: str) -> None:
    async def go() -> None:
        clock = Clock()
        app, _ = demo_app(clock)
        app.export_dir = tmp_path
        async with app.run_test(size=(120, 40), notifications=True) as pilot:
            table = app.query_one(PositionsTable)
            await until(pilot, lambda: table.row_count == 13)
            await pilot.press("e" if fmt == "csv" else "E")
            await until(pilot, lambda: isinstance(app.screen, ExportScreen))  # asks where first
            await pilot.press("enter")
            await until(pilot, lambda: any(str(tmp_path) in n.message for n in app._notifications))
            (path,) = tmp_path.iterdir()
            assert path.suffix == f".{fmt}"
            if fmt == "csv":
                rows = list(csv.DictReader(path.open(encoding="utf-8")))
            else:
                rows = json.loads(path.read_text(encoding="utf-8"))["positions"]
            assert [f"{r['account']}|{r['symbol']}|{r['side']}" for r in rows] == table.order
            first = app.views[table.order[0]]
            assert first.risk is not None
            assert float(rows[0]["liquidation_price"]) == first.risk.liquidation_price

    asyncio.run(go())


def test_sort_and_filter_persist_between_runs(tmp_path: Path) -> None:
    settings = tmp_path / "dashboard.json"

    async def first_run(pilot: Pilot[None]) -> None:
        app = pilot.app
        assert isinstance(app, LiqwatchApp)
        table = app.query_one(PositionsTable)
        await pilot.press("s")
        await until(pilot, lambda: table.sort_name == "margin ratio")
        await pilot.press("slash")
        await until(pilot, lambda: app.focused is not None and app.focused.id == "filter")
        await pilot.press(*"bybit", "enter")
        await until(pilot, lambda: table.filter_text == "bybit")

    async def go() -> None:
        for run in range(2):
            clock = Clock()
            app, _ = demo_app(clock)
            app.settings_file = settings
            from liqwatch.tui.settings import Settings

            app.settings = Settings.load(settings, {"nearest liquidation", "margin ratio"})
            async with app.run_test(size=(120, 40)) as pilot:
                table = app.query_one(PositionsTable)
                await pilot.pause()
                if run == 0:
                    await first_run(pilot)
                else:
                    assert table.sort_name == "margin ratio" and table.filter_text == "bybit"
                    assert table.order and all("bybit" in k for k in table.order)

    asyncio.run(go())
    assert json.loads(settings.read_text(encoding="utf-8")) == {"sort": "margin ratio", "filter": "bybit"}


def test_settings_follow_the_env_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from liqwatch.tui.settings import settings_path

    monkeypatch.setenv("LIQWATCH_CONFIG_DIR", str(tmp_path))
    assert settings_path() == tmp_path / "dashboard.json"
    (tmp_path / "dashboard.json").write_text("{not json", encoding="utf-8")
    from liqwatch.tui.settings import Settings

    assert Settings.load(tmp_path / "dashboard.json", {"symbol"}) == Settings()


# ---------------------------------------------------------------- snapshots


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
@pytest.mark.parametrize("moment", ["before-crash", "after-crash"])
def test_snapshots_at_every_size(snap_compare: Any, size: tuple[int, int], moment: str) -> None:
    clock = Clock()
    app, market = demo_app(clock)

    async def run_before(pilot: Pilot[None]) -> None:
        await run_to(pilot, market, clock, CRASH_DONE if moment == "after-crash" else 2)
        await pilot.pause()

    assert snap_compare(app, run_before=run_before, terminal_size=size)


def test_snapshot_narrow_detail_pane(snap_compare: Any) -> None:
    clock = Clock()
    app, market = demo_app(clock)

    async def run_before(pilot: Pilot[None]) -> None:
        await run_to(pilot, market, clock, CRASH_DONE)  # open under the short table from 32 lines
        await until(pilot, lambda: pilot.app.query_one(DetailPanel).display)
        await pilot.pause()

    assert snap_compare(app, run_before=run_before, terminal_size=(120, 40))


def test_ladder_screen_charts_and_the_pools_it_is_given() -> None:
    async def go() -> None:
        clock = Clock()
        app, market = demo_app(clock)
        async with app.run_test(size=(150, 45)) as pilot:
            await run_to(pilot, market, clock, 3)
            await pilot.press("l")
            await until(pilot, lambda: isinstance(app.screen, LadderScreen))
            screen = app.screen
            assert isinstance(screen, LadderScreen)
            pools = screen.query_one("#pools-chart", LineChart)
            assert pools.data.series == () and pools.data.empty == NO_POOLS
            shock = screen.query_one("#shock-chart", LineChart)
            assert {s.name for s in shock.data.series} == {"demo-binance", "demo-bybit", "demo-hyperliquid"}
            assert shock.data.x_labels == ("-30%", "+30% move")
            text = plain(screen.query_one("#ladder-chart"))
            assert "█" in text and "▌" in text and "nearest first" in text
            screen.show_pools({"binance USDT": [(T0, 1.0e9), (T0 + 60, 0.97e9)]})
            assert pools.data.series[0].points == ((T0, 1.0e9), (T0 + 60, 0.97e9))

    asyncio.run(go())


def test_the_demo_backstop_feeds_the_pools_chart() -> None:
    async def go() -> None:
        from liqwatch.feeds.demo import DemoFeed

        app = LiqwatchApp([DemoFeed(speed=20.0)], show_clock=False)
        async with app.run_test(size=(150, 45)) as pilot:
            await until(pilot, lambda: len(app.pools.series) >= 3)
            assert {key.split()[0] for key in app.pools.series} == {"binance", "bybit", "hyperliquid"}
            await pilot.press("l")
            await until(pilot, lambda: isinstance(app.screen, LadderScreen))
            chart = app.screen.query_one("#pools-chart", LineChart)
            assert {s.name for s in chart.data.series} == set(app.pools.series)
            assert all(p[1] > 1e8 for s in chart.data.series for p in s.points)  # USD balances

    asyncio.run(go())


@pytest.mark.parametrize("xdg", ["", "/tmp/some-xdg-config"])
def test_settings_path_is_platformdirs_config_dir(monkeypatch: pytest.MonkeyPatch, xdg: str) -> None:
    import sys

    from platformdirs import user_config_path

    from liqwatch.tui.settings import settings_path

    if not sys.platform.startswith("linux"):
        pytest.skip("the inline rule is Linux's; elsewhere platformdirs itself is asked")
    monkeypatch.delenv("LIQWATCH_CONFIG_DIR", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", xdg)
    assert settings_path() == user_config_path("liqwatch") / "dashboard.json"


FIRST_FRAME_PROBE = """
import sys
from liqwatch.feeds.demo import DemoFeed
from liqwatch.tui.app import LiqwatchApp

class Probe(LiqwatchApp):
    def on_mount(self) -> None:
        self.call_after_refresh(self.first_frame)
        super().on_mount()

    def first_frame(self) -> None:
        heavy = ("pydantic", "aiohttp", "ccxt", "websockets", "nats")
        heavy += ("liqwatch.alerts", "liqwatch.market.", "liqwatch.feeds.events")
        print(",".join(sorted(m for m in sys.modules if m.startswith(heavy))))
        self.exit()

Probe([DemoFeed()]).run(headless=True)
"""


@pytest.mark.slow
def test_the_first_frame_loads_no_pydantic_alerts_or_network_stacks() -> None:
    """Issue #14's first-frame budget: the feeds' pydantic events, the alert engine and its
    channels (aiohttp), the market data and the venue clients load after the first frame."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", FIRST_FRAME_PROBE], cwd=root, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip().splitlines()[-1:] in ([], [""])


def test_refresh_pacing_is_whole_timer_ticks_and_does_not_flip_at_a_boundary() -> None:
    """A large book's refreshes are spaced to keep recomputing within DUTY of a core, in whole
    ticks of the timer (what it can keep, what the subtitle says), stable while the cost hovers."""
    from liqwatch.tui.app import DUTY, paced_interval

    step = 0.5
    assert paced_interval(step, 0.001, step) == step  # a small book is not slowed
    interval = paced_interval(step, 1.3 * DUTY, step)
    assert interval == 1.5  # slowed at once, to the next whole tick
    seen = []
    for need in (1.45, 1.55, 1.48, 1.6, 1.41, 1.52) * 5:  # hovering at the 1.5 s boundary
        interval = paced_interval(interval, need * DUTY, step)
        assert need * DUTY / interval <= DUTY * (1 + 1e-9)  # never over the duty
        seen.append(interval)
    assert seen[:1] == [1.5] and set(seen[1:]) == {2.0}  # one change, then steady
    assert paced_interval(2.0, 1.25 * DUTY, step) == 2.0  # 1.5 s would fit, but not with room to spare
    assert paced_interval(2.0, 1.1 * DUTY, step) == 1.5
    assert paced_interval(2.0, 0.1 * DUTY, step) == step


def test_the_heap_is_frozen_once_when_the_first_positions_are_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    """LiqwatchApp.FREEZE_HEAP: once per run, after the first positions are on screen (the
    startup's modules, styles and widgets then stay out of every later garbage collection)."""
    import gc

    from liqwatch.heap import YOUNG_GC

    real = LiqwatchApp.freeze_heap
    calls: list[int] = []
    monkeypatch.setattr(LiqwatchApp, "FREEZE_HEAP", True)
    monkeypatch.setattr(LiqwatchApp, "freeze_heap", staticmethod(lambda: calls.append(1)))

    async def go() -> None:
        clock = Clock()
        empty = LiqwatchApp([], clock=clock, refresh_seconds=3600, autostart=False, show_clock=False)
        async with empty.run_test() as pilot:
            empty.refresh_view(force_sort=True)
            await pilot.pause()
        assert calls == []  # no positions yet: nothing frozen
        app, market = demo_app(clock)
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: len(calls) == 1)
            await run_to(pilot, market, clock, 3)
        assert len(calls) == 1

    asyncio.run(go())
    frozen, threshold = gc.get_freeze_count(), gc.get_threshold()
    try:
        real()
        assert gc.get_freeze_count() > frozen
        assert gc.get_threshold() == (YOUNG_GC, *threshold[1:])
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


def test_an_account_card_repaints_only_its_changed_lines() -> None:
    """A new equity or margin ratio repaints its line of the card, not the card and its border."""
    from textual.geometry import Region

    from liqwatch.tui.widgets.account_strip import AccountCard

    async def go() -> None:
        clock = Clock()
        app, market = demo_app(clock)
        async with app.run_test(size=(160, 50)) as pilot:
            await run_to(pilot, market, clock, 2)
            card = app.query(AccountCard).first()
            before = list(card._blocks)
            repaints: list[tuple[Region, ...]] = []
            real_refresh = card.refresh

            def record(*regions: Region, **kwargs: Any) -> Any:
                repaints.append(regions)
                return real_refresh(*regions, **kwargs)

            card.refresh = record  # type: ignore[method-assign]
            await run_to(pilot, market, clock, 4)
            after = card._blocks
            assert after[0] is before[0]  # the title: kept, not rendered again
            assert any(a is not b for a, b in zip(after, before, strict=True))  # equity, ratio moved
            assert repaints and all(regions for regions in repaints)  # line regions only
            assert all(region.height < card.content_size.height for regions in repaints for region in regions)

    asyncio.run(go())


def test_the_header_clock_repaints_with_the_refreshes_not_on_a_timer_of_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One frame a second, not two: the clock has no timer; it shows the time of each refresh,
    and repaints on its own only when no refresh came for most of a second."""
    import datetime as dt
    from types import SimpleNamespace

    from liqwatch.tui.widgets import header
    from liqwatch.tui.widgets.header import ALONE_AFTER, DashClock

    wall = {"t": dt.datetime(2026, 1, 1, 12, 0, 0), "mono": 100.0}
    monkeypatch.setattr(header, "datetime", SimpleNamespace(now=lambda: wall["t"]))
    monkeypatch.setattr(header, "time", SimpleNamespace(monotonic=lambda: wall["mono"]))

    def later(seconds: float) -> None:
        wall["t"] += dt.timedelta(seconds=seconds)
        wall["mono"] += seconds

    async def go() -> None:
        clock = Clock()
        app, _ = demo_app(clock)
        app.show_clock = True
        async with app.run_test(size=(120, 40)) as pilot:
            dash = app.query_one(DashClock)
            assert not dash._timers  # Textual's HeaderClock would tick on its own
            repaints: list[str] = []
            real_refresh = dash.refresh

            def record(*regions: Any, **kwargs: Any) -> Any:
                repaints.append(dash._text)
                return real_refresh(*regions, **kwargs)

            dash.refresh = record  # type: ignore[method-assign]
            dash.tick(refreshed=True)
            assert repaints == ["12:00:00"]
            later(0.5)
            dash.tick(refreshed=False)  # half a second, no refresh: waits for one
            later(0.5)
            dash.tick(refreshed=True)  # painted with the refresh
            assert repaints == ["12:00:00", "12:00:01"]
            later(ALONE_AFTER + 0.1)
            dash.tick(refreshed=False)  # still 12:00:01: nothing to repaint
            assert repaints == ["12:00:00", "12:00:01"]
            later(0.5)
            dash.tick(refreshed=False)  # no refresh for most of a second: on its own
            assert repaints == ["12:00:00", "12:00:01", "12:00:02"]
            await pilot.pause()
            assert "12:00:02" in " ".join(screen_lines(app)[:1])

    asyncio.run(go())
