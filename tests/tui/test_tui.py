"""The dashboard, driven like a person would: Pilot for every interaction, SVG snapshots of the
main views on the deterministic demo."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from typing import Any

import pytest
from rich.console import Console, RenderableType
from textual.css.query import NoMatches
from textual.pilot import Pilot
from textual.widgets import Input

from liqwatch.feeds.base import Sink
from liqwatch.feeds.demo import DemoMarket, synthetic_accounts
from liqwatch.feeds.events import MarkPrice, PositionData, Positions
from liqwatch.tui.app import LiqwatchApp
from liqwatch.tui.screens.help import HelpScreen
from liqwatch.tui.screens.ladder import LadderScreen
from liqwatch.tui.screens.whatif import WhatIfScreen, evaluate
from liqwatch.tui.widgets.alerts import AlertsPane
from liqwatch.tui.widgets.detail import DetailPanel, DetailText
from liqwatch.tui.widgets.positions import COLUMNS, PositionsTable
from tests.fakes.ws_server import WAIT_TIMEOUT

T0 = 1_790_000_000.0


class Clock:
    def __init__(self, t: float = T0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def demo_app(ticks: int = 0, clock: Clock | None = None) -> LiqwatchApp:
    """The demo portfolio after ``ticks`` simulated seconds, loaded synchronously: no timers, no
    wall clock, so every frame is reproducible."""
    clock = clock or Clock()
    market = DemoMarket(7)
    for _ in range(ticks):
        market.step()
    app = LiqwatchApp([], clock=clock, refresh_seconds=3600, autostart=False, show_clock=False)
    for event in market.initial_events(clock.t):
        app.monitor.state.apply(event)
    return app


def plain(widget: Any) -> str:
    """What a Static shows, as plain text."""
    return plain_text(widget.content)


def plain_text(renderable: RenderableType) -> str:
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


async def rows(app: LiqwatchApp) -> list[str]:
    return app.query_one(PositionsTable).order


async def until(pilot: Pilot[None], predicate: Callable[[], bool], timeout: float = WAIT_TIMEOUT) -> None:
    """Let the app run until ``predicate()`` holds (``timeout`` is only a safety net). A bare
    ``pilot.pause()`` takes "the process looks idle" for "the work is done", and a key press can
    be routed before an earlier one moved the focus, which a busy machine makes happen: each
    step waits for its own effect instead."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await pilot.pause(0.01)


def shows(app: LiqwatchApp, selector: str, text: str) -> bool:
    """Whether ``selector`` on the current screen shows ``text`` (False while it is not mounted)."""
    try:
        return text in plain(app.screen.query_one(selector))
    except NoMatches:
        return False


def focused_id(app: LiqwatchApp) -> str | None:
    return None if app.focused is None else app.focused.id


def detail_follows_cursor(app: LiqwatchApp) -> bool:
    return app.query_one(DetailPanel).shown_key == app.query_one(PositionsTable).selected_key()


def whatif_result_is_current(app: LiqwatchApp) -> bool:
    """The what-if result shows what the inputs say now (it is recomputed on Input.Changed)."""
    screen = app.screen
    if not isinstance(screen, WhatIfScreen):
        return False
    expected = evaluate(screen.venue, screen.specs, screen.wallet, screen.index, screen.values())
    return plain(screen.query_one("#wi-result")) == plain_text(expected)


async def open_whatif(pilot: Pilot[None]) -> None:
    """``w``: the what-if screen, typing into its first field."""
    app = pilot.app
    assert isinstance(app, LiqwatchApp)
    await pilot.press("w")
    await until(pilot, lambda: isinstance(app.screen, WhatIfScreen) and focused_id(app) == "wi-add-size")


async def type_into_whatif(pilot: Pilot[None], text: str) -> None:
    """Type ``text`` into the focused what-if field; until the result shows it."""
    app = pilot.app
    assert isinstance(app, LiqwatchApp)
    box = app.focused
    assert isinstance(box, Input)
    value = box.value + text
    await pilot.press(*text)  # one widget has the focus throughout: the keys reach it in order
    await until(pilot, lambda: box.value == value and whatif_result_is_current(app))


async def open_ladder(pilot: Pilot[None]) -> None:
    app = pilot.app
    assert isinstance(app, LiqwatchApp)
    await pilot.press("l")
    await until(pilot, lambda: isinstance(app.screen, LadderScreen) and shows(app, "#ladder-chart", "Liquidation"))


