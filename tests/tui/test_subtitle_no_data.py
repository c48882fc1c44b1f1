"""Issue #20 point 1 on the dashboard's subtitle: an account without data never leaves it reading
a calm "0 positions"; it says how many accounts have no data."""

from __future__ import annotations

import asyncio

from liqwatch.feeds.events import Balance, MarkPrice, PositionData, Positions, Status
from liqwatch.tui.app import LiqwatchApp
from tests.tui.test_tui import T0, Clock, until


def test_the_subtitle_counts_accounts_without_data() -> None:
    async def go() -> None:
        app = LiqwatchApp([], clock=Clock(), refresh_seconds=0.05, show_clock=False)
        detail = "binance account 'main': authentication failed: the API key was rejected (retrying in 300 s)"
        app.monitor.state.apply(
            Status(account="main", exchange="binance", ts=T0, state="error", channel="rest", detail=detail)
        )
        async with app.run_test(size=(120, 30)) as pilot:
            await until(pilot, lambda: app.sub_title.startswith("0 positions"))
            assert app.sub_title.startswith("0 positions · 1 account without data · sort:"), app.sub_title
            # a second account still connecting: no data either
            app.monitor.state.apply(Status(account="hl", exchange="hyperliquid", ts=T0, state="connecting"))
            app.refresh_view(force_sort=True)
            await until(pilot, lambda: "2 accounts without data" in app.sub_title)

    asyncio.run(go())


def test_accounts_with_data_add_no_hint() -> None:
    async def go() -> None:
        app = LiqwatchApp([], clock=Clock(), refresh_seconds=0.05, show_clock=False)
        common = {"account": "main", "exchange": "binance", "ts": T0}
        position = PositionData(symbol="BTC/USDT:USDT", side="long", size=1.0, entry_price=60_000.0, leverage=10.0)
        for event in (
            MarkPrice(**common, symbol="BTC/USDT:USDT", price=60_000.0),
            Positions(**common, positions=[position]),
            Balance(**common, wallet_balance=10_000.0, currency="USDT"),
        ):
            app.monitor.state.apply(event)
        async with app.run_test(size=(120, 30)) as pilot:
            await until(pilot, lambda: app.sub_title.startswith("1 positions"))
            assert "without data" not in app.sub_title, app.sub_title

    asyncio.run(go())
