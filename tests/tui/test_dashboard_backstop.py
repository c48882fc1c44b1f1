"""Issue #13 in the dashboard (each position's pool and ADL state), the ladder's per-settle wallets,
and issue #14's ``d`` pane and bell."""

from __future__ import annotations

import asyncio

from liqwatch.core import get_venue
from liqwatch.core import whatif as wi
from liqwatch.tui.screens.ladder import LadderScreen, shock_view
from liqwatch.tui.widgets.detail import DetailPanel
from liqwatch.tui.widgets.positions import PositionsTable
from tests.tui.driver import Clock, demo_app
from tests.tui.test_dashboard import REQUIRED_FULL, REQUIRED_SHORT, alert, screen_lines
from tests.tui.test_tui import plain, plain_text, until
from tests.tui.test_whatif_pools import WALLETS, pooled_app

# ---------------------------------------------------------------- the ladder's wallets


def test_ladder_shock_sees_every_settle_wallet() -> None:
    """An inverse cross position is backed by the BTC wallet: the shock view must not see only USDT."""

    async def go() -> None:
        app = pooled_app()
        async with app.run_test(size=(150, 45)) as pilot:
            table = app.query_one(PositionsTable)
            await until(pilot, lambda: table.row_count == 2)
            await pilot.press("l")
            await until(pilot, lambda: isinstance(app.screen, LadderScreen))
            screen = app.screen
            assert isinstance(screen, LadderScreen)
            ((name, _, specs, wallet),) = screen.accounts
            assert name == "main" and wallet == WALLETS
            expected = wi.shock(get_venue("binance"), specs, WALLETS, [0.0]).steps[0].risk.pools
            assert expected is not None and expected["BTC"].wallet_balance == WALLETS["BTC"]
            usdt_only = plain_text(shock_view([(name, get_venue("binance"), specs, WALLETS["USDT"])]))
            shown = plain(screen.query_one("#shock-view"))
            assert shown == plain_text(shock_view([(name, get_venue("binance"), specs, WALLETS)]))
            assert shown != usdt_only  # the BTC wallet changes the account's figures

    asyncio.run(go())


# ---------------------------------------------------------------- the d pane below 140 columns


def test_d_opens_and_closes_the_detail_pane_below_140_columns() -> None:
    async def go() -> None:
        clock = Clock()
        app, _ = demo_app(clock)
        async with app.run_test(size=(120, 40)) as pilot:
            table = app.query_one(PositionsTable)
            detail = app.query_one(DetailPanel)
            await until(pilot, lambda: table.row_count == 11 and table.size.width > 0)

            def header() -> str:
                region = table.region
                return screen_lines(app)[region.y][region.x : region.right]

            def required_in_view() -> bool:
                labels = REQUIRED_SHORT if table.compact else REQUIRED_FULL
                text = f" {header()} "
                return all(f" {label} " in text for label in labels)

            assert not detail.display and required_in_view()
            for opened in (True, False, True):
                await pilot.press("d")
                await until(pilot, lambda opened=opened: detail.display is opened)  # type: ignore[misc]
                await pilot.pause()
                assert table.region.width == 120  # the pane is under the table, never beside it
                assert required_in_view()
                assert table.required_width() <= table.scrollable_content_region.width
                if opened:
                    assert detail.region.y > table.region.y and detail.region.height > 3
                    assert detail.shown_key == table.selected_key()  # it shows the selected row
                else:
                    assert detail.region.height == 0

    asyncio.run(go())


# ---------------------------------------------------------------- the bell


def test_the_bell_rings_once_per_burst_holding_a_critical_alert() -> None:
    async def go() -> None:
        clock = Clock()
        app, _ = demo_app(clock)
        rings: list[int] = []
        async with app.run_test(size=(120, 40), notifications=True) as pilot:
            await until(pilot, lambda: app.alerts is not None)
            app.bell = lambda: rings.append(1)  # type: ignore[method-assign]
            for i in range(5):  # warnings only: no bell
                app._on_alert(alert(i, "warning"))
            await pilot.pause()
            assert rings == []
            for i in range(5, 40):  # a burst with many critical alerts, over several turns
                app._on_alert(alert(i, "critical" if i % 3 else "warning"))
                if i % 6 == 0:
                    await pilot.pause()
            await pilot.pause()
            assert len(rings) == 1
            app.toast.dismiss()  # the burst is over (its toast gone): the next critical one rings again
            await pilot.pause()
            app._on_alert(alert(40, "warning"))
            assert len(rings) == 1
            app._on_alert(alert(41, "critical"))
            app._on_alert(alert(42, "critical"))
            await pilot.pause()
            assert len(rings) == 2

    asyncio.run(go())