async def close_screen(pilot: Pilot[None]) -> None:
    """``escape`` on a modal screen: until it is gone."""
    screen = pilot.app.screen
    await pilot.press("escape")
    await until(pilot, lambda: pilot.app.screen is not screen)


def test_main_view_navigation_and_detail() -> None:
    async def go() -> None:
        app = demo_app()
        async with app.run_test(size=(140, 40)) as pilot:
            await pilot.pause()
            keys = await rows(app)
            assert len(keys) == 13
            assert len(app.query("AccountCard")) == 4
            table = app.query_one(PositionsTable)
            first = table.selected_key()
            await pilot.press("down")
            await until(pilot, lambda: table.cursor_row == 1 and detail_follows_cursor(app))
            second = table.selected_key()
            assert first != second and second == keys[1]
            detail = plain(app.query_one("#detail-text"))
            assert second.split("|")[1] in detail
            await pilot.press("d")
            await until(pilot, lambda: app.query_one(DetailPanel).has_class("-hidden"))

    asyncio.run(go())


def test_default_sort_is_nearest_liquidation_and_s_cycles() -> None:
    async def go() -> None:
        app = demo_app()
        async with app.run_test(size=(140, 40)) as pilot:
            await pilot.pause()
            views = app.views
            priced = [k for k in await rows(app) if views[k].risk is not None]  # not the multi-assets pair
            dists = [views[k].risk.distance_to_liquidation for k in priced]  # type: ignore[union-attr]
            finite = [d for d in dists if d is not None]
            assert finite == sorted(finite)
            await pilot.press("s")
            await until(pilot, lambda: app.query_one(PositionsTable).sort_name == "margin ratio")
            priced = [k for k in await rows(app) if views[k].risk is not None]
            ratios = [views[k].risk.margin_ratio for k in priced]  # type: ignore[union-attr]
            assert ratios == sorted(ratios, reverse=True)  # type: ignore[type-var]
            assert "sort: margin ratio" in app.sub_title

    asyncio.run(go())


def test_filter() -> None:
    async def go() -> None:
        app = demo_app()
        async with app.run_test(size=(140, 40)) as pilot:
            await pilot.pause()
            table = app.query_one(PositionsTable)
            await pilot.press("slash")  # the filter box takes the focus: only then type into it
            await until(pilot, lambda: focused_id(app) == "filter")
            await pilot.press(*"DOGE")
            await until(pilot, lambda: app.query_one("#filter", Input).value == "DOGE")
            await pilot.press("enter")
            await until(pilot, lambda: table.filter_text == "DOGE" and app.focused is table)
            assert all("DOGE" in k for k in await rows(app)) and len(await rows(app)) == 2
            await pilot.press("escape")
            await until(pilot, lambda: table.filter_text == "")
            assert len(await rows(app)) == 13

    asyncio.run(go())


def test_whatif_panel_live_result() -> None:
    async def go() -> None:
        app = demo_app()
        async with app.run_test(size=(140, 40)) as pilot:
            await pilot.pause()
            await open_whatif(pilot)
            assert isinstance(app.screen, WhatIfScreen)
            await type_into_whatif(pilot, "100")
            text = plain(app.screen.query_one("#wi-result"))
            assert "→" in text and "Liq. price" in text
            await pilot.press("tab")
            await until(pilot, lambda: focused_id(app) == "wi-add-price")
            await pilot.press("tab")
            await until(pilot, lambda: focused_id(app) == "wi-leverage")
            await type_into_whatif(pilot, "500")  # leverage 500x: not allowed
            assert "NOT ALLOWED" in plain(app.screen.query_one("#wi-result"))
            await close_screen(pilot)
            assert not isinstance(app.screen, WhatIfScreen)

    asyncio.run(go())


def test_ladder_and_help_screens() -> None:
    async def go() -> None:
        app = demo_app()
        async with app.run_test(size=(140, 40)) as pilot:
            await pilot.pause()
            await open_ladder(pilot)
            assert isinstance(app.screen, LadderScreen)
            assert "Liquidation ladder" in plain(app.screen.query_one("#ladder-chart"))
            await close_screen(pilot)
            await pilot.press("question_mark")
            await until(pilot, lambda: isinstance(app.screen, HelpScreen))
            await close_screen(pilot)
            assert not isinstance(app.screen, (HelpScreen, LadderScreen))

    asyncio.run(go())


def test_stale_marks_are_visibly_stale() -> None:
    async def go() -> None:
        clock = Clock()
        app = demo_app(clock=clock)
        async with app.run_test(size=(140, 40)) as pilot:
            await pilot.pause()
            assert "STALE" not in app.sub_title
            clock.t += 10.0  # no mark for 10 s on 1 s streams
            app.refresh_view()
            await pilot.pause()
            assert "13 STALE" in app.sub_title
            table = app.query_one(PositionsTable)
            key = (await rows(app))[0]
            assert "⚠" in str(table.get_cell(key, "mark"))

    asyncio.run(go())


