"""Issue #20.1: `liqwatch watch --once` never prints an account without data as calm. Such an
account has null figures, a ``status`` (``connecting`` / ``error``) with the whole reason, is
stale, and makes --once exit 1 with one line on stderr per account; accounts with data are ``ok``.
Through the real command and the watch loop, against the fake venue servers (no network)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from liqwatch.cli import build_parser
from liqwatch.watch import EXIT_NO_DATA, ONCE_TIMEOUT, run_watch
from tests.fakes.rest_server import DEFAULT_KEY, FakeRestServer
from tests.fakes.ws_server import WAIT_TIMEOUT, FakeWsServer

ROOT = Path(__file__).resolve().parents[2]
FIGURES = ("wallet_balance", "margin_balance", "maintenance_margin", "margin_ratio", "cross_margin_ratio")


def _home(tmp_path: Path) -> dict[str, str]:
    """An environment whose every platform dir is under ``tmp_path`` (the alert store, the caches)."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {
        "HOME": str(home),
        "XDG_STATE_HOME": str(home / "state"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_DATA_HOME": str(home / "data"),
    }


def _config(tmp_path: Path, *accounts: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text("\n".join(accounts))
    path.chmod(0o600)
    return path


def _keyed(name: str, exchange: str, key_env: str, rest: str = "", ws: str = "") -> str:
    extra = "".join(f'{k} = "{v}"\n' for k, v in (("rest_url", rest), ("ws_url", ws)) if v)
    passphrase = 'passphrase_env = "LW_TEST_PASSPHRASE"\n' if exchange == "okx" else ""
    return (
        f'[[accounts]]\nname = "{name}"\nexchange = "{exchange}"\napi_key_env = "{key_env}"\n'
        f'api_secret_env = "LW_TEST_SECRET"\n{passphrase}{extra}'
    )


def _snapshot(stdout: str) -> dict[str, Any]:
    lines = [json.loads(line) for line in stdout.splitlines()]
    assert lines and lines[-1]["type"] == "snapshot"
    return lines[-1]


def _assert_no_data(account: dict[str, Any], status: str) -> None:
    assert account["status"] == status
    assert all(account[key] is None for key in FIGURES), account  # null, never 0.0
    assert account["stale"] is True


def test_every_account_without_its_key_exits_1_with_one_line_each(tmp_path: Path) -> None:
    """Binance and OKX accounts whose key variables are unset: the real command, no wait for data
    that cannot come, null figures, the whole reason, exit 1 and one line per account."""
    config = _config(
        tmp_path,
        _keyed("main", "binance", "LW_TEST_NO_BINANCE_KEY"),
        _keyed("second", "okx", "LW_TEST_NO_OKX_KEY"),
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("LW_TEST_")} | _home(tmp_path)
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "liqwatch.cli", "watch", "--config", str(config), "--once", "--no-market"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=2 * WAIT_TIMEOUT,
        check=False,
    )
    assert time.monotonic() - started < ONCE_TIMEOUT  # the feeds gave up: --once does not wait 20 s for them
    assert result.returncode == EXIT_NO_DATA == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        "liqwatch: error: accounts.main (binance): no data: environment variable LW_TEST_NO_BINANCE_KEY is not set",
        "liqwatch: error: accounts.second (okx): no data: environment variable LW_TEST_NO_OKX_KEY is not set",
    ]
    accounts = {a["account"]: a for a in _snapshot(result.stdout)["accounts"]}
    for name, exchange, var in (("main", "binance", "BINANCE"), ("second", "okx", "OKX")):
        _assert_no_data(accounts[name], "error")
        reason = f"{exchange} account '{name}': environment variable LW_TEST_NO_{var}_KEY is not set"
        assert accounts[name]["error"] == reason  # whole
        assert accounts[name]["pools"] == []


def _args(config: Path) -> Any:
    return build_parser().parse_args(["watch", "--config", str(config), "--once", "--no-market"])


async def _push_marks(ws: FakeWsServer) -> None:
    """Live marks for as long as the run takes (cancelled after): --once waits for every mark."""
    await ws.wait_subscribed({"BTCUSDT"})
    while True:
        for sym, price in (("BTCUSDT", 60_000.0), ("ETHUSDT", 3_000.0), ("SOLUSDT", 150.0)):
            await ws.push_mark(sym, price)
        await asyncio.sleep(0.1)


@pytest.fixture
def keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in _home(tmp_path).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("LW_TEST_KEY", DEFAULT_KEY)
    monkeypatch.setenv("LW_TEST_SECRET", "fake-secret-abcdef123456")
    monkeypatch.delenv("LW_TEST_MISSING_KEY", raising=False)


