"""Issue #20 point 14: the what-if, help and export screens at 80x24, and the summary toast kept
off them."""

from __future__ import annotations

import asyncio
import csv
import json
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Static
from textual.widgets._toast import Toast

from liqwatch.tui.app import LiqwatchApp
from liqwatch.tui.screens.export import ExportScreen
from liqwatch.tui.screens.help import HelpScreen
from liqwatch.tui.screens.whatif import FIELDS, WhatIfScreen
from liqwatch.tui.widgets.positions import PositionsTable
from tests.tui.driver import Clock, demo_app, run_to
from tests.tui.test_dashboard import alert, screen_lines
from tests.tui.test_tui import focused_id, open_whatif, plain, type_into_whatif, until


def screen_text(app: LiqwatchApp) -> str:
    return "\n".join(screen_lines(app))


def test_whatif_labels_stay_whole_at_80x24_while_typing() -> None:
    async def go() -> None:
        clock = Clock()
        app, _ = demo_app(clock)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.query_one(PositionsTable).row_count == 13)
            await open_whatif(pilot)
            await pilot.pause()
            for _, label in FIELDS:  # every label whole, before anything is typed
                assert label in screen_text(app), label
            for i, (key, label) in enumerate(FIELDS):
                if i:
                    await pilot.press("tab")
                    await until(pilot, lambda key=key: focused_id(app) == f"wi-{key}")  # type: ignore[misc]
                await type_into_whatif(pilot, "-1" if key == "margin" else "2")
                await pilot.pause()
                text = screen_text(app)
                for _, other in FIELDS:  # the labels stay, the typed fields' too
                    assert other in text, (key, other)
                box = app.screen.query_one(f"#wi-{key}", Input)
                line = next(line for line in screen_lines(app) if label in line)
                assert box.value in line[line.index(label) + len(label) :]  # typed beside its label
            assert isinstance(app.screen, WhatIfScreen)

    asyncio.run(go())


def test_the_alert_summary_waits_while_a_screen_is_open() -> None:
    async def go() -> None:
        clock = Clock()
        app, market = demo_app(clock)
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            await run_to(pilot, market, clock, 3)
            await until(pilot, lambda: len(app.screen.query(Toast)) == 1)  # the demo's first alerts
            counted = sum(app.toast.counts.values())
            await open_whatif(pilot)
            await until(pilot, lambda: not app._notifications)
            app._on_alert(alert(1, "critical"))  # while the what-if is open
            await pilot.pause()
            await pilot.pause()
            assert not app._notifications and not app.screen.query(Toast)
            assert all(not screen.query(Toast) for screen in app.screen_stack)  # not even behind it
            assert "alerts:" not in screen_text(app)
            await pilot.press("escape")
            await until(pilot, lambda: not isinstance(app.screen, WhatIfScreen))
            await until(pilot, lambda: len(app.screen.query(Toast)) == 1)
            (note,) = list(app._notifications)
            assert note.title.startswith(f"{counted + 1} alerts:") and "1 critical" in note.title

    asyncio.run(go())


def test_help_says_how_to_close_it() -> None:
    async def go() -> None:
        clock = Clock()
        app, _ = demo_app(clock)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.query_one(PositionsTable).row_count == 13)
            for close in ("escape", "question_mark"):
                await pilot.press("question_mark")
                await until(pilot, lambda: isinstance(app.screen, HelpScreen))
                await pilot.pause()
                assert "Esc, ? or q to close" in screen_text(app)  # in view at 80x24, at the top
                await pilot.press(close)
                await until(pilot, lambda: not isinstance(app.screen, HelpScreen))

    asyncio.run(go())