class BrokenFeed:
    name = "broken"
    exchange = "binance"

    async def run(self, sink: Sink) -> None:
        sink(
            Positions(
                account="broken",
                exchange="binance",
                ts=T0,
                positions=[
                    PositionData(
                        symbol="BTC/USDT:USDT",
                        side="long",
                        size=1,
                        entry_price=60000,
                        margin_mode="isolated",
                        leverage=10,
                    )
                ],
            )
        )
        raise RuntimeError("boom")


class SteadyFeed:
    name = "steady"
    exchange = "binance"

    async def run(self, sink: Sink) -> None:
        sink(
            Positions(
                account="steady",
                exchange="binance",
                ts=T0,
                positions=[
                    PositionData(
                        symbol="ETH/USDT:USDT",
                        side="short",
                        size=2,
                        entry_price=3000,
                        margin_mode="isolated",
                        leverage=5,
                    )
                ],
            )
        )
        while True:
            sink(MarkPrice(account="steady", exchange="binance", ts=T0, symbol="ETH/USDT:USDT", price=3010))
            await asyncio.sleep(0.05)


def test_a_failing_feed_never_exits_the_app() -> None:
    async def go() -> None:
        app = LiqwatchApp([BrokenFeed(), SteadyFeed()], refresh_seconds=0.1, show_clock=False)
        async with app.run_test(size=(120, 30), notifications=True) as pilot:
            # the feeds start after the first frame: until both have been heard from. The error is
            # in the alerts pane (and counted in the one summary toast, which may have expired on
            # a busy machine by the time the steady feed's row appears).
            pane = app.query_one(AlertsPane)

            def both_heard_from() -> bool:
                return any("boom" in line.message for line in pane.lines) and any(
                    "steady" in k for k in app.query_one(PositionsTable).order
                )

            await until(pilot, both_heard_from)
            assert app.is_running
            assert len(app._notifications) <= 1

    asyncio.run(go())


def test_only_changed_cells_are_repainted() -> None:
    async def go() -> None:
        app = demo_app()
        async with app.run_test(size=(140, 40)) as pilot:
            await pilot.pause()
            table = app.query_one(PositionsTable)
            before = table.cell_updates
            app.refresh_view()
            app.refresh_view()
            assert table.cell_updates == before  # nothing moved: nothing repainted
            state = app.monitor.state
            state.apply(
                MarkPrice(account="demo-binance", exchange="binance", ts=T0 + 1, symbol="XRP/USDT:USDT", price=0.61)
            )
            app.refresh_view()
            changed = table.cell_updates - before
            assert 0 < changed <= 8  # the XRP row's price-dependent cells only

    asyncio.run(go())


def test_small_terminal_stays_usable() -> None:
    async def go() -> None:
        app = demo_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert app.query_one(PositionsTable).row_count == 13
            await open_whatif(pilot)
            assert isinstance(app.screen, WhatIfScreen)

    asyncio.run(go())


def big_app(positions: int, clock: Clock) -> tuple[LiqwatchApp, DemoMarket]:
    accounts, symbols = synthetic_accounts(positions, positions, 7)
    market = DemoMarket(7, accounts, symbols)
    app = LiqwatchApp([], clock=clock, refresh_seconds=3600, autostart=False, show_clock=False)
    for event in market.initial_events(clock.t):
        app.monitor.state.apply(event)
    return app, market


def tick(app: LiqwatchApp, market: DemoMarket, clock: Clock) -> None:
    market.step()
    clock.t += 1.0
    for event in market.mark_events(clock.t, 1.0):
        app.monitor.state.apply(event)
    app.refresh_view()


def test_only_rows_on_screen_are_formatted_and_scrolled_rows_are_current() -> None:
    async def go() -> None:
        clock = Clock()
        app, market = big_app(300, clock)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            table = app.query_one(PositionsTable)
            assert table.row_count == 300
            before = table.cell_updates
            tick(app, market, clock)
            assert 0 < table.cell_updates - before <= 30 * len(COLUMNS)  # a screenful, not 300 rows
            await pilot.press("ctrl+end")
            key = table.order[-1]
            await until(pilot, lambda: table.selected_key() == key and table.scroll_offset.y > 0)
            view = app.views[key]
            assert str(table.get_cell(key, "symbol")) == view.data.symbol.split(":")[0]
            await pilot.press("ctrl+home", "pagedown")  # both to the table, in order
            await until(pilot, lambda: table.cursor_row > 10)
            # whole columns give way to the width: nothing to scroll sideways (home/end stay put)
            assert table.virtual_size.width <= table.scrollable_content_region.width
            await pilot.press("end")
            await pilot.pause()
            assert table.scroll_offset.x == 0

    asyncio.run(go())


