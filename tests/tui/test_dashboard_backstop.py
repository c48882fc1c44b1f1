"""Issue #13 in the dashboard (each position's pool and ADL state), the ladder's per-settle wallets,
and issue #14's ``d`` pane and bell."""

from __future__ import annotations

import asyncio

from liqwatch.core import get_venue
from liqwatch.core import whatif as wi
from liqwatch.market.model import AdlRisk, MarketReport
from liqwatch.tui.app import LiqwatchApp
from liqwatch.tui.backstop import backstop_of, backstop_rows, pool_cell
from liqwatch.tui.screens.ladder import LadderScreen, shock_view
from liqwatch.tui.widgets.detail import DetailPanel, DetailText
from liqwatch.tui.widgets.positions import PositionsTable
from tests.tui.driver import T0, Clock, demo_app, run_to
from tests.tui.test_dashboard import alert, screen_lines, shown_labels
from tests.tui.test_tui import plain, plain_text, until
from tests.tui.test_whatif_pools import WALLETS, pooled_app

ADL_HIGH = 40
"""Seconds into the seed-7 demo by which Binance rates BTC, ETH and DOGE ADL risk high."""

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
            await until(pilot, lambda: table.row_count == 13 and table.size.width > 0)

            def header() -> str:
                region = table.region
                return screen_lines(app)[region.y][region.x : region.right]

            def required_in_view() -> bool:
                text = f" {header()} "
                return all(f" {label} " in text for label in shown_labels(table))

            assert detail.display and required_in_view()  # open under the short table from 32 lines
            for opened in (False, True, False):
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


# ---------------------------------------------------------------- each position's backstop (issue #13)


def row_of(app: LiqwatchApp, account: str, symbol: str, side: str) -> str:
    """The row's line on screen (its cells as drawn)."""
    table = app.query_one(PositionsTable)
    index = table.order.index(f"{account}|{symbol}|{side}")
    region = table.region
    line = screen_lines(app)[region.y + 1 + index - table.scroll_offset.y]
    return line[region.x : region.right]


def test_rows_show_the_venues_adl_state_and_the_pool_at_80x24() -> None:
    async def go() -> None:
        clock = Clock()
        app, market = demo_app(clock)
        async with app.run_test(size=(80, 24)) as pilot:
            await run_to(pilot, market, clock, ADL_HIGH)
            await pilot.pause()
            table = app.query_one(PositionsTable)
            assert table.required_width() <= table.scrollable_content_region.width
            binance = app.reports["binance"]
            high = {a.symbol for a in binance.adl_risk if a.level == "high"}
            assert "BTC/USDT:USDT" in high  # the crash took Binance's rating up
            key = "demo-binance|BTC/USDT:USDT|long"
            assert table.get_cell(key, "adl").plain.endswith("!")
            assert not table.get_cell(key, "adl").plain.endswith("!!")
            assert "!" in row_of(app, "demo-binance", "BTC/USDT:USDT", "long")  # on screen, in the row
            pool = binance.pool_of("BTC/USDT:USDT")
            assert pool is not None and pool.drawdown_8h is not None
            assert table.get_cell(key, "pool").plain == f"↓{pool.drawdown_8h * 100:.1f}%"
            calm = "demo-bybit|ETH/USDT:USDT|long"
            assert not table.get_cell(calm, "adl").plain.endswith("!")
            # Bybit's ADL starts for ETH: the row says so at once, in the ADL cell
            bybit = app.reports["bybit"]
            active = AdlRisk(symbol="ETH/USDT:USDT", level="active", detail="pool balance <= 0", source="test")
            app.on_market(bybit.model_copy(update={"adl_risk": [active], "ts": bybit.ts + 1}))
            app.refresh_view()  # the market data alone changed: shown by the next refresh
            await pilot.pause()
            assert table.get_cell(calm, "adl").plain.endswith("!!")
            assert "!!" in row_of(app, "demo-bybit", "ETH/USDT:USDT", "long")
            assert table.required_width() <= table.scrollable_content_region.width
            hl = "demo-hyperliquid|ETH/USDC:USDC|long"
            assert table.get_cell(hl, "pool").plain.endswith(" v")  # HLP: a vault

    asyncio.run(go())


def test_detail_shows_the_pool_the_adl_state_divergence_and_funding() -> None:
    async def go() -> None:
        clock = Clock()
        app, market = demo_app(clock)
        async with app.run_test(size=(160, 50)) as pilot:
            await run_to(pilot, market, clock, ADL_HIGH)
            table = app.query_one(PositionsTable)
            text = app.query_one("#detail-text", DetailText)

            async def select(key: str) -> str:
                table.move_cursor(row=table.order.index(key))
                await until(pilot, lambda: app.query_one(DetailPanel).shown_key == key)
                return " ".join(plain_text(text.content).split())  # one space between words

            shown = await select("demo-binance|BTC/USDT:USDT|long")
            report = app.reports["binance"]
            pool = report.pool_of("BTC/USDT:USDT")
            assert pool is not None and pool.drawdown_8h is not None and pool.change_24h is not None
            assert "Backstop · binance" in shown
            assert f"{pool.pool} (USDT insurance fund)" in shown
            assert f"{pool.balance:,.2f} USDT" in shown
            assert f"{pool.drawdown_8h * 100:.1f}% from max" in shown
            assert f"{pool.change_24h * 100:+.1f}%" in shown
            assert pool.source in shown and "as of 2026-" in shown
            adl = next(a for a in report.adl_risk if a.symbol == "BTC/USDT:USDT")
            assert f"HIGH — {adl.detail}" in shown
            sym = next(s for s in report.symbols if s.symbol == "BTC/USDT:USDT")
            assert sym.divergence is not None and sym.funding_rate is not None
            assert f"Mark vs index {sym.divergence * 100:+.2f}%" in shown
            assert f"Funding {sym.funding_rate * 100:+.4f}% per 8 h, next 2026-" in shown
            # DOGE is in no pool Binance lists: said, not guessed
            shown = await select("demo-binance|DOGE/USDT:USDT|short")
            assert "none of binance's pools lists DOGE/USDT" in shown
            # Hyperliquid: its backstop is a vault, and no insurance fund
            shown = await select("demo-hyperliquid|ETH/USDC:USDC|long")
            assert "HLP vault (USDC vault, not an insurance fund)" in shown
            assert "no insurance fund" in shown
            assert "publishes no ADL state" in shown

    asyncio.run(go())


def test_a_venue_without_a_fund_says_so() -> None:
    report = MarketReport(
        exchange="bitget",
        ts=T0,
        notes=["Bitget publishes no insurance fund balance (none public)"],
    )
    rows = dict(backstop_rows(backstop_of(report, "BTC/USDT:USDT"), "bitget", "BTC/USDT:USDT"))
    assert rows["Insurance pool"] == "none: Bitget publishes no insurance fund balance (none public)"
    assert pool_cell(backstop_of(report, "BTC/USDT:USDT")) == ("none", "dim")
    assert dict(backstop_rows(None, "gate", "BTC/USDT:USDT")) == {"Insurance pool": "no market data from gate yet"}
