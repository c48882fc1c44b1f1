"""The dashboard's what-if on an account holding linear and coin-margined (inverse) cross positions:
the scenario sees each settle currency's wallet (the BTC wallet backs the BTC-margined position),
and a live inverse position that carries its count of contracts can be resized (issue #12)."""

from __future__ import annotations

import asyncio

import pytest

from liqwatch.core import get_venue
from liqwatch.core import whatif as wi
from liqwatch.feeds.events import Balance, MarkPrice, PositionData, Positions
from liqwatch.tui.app import LiqwatchApp
from liqwatch.tui.screens.whatif import WhatIfScreen, evaluate
from liqwatch.tui.widgets.positions import PositionsTable
from tests.tui.test_tui import T0, Clock, focused_id, plain, plain_text, until

INVERSE = "BTC/USD:BTC"
LINEAR = "BTC/USDT:USDT"
WALLETS = {"USDT": 20_000.0, "BTC": 0.5}


def pooled_app() -> LiqwatchApp:
    clock = Clock()
    app = LiqwatchApp([], clock=clock, refresh_seconds=3600, autostart=False, show_clock=False)
    common = {"account": "main", "exchange": "binance", "ts": T0}
    positions = [
        PositionData(symbol=LINEAR, side="long", size=1.0, entry_price=60_000.0, leverage=10.0),
        PositionData(
            symbol=INVERSE,
            side="long",
            size=30_000.0,
            entry_price=60_000.0,
            leverage=10.0,
            inverse=True,
            settle="BTC",
            contracts=300.0,
            contract_size=100.0,
        ),
    ]
    events = [
        MarkPrice(**common, symbol=LINEAR, price=60_000.0),
        MarkPrice(**common, symbol=INVERSE, price=60_000.0),
        Positions(**common, positions=positions),
        *(Balance(**common, wallet_balance=w, currency=c) for c, w in WALLETS.items()),
    ]
    for event in events:
        app.monitor.state.apply(event)
    return app


def test_whatif_on_an_inverse_cross_position_sees_the_btc_wallet() -> None:
    async def go() -> None:
        app = pooled_app()
        async with app.run_test(size=(140, 40)) as pilot:
            await pilot.pause()
            table = app.query_one(PositionsTable)
            await until(pilot, lambda: len(table.order) == 2)
            row = next(i for i, key in enumerate(table.order) if INVERSE in key)
            table.move_cursor(row=row)
            await until(pilot, lambda: table.selected_key() is not None and INVERSE in (table.selected_key() or ""))
            await pilot.press("w")
            await until(pilot, lambda: isinstance(app.screen, WhatIfScreen) and focused_id(app) == "wi-add-size")
            screen = app.screen
            assert isinstance(screen, WhatIfScreen)
            assert screen.wallet == WALLETS
            await pilot.press("1", "0", "0", "0", "0")
            await until(pilot, lambda: screen.values().get("add-size") == "10000")
            expected = evaluate(get_venue("binance"), screen.specs, WALLETS, screen.index, screen.values())
            await until(pilot, lambda: plain(screen.query_one("#wi-result")) == plain_text(expected))
            text = plain(screen.query_one("#wi-result"))
            assert "40,000 USD (400 contracts)" in text
            # cross, one BTC-margined position in its pool: LP = Q (1 + MMR) / (M + Q / EP), 0.4 % tier 1
            lp = 40_000 * 1.004 / (WALLETS["BTC"] + 40_000 / 60_000)
            assert f"{lp:,.1f}" in text and "Maint. margin" in text
            add = wi.add_size(get_venue("binance"), screen.specs, WALLETS, screen.index, 10_000.0)
            after = add.after.positions[screen.index]
            assert after.spec.contracts == pytest.approx(400.0) and after.liquidation_price is not None
            assert after.spec.settle == "BTC"

    asyncio.run(go())
