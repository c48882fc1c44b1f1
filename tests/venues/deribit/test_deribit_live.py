"""A Deribit account end to end: the real ccxt client against the fake JSON-RPC REST server and the
websockets client against the fake ticker stream, through the venue feed, the monitor, the state
store and the ``liqwatch watch`` records."""

from __future__ import annotations

import pytest

from liqwatch.config import AccountConfig
from liqwatch.core.venues.deribit import RAMPS
from liqwatch.feeds.live import VenueFeed
from liqwatch.monitor import Monitor
from liqwatch.records import live_account_record, live_position_record
from liqwatch.state import Snapshot
from tests.fakes.rest_server import DEFAULT_KEY, FakeRestServer
from tests.fakes.ws_server import FakeWsServer
from tests.feeds.test_live_feed import Recorder, run, until

ENV = {"LW_KEY": DEFAULT_KEY, "LW_SECRET": "fake-client-secret-0123"}
BTC, SOL = "BTC/USDC:USDC", "SOL/USDC:USDC"


def deribit(rest: str, ws: str) -> AccountConfig:
    return AccountConfig(
        name="main",
        exchange="deribit",
        api_key_env="LW_KEY",
        api_secret_env="LW_SECRET",
        rest_url=rest,
        ws_url=ws,
        reconcile_seconds=0.3,
        inverse=False,  # the USDC linear account alone (the inverse perpetuals: test_deribit_rest)
    )


def account_ratio(snap: Snapshot) -> float | None:
    """The cross margin ratio of the one account: every Deribit position's ratio (account level)."""
    (view,) = snap.accounts
    return None if view.risk is None else view.risk.account.cross_margin_ratio


def test_deribit_account_end_to_end() -> None:
    async def body() -> None:
        async with FakeRestServer("deribit") as rest, FakeWsServer("deribit") as ws:
            rec = Recorder()
            monitor = Monitor([VenueFeed(deribit(rest.url, ws.url), environ=ENV)], on_event=rec.events.append)
            monitor.start()
            try:
                state = monitor.state
                await until(lambda: "main" in state.accounts and bool(state.accounts["main"].positions))
                acc = state.accounts["main"]
                assert {k[0] for k in acc.positions} == {BTC, SOL}  # inverse = false: BTC-PERPETUAL is not listed
                await ws.wait_subscribed({"BTC_USDC-PERPETUAL", "SOL_USDC-PERPETUAL"})
                await until(lambda: acc.wallet_balance is not None)
                assert acc.wallet_balance == pytest.approx(175_300.0)
                await ws.push_mark("BTC_USDC-PERPETUAL", 59_000.0)
                await ws.push_mark("SOL_USDC-PERPETUAL", 150.5)
                await until(lambda: BTC in acc.marks and acc.marks[BTC].price == 59_000.0 and SOL in acc.marks)
                snap = state.snapshot()
                views = {v.data.symbol: v for v in snap.positions}
                btc = views[BTC]
                assert btc.risk is not None
                record = live_position_record(btc)
                # ours at the live mark; Deribit's estimate from REST, labelled as the venue's
                assert record["exchange_liquidation_price"] == 53687.0
                mmr = RAMPS[BTC].mmr(25)
                sol_req = 600 * 150.5 * RAMPS[SOL].mmr(600)
                c = 175_300.0 - 600 * (150.5 - 150.0) - sol_req
                assert record["liquidation_price"] == pytest.approx((c - 25 * 60_000) / (25 * (mmr - 1)), rel=1e-9)
                assert btc.risk.maintenance_margin == pytest.approx(25 * 59_000 * mmr, rel=1e-12)
                assert record["margin_ratio"] == account_ratio(snap)
                account = live_account_record(snap.accounts[0])
                equity = 175_300.0 + 25 * (59_000 - 60_000) - 600 * 0.5
                assert account["margin_balance"] == pytest.approx(equity, rel=1e-12)
                assert account["margin_ratio"] == pytest.approx((25 * 59_000 * mmr + sol_req) / equity, rel=1e-9)
            finally:
                await monitor.stop()

    run(body)
