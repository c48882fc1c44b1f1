"""One frame a second on a steady dashboard (issue #22: 50 positions at 160 x 50 within 2 % of a
core): the header clock repaints in the view's refreshes, whatever the phase of the refreshes
against the wall clock's seconds."""

from __future__ import annotations

import asyncio
import datetime as dt
from types import SimpleNamespace
from typing import Any

import pytest
from textual.geometry import Region

from liqwatch.tui.widgets import header
from liqwatch.tui.widgets.header import DashClock
from liqwatch.tui.widgets.positions import PositionsTable
from tests.tui.driver import Clock, demo_app
from tests.tui.test_dashboard import screen_lines


def test_the_clock_follows_refreshes_half_a_second_off_its_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    """The view refreshes at x.5 s of the wall clock (the feed's phase): the clock's second turns
    between two refreshes. It waits for the next refresh to show it, instead of repainting alone
    when its second turns (a second frame every second, half a second after the view's)."""
    wall = {"t": dt.datetime(2026, 1, 1, 12, 0, 0), "mono": 100.0}
    monkeypatch.setattr(header, "datetime", SimpleNamespace(now=lambda: wall["t"]))
    monkeypatch.setattr(header, "time", SimpleNamespace(monotonic=lambda: wall["mono"]))

    def later(seconds: float) -> None:
        wall["t"] += dt.timedelta(seconds=seconds)
        wall["mono"] += seconds

    async def go() -> None:
        app, _ = demo_app(Clock())
        app.show_clock = True
        async with app.run_test(size=(120, 40)):
            dash = app.query_one(DashClock)
            repaints: list[tuple[str, bool]] = []
            real_refresh = dash.refresh
            refreshed = {"now": False}

            def record(*regions: Any, **kwargs: Any) -> Any:
                repaints.append((dash._text, refreshed["now"]))
                return real_refresh(*regions, **kwargs)

            dash.refresh = record  # type: ignore[method-assign]

            def tick(with_refresh: bool) -> None:
                refreshed["now"] = with_refresh
                dash.tick(refreshed=with_refresh)

            tick(False)  # the first paint (no refresh yet)
            later(0.5)
            for _ in range(5):  # 12:00:00.5, 12:00:01.5, ...: a refresh; x.0: the timer alone
                tick(True)
                later(0.5)
                tick(False)
                later(0.5)
            assert repaints[0] == ("12:00:00", False)
            assert repaints[1:] == [(f"12:00:0{s}", True) for s in range(1, 5)]  # each with a refresh
            later(1.0)  # the feed goes quiet: no refresh for most of a second, the clock on its own
            tick(False)
            assert repaints[-1] == ("12:00:06", False)

    asyncio.run(go())


def test_a_resort_repaints_only_the_rows_that_moved() -> None:
    """A resort (every few seconds) that swaps two rows repaints those two lines, not the whole
    table; what is on screen is then what a whole repaint shows."""

    async def go() -> None:
        app, _ = demo_app(Clock())
        async with app.run_test(size=(160, 50)) as pilot:
            await pilot.pause()
            table = app.query_one(PositionsTable)
            before = screen_lines(app)
            order = list(table._order)
            assert len(order) > 6 and table.scroll_offset.y == 0
            new = order[:]
            new[1], new[4] = new[4], new[1]
            calls: list[tuple[Region, ...]] = []
            real_refresh = table.refresh

            def record(*regions: Region, **kwargs: Any) -> Any:
                calls.append(regions)
                return real_refresh(*regions, **kwargs)

            table.refresh = record  # type: ignore[method-assign]
            table._reorder(new, table.selected_key())
            table.refresh = real_refresh  # type: ignore[method-assign]
            width = table.size.width
            assert calls == [(Region(0, 2, width, 1), Region(0, 5, width, 1))]  # line 0 is the header
            await pilot.pause()
            partial = screen_lines(app)
            table.refresh()
            await pilot.pause()
            assert screen_lines(app) == partial  # no line left stale
            assert partial != before  # and the two rows did move on screen

    asyncio.run(go())
