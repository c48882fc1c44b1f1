"""Deribit inverse perpetuals in the live monitor (config ``inverse = true``): listed with Deribit's
own estimated liquidation price, labelled as the venue's; liqwatch gives none (account-level margin,
``Deribit.supports_inverse`` is False) and says why; the coin account's wallet backs its pool."""

from __future__ import annotations

import pytest

from liqwatch.config import AccountConfig
from liqwatch.feeds.live import VenueFeed
from liqwatch.monitor import Monitor
from liqwatch.records import live_position_record
from tests.fakes.rest_server import DEFAULT_KEY, FakeRestServer
from tests.fakes.ws_server import FakeWsServer
from tests.feeds.test_live_feed import Recorder, run, until

ENV = {"LW_KEY": DEFAULT_KEY, "LW_SECRET": "fake-client-secret-0123"}
INVERSE = "BTC/USD:BTC"


def test_inverse_positions_show_the_venues_estimate_only() -> None:
    async def body() -> None:
        async with FakeRestServer("deribit") as rest, FakeWsServer("deribit") as ws:
            account = AccountConfig(
                name="main",
                exchange="deribit",
                api_key_env="LW_KEY",
                api_secret_env="LW_SECRET",
                rest_url=rest.url,
                ws_url=ws.url,
                reconcile_seconds=0.3,
                inverse=True,
            )
            rec = Recorder()
            monitor = Monitor([VenueFeed(account, environ=ENV)], on_event=rec.events.append)
            monitor.start()
            try:
                state = monitor.state
                await until(lambda: "main" in state.accounts and len(state.accounts["main"].positions) == 3)
                acc = state.accounts["main"]
                data = acc.positions[(INVERSE, "short")]
                assert (data.inverse, data.settle, data.size, data.contracts) == (True, "BTC", 20_000.0, 2_000.0)
                assert data.contract_size == 10.0 and data.margin_mode == "cross"
                await ws.wait_subscribed({"BTC-PERPETUAL", "BTC_USDC-PERPETUAL"})
                await until(lambda: "BTC" in acc.wallets and acc.wallet_balance is not None)
                upnl = -20_000.0 * (1 / 58_000 - 1 / 61_000)  # short: s Q (1/EP - 1/mark), in BTC
                assert acc.wallets["BTC"] == pytest.approx(1.5 - upnl, rel=1e-12)
                assert acc.wallet_balance == pytest.approx(175_300.0)
                await ws.push_mark("BTC-PERPETUAL", 61_500.0)
                await until(lambda: INVERSE in acc.marks)
                views = {v.data.symbol: v for v in state.snapshot().positions}
                record = live_position_record(views[INVERSE])
                assert record["liquidation_price"] is None  # ours: none (account level)
                assert record["exchange_liquidation_price"] == 74_523.5  # Deribit's, as the venue's
                assert "account level" in record["note"] and "BTC/USDC:USDC" in record["note"]
                # liqwatch's ratio for it: the BTC account's maintenance margin / equity (summary)
                assert record["margin_ratio"] == pytest.approx(0.0032787 / 1.5, rel=1e-12)
                assert "maintenance margin / equity" in record["note"]
                # the linear positions are still priced
                assert views["BTC/USDC:USDC"].risk is not None
            finally:
                await monitor.stop()

    run(body)


def test_the_dashboard_row_shows_the_venues_price_and_the_account_ratio() -> None:
    from liqwatch.feeds.events import PositionData
    from liqwatch.state import PositionView
    from liqwatch.tui.widgets.positions import COLUMN_INDEX, cells

    data = PositionData(
        symbol=INVERSE,
        side="short",
        size=20_000.0,
        entry_price=58_000.0,
        exchange_liquidation_price=74_523.5,
        inverse=True,
        settle="BTC",
        contracts=2_000.0,
        contract_size=10.0,
    )
    view = PositionView("main", "deribit", data, 61_000.0, 0.1, False, None, "why", 0.0032787 / 1.5)
    row = cells(view)
    liq, ratio = row[COLUMN_INDEX["liq"]], row[COLUMN_INDEX["mr"]]
    assert "venue 74,523" in liq.text and liq.text.startswith("—")
    assert ratio.text.endswith("acct") and "0.2" in ratio.text