@pytest.mark.usefixtures("keys")
def test_one_account_of_two_without_data(tmp_path: Path) -> None:
    async def body() -> tuple[int, str, str]:
        async with FakeRestServer("binance") as rest, FakeWsServer("binance") as ws:
            config = _config(
                tmp_path,
                _keyed("good", "binance", "LW_TEST_KEY", rest.url, ws.url),
                _keyed("bad", "binance", "LW_TEST_MISSING_KEY", rest.url, ws.url),
            )
            out, err = io.StringIO(), io.StringIO()
            push = asyncio.create_task(_push_marks(ws))
            try:
                code = await asyncio.wait_for(run_watch(_args(config), out, err=err), 2 * WAIT_TIMEOUT)
            finally:
                push.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await push
            return code, out.getvalue(), err.getvalue()

    code, out, err = asyncio.run(body())
    assert code == EXIT_NO_DATA
    assert err.splitlines() == [
        "liqwatch: error: accounts.bad (binance): no data: environment variable LW_TEST_MISSING_KEY is not set"
    ]
    snapshot = _snapshot(out)
    accounts = {a["account"]: a for a in snapshot["accounts"]}
    _assert_no_data(accounts["bad"], "error")
    good = accounts["good"]
    assert good["status"] == "ok" and good["error"] is None and good["stale"] is False
    assert all(isinstance(good[key], float) for key in FIGURES)
    # issue #20.3: one wallet — the cross wallet plus every isolated margin (ETH 600 + SOL 150 here):
    # the account's is its pool's, and equity - wallet is the positions' uPnL
    (pool,) = good["pools"]
    assert good["wallet_balance"] == pool["wallet_balance"] == pytest.approx(pool["cross_wallet_balance"] + 750.0)
    upnl = sum(p["unrealized_pnl"] for p in snapshot["positions"] if p["account"] == "good")
    assert good["margin_balance"] - good["wallet_balance"] == pytest.approx(upnl, abs=1e-6)


@pytest.mark.usefixtures("keys")
def test_an_account_still_connecting_when_the_wait_ends(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A venue that accepts the connection and never answers: the account is still connecting
    when --once's wait ends (shortened here to a second)."""
    import liqwatch.watch

    monkeypatch.setattr(liqwatch.watch, "ONCE_TIMEOUT", 1.0)
    accepted = asyncio.Event()

    async def body() -> tuple[int, str, str]:
        held: list[asyncio.StreamWriter] = []

        async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            held.append(writer)  # answered never; closed at the end
            accepted.set()

        server = await asyncio.start_server(hold, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            url = f"http://127.0.0.1:{port}"
            config = _config(tmp_path, _keyed("slow", "binance", "LW_TEST_KEY", url, f"ws://127.0.0.1:{port}"))
            out, err = io.StringIO(), io.StringIO()
            code = await asyncio.wait_for(run_watch(_args(config), out, err=err), 2 * WAIT_TIMEOUT)
            assert accepted.is_set()  # the request was under way when the wait ended
            return code, out.getvalue(), err.getvalue()
        finally:
            for writer in held:
                writer.close()
            server.close()
            await server.wait_closed()

    code, out, err = asyncio.run(body())
    assert code == EXIT_NO_DATA
    assert err.splitlines() == [
        "liqwatch: error: accounts.slow (binance): no data: still connecting after 1 s (no positions read yet); "
        "check the venue is reachable, or run without --once to keep waiting"
    ]
    (account,) = _snapshot(out)["accounts"]
    _assert_no_data(account, "connecting")
    assert account["error"] is None and account["feed"] == {"rest": "connecting"}


def test_a_pool_without_figures_shows_its_wallet_by_the_one_definition() -> None:
    """While a BTC-margined cross position waits for the BTC wallet the account has no figures, and
    its USDT pool, with an isolated position, shows the wallet the risk core would: the cross wallet
    plus the isolated margin (it showed the cross wallet alone)."""
    from liqwatch.feeds.events import Balance, MarkPrice, PositionData, Positions
    from liqwatch.state import State, snapshot_record

    state = State(clock=lambda: 1_790_000_000.0)
    common: dict[str, Any] = {"account": "main", "exchange": "binance", "ts": 1_790_000_000.0}
    inverse = PositionData(
        symbol="BTC/USD:BTC",
        side="long",
        size=30_000.0,
        entry_price=60_000.0,
        leverage=10.0,
        inverse=True,
        settle="BTC",
    )
    eth = PositionData(
        symbol="ETH/USDT:USDT",
        side="long",
        size=2.0,
        entry_price=3_000.0,
        margin_mode="isolated",
        isolated_margin=600.0,
    )
    state.apply(MarkPrice(**common, symbol="BTC/USD:BTC", price=60_000.0))
    state.apply(MarkPrice(**common, symbol="ETH/USDT:USDT", price=3_000.0))
    state.apply(Positions(**common, positions=[inverse, eth]))
    state.apply(Balance(**common, wallet_balance=1_000.0, currency="USDT"))
    (waiting,) = snapshot_record(state.snapshot())["accounts"]
    assert waiting["status"] == "connecting" and waiting["stale"] is True
    assert all(waiting[key] is None for key in FIGURES)
    (usdt,) = waiting["pools"]
    assert (usdt["wallet_balance"], usdt["cross_wallet_balance"]) == (1_600.0, 1_000.0)
    state.apply(Balance(**common, wallet_balance=0.5, currency="BTC"))
    (account,) = snapshot_record(state.snapshot())["accounts"]
    assert account["status"] == "ok"
    assert account["pools"][0]["settle"] == "USDT" and account["pools"][0]["wallet_balance"] == 1_600.0
    assert account["wallet_balance"] == 1_600.0  # the same figure once the risk core sizes the pool
