"""``liqwatch watch --once`` does not wait out its 20 s for an account whose feed retries an error
that waiting cannot heal (the venue rejects the key: HTTP 401): that account's wait ends at once,
with one line giving the whole reason and a non-zero exit, while a transient error (HTTP 5xx) is
still waited out. Against the fake venue server (no network, port 0)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from pathlib import Path
from typing import Any

import pytest

import liqwatch.watch
from liqwatch.cli import build_parser
from liqwatch.feeds.events import Status
from liqwatch.state import State
from liqwatch.watch import EXIT_NO_DATA, run_watch
from tests.fakes.rest_server import DEFAULT_KEY, FakeRestServer
from tests.fakes.ws_server import WAIT_TIMEOUT, FakeWsServer


def _home(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    return {
        "HOME": str(home),
        "XDG_STATE_HOME": str(home / "state"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_DATA_HOME": str(home / "data"),
    }


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in _home(tmp_path).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("LW_TEST_KEY", DEFAULT_KEY)
    monkeypatch.setenv("LW_TEST_WRONG_KEY", "a-key-the-venue-rejects-0000")
    monkeypatch.setenv("LW_TEST_SECRET", "fake-secret-abcdef123456")
    # the wait --once would otherwise do (20 s) made far longer than the test's own limit: an
    # account whose wait did not end at once fails the test instead of passing slowly
    monkeypatch.setattr(liqwatch.watch, "ONCE_TIMEOUT", 10 * WAIT_TIMEOUT)


def _config(tmp_path: Path, accounts: list[tuple[str, str]], rest: str, ws: str) -> Path:
    text = "".join(
        f'[[accounts]]\nname = "{name}"\nexchange = "binance"\napi_key_env = "{key}"\n'
        f'api_secret_env = "LW_TEST_SECRET"\nrest_url = "{rest}"\nws_url = "{ws}"\n'
        for name, key in accounts
    )
    path = tmp_path / "config.toml"
    path.write_text(text)
    path.chmod(0o600)
    return path


async def _push_marks(ws: FakeWsServer) -> None:
    await ws.wait_subscribed({"BTCUSDT"})
    while True:
        for sym, price in (("BTCUSDT", 60_000.0), ("ETHUSDT", 3_000.0), ("SOLUSDT", 150.0)):
            await ws.push_mark(sym, price)
        await asyncio.sleep(0.1)


def _once(tmp_path: Path, accounts: list[tuple[str, str]], fail: tuple[str, int] | None = None) -> tuple[int, str, str]:
    async def body() -> tuple[int, str, str]:
        async with FakeRestServer("binance") as rest, FakeWsServer("binance") as ws:
            if fail is not None:
                rest.fail_next(*fail)
            config = _config(tmp_path, accounts, rest.url, ws.url)
            args = build_parser().parse_args(["watch", "--config", str(config), "--once", "--no-market"])
            out, err = io.StringIO(), io.StringIO()
            push = asyncio.create_task(_push_marks(ws))
            try:
                code = await asyncio.wait_for(run_watch(args, out, err=err), 2 * WAIT_TIMEOUT)
            finally:
                push.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await push
            return code, out.getvalue(), err.getvalue()

    return asyncio.run(body())


def _accounts(out: str) -> dict[str, dict[str, Any]]:
    snapshot = [json.loads(line) for line in out.splitlines()][-1]
    assert snapshot["type"] == "snapshot"
    return {a["account"]: a for a in snapshot["accounts"]}


@pytest.mark.usefixtures("env")
def test_a_rejected_key_ends_the_accounts_wait_at_once(tmp_path: Path) -> None:
    code, out, err = _once(tmp_path, [("good", "LW_TEST_KEY"), ("rejected", "LW_TEST_WRONG_KEY")])
    assert code == EXIT_NO_DATA
    (line,) = err.splitlines()
    assert line.startswith("liqwatch: error: accounts.rejected (binance): no data: "), line
    assert line.endswith(": authentication failed: check the API key, secret and IP whitelist"), line
    assert "Traceback" not in err
    assert "a-key-the-venue-rejects" not in out + err  # never the key itself
    accounts = _accounts(out)
    assert accounts["good"]["status"] == "ok"  # the other account's data was still waited for
    assert accounts["rejected"]["status"] == "error" and accounts["rejected"]["margin_balance"] is None


@pytest.mark.usefixtures("env")
def test_a_transient_error_is_still_waited_out(tmp_path: Path) -> None:
    """HTTP 503 twice, then the venue answers: the account's data is in the snapshot, exit 0."""
    code, out, err = _once(tmp_path, [("main", "LW_TEST_KEY")], fail=("server_error", 2))
    assert code == 0, err
    assert err == ""
    assert _accounts(out)["main"]["status"] == "ok"


def test_only_errors_that_cannot_heal_are_lasting() -> None:
    state = State(clock=lambda: 1.0)
    common: dict[str, Any] = {"account": "main", "exchange": "binance", "ts": 1.0, "channel": "rest"}
    state.apply(Status(**common, state="error", detail="network error (retrying in 1 s)"))
    assert not state.accounts["main"].lasting_error
    state.apply(Status(**common, state="error", detail="authentication failed", lasting=True))
    state.apply(Status(**common, state="reconnecting", detail="in 120 s"))
    assert state.accounts["main"].lasting_error  # kept while the feed retries
