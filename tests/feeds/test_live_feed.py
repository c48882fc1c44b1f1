"""A live account end to end: real ccxt and websockets clients against the fake venue servers,
through the venue feed, the monitor, the state store and `liqwatch watch`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from liqwatch.config import AccountConfig
from liqwatch.feeds.events import Event, Status
from liqwatch.feeds.live import VenueFeed
from liqwatch.monitor import Monitor
from liqwatch.state import Notice
from tests.fakes.rest_server import DEFAULT_KEY, FakeRestServer
from tests.fakes.ws_server import WAIT_TIMEOUT, FakeWsServer

SECRET = "fake-secret-abcdef123456"
ENV = {"LW_KEY": DEFAULT_KEY, "LW_SECRET": SECRET}
WALLET = "0x" + "ab" * 20


def binance(rest: str, ws: str, name: str = "main") -> AccountConfig:
    return AccountConfig(
        name=name,
        exchange="binance",
        api_key_env="LW_KEY",
        api_secret_env="LW_SECRET",
        rest_url=rest,
        ws_url=ws,
        reconcile_seconds=0.3,
    )


async def until(predicate: Callable[[], bool], timeout: float = WAIT_TIMEOUT) -> None:
    """Until ``predicate()`` holds; ``timeout`` is only a safety net for a hung test."""

    async def poll() -> None:
        while not predicate():
            await asyncio.sleep(0.02)

    await asyncio.wait_for(poll(), timeout)


class Recorder:
    def __init__(self) -> None:
        self.events: list[Event] = []
        self.notices: list[Notice] = []

    def statuses(self, state: str | None = None, channel: str | None = None) -> list[Status]:
        return [
            e
            for e in self.events
            if isinstance(e, Status)
            and (state is None or e.state == state)
            and (channel is None or e.channel == channel)
        ]


def run(body: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(body(), 4 * WAIT_TIMEOUT))  # a safety net: the waits are on conditions


def test_binance_account_end_to_end_with_reconnect_and_resync() -> None:
    async def body() -> None:
        async with FakeRestServer("binance") as rest, FakeWsServer("binance") as ws:
            rec = Recorder()
            feed = VenueFeed(binance(rest.url, ws.url), environ=ENV)
            monitor = Monitor([feed], on_event=rec.events.append, on_notice=rec.notices.append)
            monitor.start()
            try:
                state = monitor.state
                await until(lambda: "main" in state.accounts and bool(state.accounts["main"].positions))
                acc = state.accounts["main"]
                assert {k[0] for k in acc.positions} == {"BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"}
                await ws.wait_subscribed({"BTCUSDT", "ETHUSDT", "SOLUSDT"})
                await ws.push_mark("BTCUSDT", 61_234.5)
                await until(
                    lambda: acc.marks.get("BTC/USDT:USDT") is not None and acc.marks["BTC/USDT:USDT"].price == 61_234.5
                )
                snap = state.snapshot()
                btc = [v for v in snap.positions if v.data.symbol == "BTC/USDT:USDT"]
                assert btc and all(v.risk is not None for v in btc)
                assert snap.accounts[0].wallet_balance is not None
                # drop the stream: it reconnects, and REST is re-read before it is trusted again
                await ws.drop()
                await until(lambda: bool(rec.statuses("resynced")))
                assert rec.statuses("disconnected", "marks") and rec.statuses("reconnecting", "marks")
                assert len(acc.positions) == 5 - 1  # ETH short leg has size 0: not a position
                # a position that disappears between two REST snapshots is reported
                rest.set_positions([p for p in rest.data["positionRisk"] if p["symbol"] != "SOLUSDT"])
                await until(lambda: any(n.symbol == "SOL/USDT:USDT" for n in rec.notices))
                assert rec.notices[0].kind == "vanished"
            finally:
                await monitor.stop()

    run(body)


def test_rest_errors_are_clear_and_other_accounts_keep_running() -> None:
    async def body() -> None:
        async with (
            FakeRestServer("binance") as bad,
            FakeRestServer("binance") as good,
            FakeWsServer("binance") as ws,
        ):
            bad.fail_next("auth", 50)
            good.fail_next("rate_limit", 1)
            rec = Recorder()
            feeds = [
                VenueFeed(binance(bad.url, ws.url, "bad"), environ=ENV, backoff_initial=0.05),
                VenueFeed(binance(good.url, ws.url, "good"), environ=ENV, backoff_initial=0.05),
            ]
            monitor = Monitor(feeds, on_event=rec.events.append)
            monitor.start()
            try:
                state = monitor.state
                await until(lambda: "good" in state.accounts and bool(state.accounts["good"].positions))
                await until(lambda: any(e.account == "bad" for e in rec.statuses("error")))  # the two race
                errors = rec.statuses("error")
                bad_errors = [e.detail for e in errors if e.account == "bad"]
                assert bad_errors and "authentication failed" in bad_errors[0]
                assert any(e.account == "good" and "rate" in e.detail.lower() for e in errors)
                for e in errors:
                    assert SECRET not in e.detail and DEFAULT_KEY not in e.detail
                assert not state.accounts.get("bad") or not state.accounts["bad"].positions
            finally:
                await monitor.stop()

    run(body)


def test_missing_credentials_are_one_clear_status() -> None:
    async def body() -> None:
        rec = Recorder()
        feed = VenueFeed(binance("http://127.0.0.1:9", "ws://127.0.0.1:9"), environ={})
        await feed.run(rec.events.append)
        (status,) = rec.statuses("error")
        assert "LW_KEY is not set" in status.detail

    run(body)


def test_watch_once_against_fake_servers(tmp_path: Path) -> None:
    async def body() -> None:
        async with (
            FakeRestServer("binance") as rest,
            FakeWsServer("binance") as ws,
            FakeRestServer("hyperliquid") as hl,
            FakeWsServer("hyperliquid") as hlws,
        ):
            config = tmp_path / "config.toml"
            config.write_text(
                f'[[accounts]]\nname = "main"\nexchange = "binance"\napi_key_env = "LW_KEY"\n'
                f'api_secret_env = "LW_SECRET"\nrest_url = "{rest.url}"\nws_url = "{ws.url}"\n\n'
                f'[[accounts]]\nname = "hl"\nexchange = "hyperliquid"\nwallet = "{WALLET}"\n'
                f'rest_url = "{hl.url}"\nws_url = "{hlws.url}"\n'
            )
            config.chmod(0o600)

            async def pusher() -> None:  # live marks for as long as the run takes (it is cancelled after)
                await ws.wait_subscribed({"BTCUSDT"})
                await hlws.wait_for(lambda: bool(hlws.subscribed()))
                while True:
                    for sym, price in (("BTCUSDT", 60_000.0), ("ETHUSDT", 3_000.0), ("SOLUSDT", 150.0)):
                        await ws.push_mark(sym, price)
                    for coin, price in (("BTC", 60_000.0), ("ETH", 3_000.0), ("SOL", 150.0)):
                        await hlws.push_mark(coin, price)
                    await asyncio.sleep(0.1)

            args = argparse.Namespace(
                demo=False,
                config=config,
                replay=None,
                interval=1.0,
                once=True,
                record=None,
                speed=1.0,
                seed=7,
                demo_positions=None,
                demo_symbols=500,
            )
            out = io.StringIO()
            import os

            os.environ.update(ENV)
            from liqwatch.watch import run_watch

            push = asyncio.create_task(pusher())
            try:
                assert await run_watch(args, out) == 0
            finally:
                push.cancel()
            lines = [json.loads(line) for line in out.getvalue().splitlines()]
            snapshot = lines[-1]
            assert snapshot["type"] == "snapshot"
            assert {a["account"] for a in snapshot["accounts"]} == {"main", "hl"}
            fresh = [p for p in snapshot["positions"] if not p["stale"]]
            assert fresh, snapshot["positions"]
            assert all(p["liquidation_price"] is not None or p["margin_ratio"] is not None for p in fresh)
            assert SECRET not in out.getvalue() and DEFAULT_KEY not in out.getvalue()

    run(body)


def test_alerts_end_to_end_from_fake_exchange_to_webhook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake Binance (REST + marks) -> feed -> state -> alert engine -> webhook receiver on
    127.0.0.1, which fails for a while: the alert arrives late, exactly once."""
    from tests.fakes.webhook_receiver import receiver

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))  # the alert store's file
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)

    async def body() -> None:
        async with FakeRestServer("binance") as rest, FakeWsServer("binance") as ws, receiver() as rec:
            config = tmp_path / "config.toml"
            config.write_text(
                f'[[accounts]]\nname = "main"\nexchange = "binance"\napi_key_env = "LW_KEY"\n'
                f'api_secret_env = "LW_SECRET"\nrest_url = "{rest.url}"\nws_url = "{ws.url}"\n'
                f"reconcile_seconds = 0.5\n\n"
                f'[[channels]]\ntype = "webhook"\nurl = "{rec.url}/hook/SECRET"\n'
            )
            config.chmod(0o600)
            rec.fail = True
            args = argparse.Namespace(
                demo=False,
                config=config,
                replay=None,
                interval=0.2,
                once=False,
                record=None,
                speed=1.0,
                seed=7,
                demo_positions=None,
                demo_symbols=500,
            )
            out = io.StringIO()
            from liqwatch.watch import run_watch

            task = asyncio.create_task(run_watch(args, out))
            await ws.wait_subscribed({"BTCUSDT"})
            # BTC falls to within 1% of the cross liquidation price (ticks until the alert is first
            # attempted): a critical distance alert.
            async with asyncio.timeout(WAIT_TIMEOUT):
                while rec.attempts < 1:
                    await ws.push_mark("BTCUSDT", 48_600.0)
                    await asyncio.sleep(0.1)
            rec.fail = False  # the receiver recovers: the alert is retried, not lost
            await until(lambda: any(a.get("rule") == "distance" for a in rec.alerts()))
            for _ in range(10):  # more breaching ticks: escalation edges only, no repeats
                await ws.push_mark("BTCUSDT", 48_550.0)
                await asyncio.sleep(0.1)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            delivered = [a for a in rec.alerts() if a.get("rule") == "distance" and a.get("symbol") == "BTC/USDT:USDT"]
            ids = [a["id"] for a in delivered]
            assert len(ids) == len(set(ids)) and ids  # once each, none lost
            assert {a["level"] for a in delivered} <= {"0.1", "0.05", "0.02"}
            lines = [json.loads(line) for line in out.getvalue().splitlines()]
            printed = [line for line in lines if line["type"] == "alert" and line["rule"] == "distance"]
            assert {p["id"] for p in printed} >= set(ids)
            assert "SECRET" not in out.getvalue()

    asyncio.run(asyncio.wait_for(body(), 4 * WAIT_TIMEOUT))


def test_dashboard_on_a_live_account_against_fake_servers() -> None:
    """The dashboard fed by a real venue feed: rows appear, marks stream in, a drop shows in the
    account card and recovers."""
    from liqwatch.tui.app import LiqwatchApp
    from liqwatch.tui.widgets.positions import PositionsTable

    async def body() -> None:
        async with FakeRestServer("binance") as rest, FakeWsServer("binance") as ws:
            app = LiqwatchApp(
                [VenueFeed(binance(rest.url, ws.url), environ=ENV)], refresh_seconds=0.1, show_clock=False
            )
            async with app.run_test(size=(140, 40)) as pilot:
                table = app.query_one(PositionsTable)
                await until(lambda: len(table.order) == 4)
                await ws.wait_subscribed({"BTCUSDT"})
                await ws.push_mark("BTCUSDT", 59_000.0)
                await until(lambda: any(v.mark_price == 59_000.0 for v in app.views.values()))
                await ws.drop()
                await until(
                    lambda: any(
                        e.state == "resynced"
                        for e in app.monitor.state.accounts["main"].status.values()
                        if e is not None
                    )
                )
                await pilot.pause()
                assert app.is_running and len(table.order) == 4

    run(body)