async def ask_export(pilot: Pilot[None], app: LiqwatchApp, key: str = "e") -> ExportScreen:
    await pilot.press(key)
    await until(pilot, lambda: isinstance(app.screen, ExportScreen) and focused_id(app) == "export-path")
    screen = app.screen
    assert isinstance(screen, ExportScreen)
    return screen


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_export_says_where_before_writing_and_fills_settle(tmp_path: Path, fmt: str) -> None:
    async def go() -> None:
        clock = Clock()
        app, _ = demo_app(clock)
        app.export_dir = tmp_path
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            table = app.query_one(PositionsTable)
            await until(pilot, lambda: table.row_count == 13)
            screen = await ask_export(pilot, app, "e" if fmt == "csv" else "E")
            box = screen.query_one("#export-path", Input)
            assert box.value.startswith(str(tmp_path / "liqwatch-positions-")) and box.value.endswith(f".{fmt}")
            target = plain(screen.query_one("#export-target", Static))
            assert " ".join(target.split()) == f"will write: {box.value}"  # whole, wrapped if need be
            assert "will write:" in screen_text(app)
            assert not list(tmp_path.iterdir())
            await pilot.press("escape")  # cancelled: nothing written
            await until(pilot, lambda: not isinstance(app.screen, ExportScreen))
            assert not list(tmp_path.iterdir())
            screen = await ask_export(pilot, app, "e" if fmt == "csv" else "E")
            box = screen.query_one("#export-path", Input)
            box.value = str(tmp_path / "sub" / f"mine.{fmt}")  # edited: another name, a new directory
            await pilot.press("enter")
            await until(pilot, lambda: not isinstance(app.screen, ExportScreen))
            path = tmp_path / "sub" / f"mine.{fmt}"
            await until(pilot, lambda: any(str(path) in n.message for n in app._notifications))
            if fmt == "csv":
                rows = list(csv.DictReader(path.open(encoding="utf-8")))
            else:
                rows = json.loads(path.read_text(encoding="utf-8"))["positions"]
            assert len(rows) == 13
            for row in rows:  # every position's settle currency, as calc --json gives it
                assert row["settle"] == row["symbol"].rpartition(":")[2], row
            assert {row["settle"] for row in rows} == {"USDT", "USDC"}
            # the next export offers the directory just used; an existing file is never overwritten
            screen = await ask_export(pilot, app, "e" if fmt == "csv" else "E")
            box = screen.query_one("#export-path", Input)
            assert box.value.startswith(str(tmp_path / "sub"))
            before = path.read_bytes()
            box.value = str(path)
            await pilot.press("enter")
            error = screen.query_one("#export-error", Static)
            await until(pilot, lambda: "exists" in plain(error))
            assert plain(error).strip() == f"export path: {path} exists — choose another name, or Esc to cancel"
            assert isinstance(app.screen, ExportScreen) and path.read_bytes() == before

    asyncio.run(go())


def test_settle_is_filled_for_positions_without_risk_figures() -> None:
    from liqwatch.feeds.events import PositionData
    from liqwatch.state import PositionView
    from liqwatch.tui.export import record

    def view(exchange: str, symbol: str, settle: str | None = None) -> PositionView:
        data = PositionData(symbol=symbol, side="long", size=1.0, entry_price=100.0, settle=settle)
        return PositionView("main", exchange, data, 100.0, 0.1, False, None)

    assert record(view("deribit", "BTC/USD:BTC", "BTC"))["settle"] == "BTC"  # the venue's own
    assert record(view("binance", "XRP/USDT:USDT"))["settle"] == "USDT"  # the symbol's :SETTLE
    assert record(view("binance", "XRPUSDT"))["settle"] == "USDT"  # the venue's default


def test_snapshot_whatif_at_80x24(snap_compare: Any) -> None:
    clock = Clock()
    app, _ = demo_app(clock)

    async def run_before(pilot: Pilot[None]) -> None:
        await open_whatif(pilot)
        await type_into_whatif(pilot, "100")
        await pilot.press("tab", "tab")
        await until(pilot, lambda: focused_id(app) == "wi-leverage")
        await type_into_whatif(pilot, "10")
        await pilot.pause()

    assert snap_compare(app, run_before=run_before, terminal_size=(80, 24))