def test_mouse_selects_a_row() -> None:
    async def go() -> None:
        app = demo_app()
        async with app.run_test(size=(140, 40)) as pilot:
            await pilot.pause()
            table = app.query_one(PositionsTable)
            await pilot.click(PositionsTable, offset=(3, 4))  # line 0 is the header
            await until(pilot, lambda: table.cursor_row == 3 and detail_follows_cursor(app))
            key = table.order[3]
            assert table.cursor_row == 3 and table.selected_key() == key
            assert key.split("|")[1] in plain(app.query_one("#detail-text"))
            await pilot.click(PositionsTable, offset=(3, 0))  # the header selects nothing
            assert table.cursor_row == 3

    asyncio.run(go())


def test_detail_repaints_only_what_changed() -> None:
    async def go() -> None:
        clock = Clock()
        app = demo_app(clock=clock)
        async with app.run_test(size=(140, 40)) as pilot:
            await pilot.pause()
            text = app.query_one(DetailText)
            blocks = list(text._blocks)
            clock.t += 0.6  # the mark ages, but still shows as "<1s old"
            app.refresh_view(force_sort=True)
            assert text._blocks == blocks and all(a is b for a, b in zip(text._blocks, blocks, strict=True))
            key = app.query_one(PositionsTable).selected_key()
            assert key is not None
            account, symbol, _ = key.split("|")
            price = app.views[key].mark_price * 1.001
            app.monitor.state.apply(
                MarkPrice(account=account, exchange=app.views[key].exchange, ts=clock.t, symbol=symbol, price=price)
            )
            app.refresh_view()
            assert text._blocks[0] is not blocks[0]  # the figures
            assert text._blocks[1] is blocks[1]  # the brackets: same tier

    asyncio.run(go())


# ---------------------------------------------------------------- snapshots


def _snap(app_factory: Any) -> Any:
    return app_factory()


@pytest.mark.parametrize(
    ("name", "press", "ticks"),
    [
        ("main", [], 0),
        ("main-after-crash", [], 38),
        ("detail-second-row", ["down"], 0),
        ("whatif", ["w", "1", "0", "0"], 0),
        ("ladder", ["l"], 0),
    ],
)
def test_snapshots(snap_compare: Any, name: str, press: list[str], ticks: int) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        """The key presses, each once the one before took effect (see ``until``)."""
        app = pilot.app
        assert isinstance(app, LiqwatchApp)
        if press[:1] == ["down"]:
            table = app.query_one(PositionsTable)
            await pilot.press("down")
            await until(pilot, lambda: table.cursor_row == 1 and detail_follows_cursor(app))
        elif press[:1] == ["w"]:
            await open_whatif(pilot)
            await type_into_whatif(pilot, "".join(press[1:]))
        elif press[:1] == ["l"]:
            await open_ladder(pilot)
        else:
            assert press == []

    assert snap_compare(demo_app(ticks), run_before=run_before, terminal_size=(140, 40))


def test_alerts_reach_the_pane_the_toast_and_the_bell() -> None:
    async def go() -> None:
        clock = Clock()
        app = demo_app(clock=clock)
        async with app.run_test(size=(140, 40), notifications=True) as pilot:
            await until(pilot, lambda: app.alerts is not None)  # the engine is built after the first frame
            pane = app.query_one("#alerts")
            assert pane.count == 0
            # XRP's mark falls to within 1% of its liquidation price: a critical distance alert
            app.monitor.state.apply(
                MarkPrice(account="demo-binance", exchange="binance", ts=T0 + 1, symbol="XRP/USDT:USDT", price=0.6090)
            )
            clock.t += 1
            app.refresh_view()
            assert pane.count >= 1

            def toasted() -> bool:
                toasts = [n.message for n in app._notifications]
                return any("XRP/USDT:USDT" in t for t in toasts) or any(
                    "press a for the alerts pane" in t for t in toasts
                )

            await until(pilot, toasted)  # the toasts are flushed on the next turn of the app's loop
            await pilot.press("a")
            await until(pilot, lambda: pane.has_class("-hidden"))

    asyncio.run(go())
