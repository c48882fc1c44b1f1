"""Issue #20, point 5: `liqwatch calc` fetches a missing or stale tier table of the one symbol it
needs from the venue's public endpoint (here a fake venue on 127.0.0.1, through
LIQWATCH_<VENUE>_REST_URL) into the cache, with one line saying so; offline (--offline,
LIQWATCH_OFFLINE, or a venue that cannot be reached) it refuses a missing table in one line naming
`liqwatch tiers update`, and computes a stale one with one warning. A table known to be truncated
is never called "last tier"."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from liqwatch import tiercache
from liqwatch.cli import main
from liqwatch.core.venues import get_venue
from liqwatch.markets import STALE_DAYS, bundle, stale_days
from tests.fakes.ports import refused_port
from tests.fakes.rest_server import FakeRestServer

POSITION = ["--side", "long", "--size", "0.1", "--entry", "100", "--leverage", "2"]

# venue -> (the symbol calc is given, its unified form): SOL is in every fake venue; bundled
# nowhere on Bybit, OKX and Gate (missing), bundled but stale on Bitget and Hyperliquid
SOL = {
    "bybit": ("SOLUSDT", "SOL/USDT:USDT"),
    "okx": ("SOL-USDT-SWAP", "SOL/USDT:USDT"),
    "gate": ("SOL_USDT", "SOL/USDT:USDT"),
    "bitget": ("SOLUSDT", "SOL/USDT:USDT"),
    "hyperliquid": ("SOL", "SOL/USDC:USDC"),
}


@pytest.fixture
def online(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv("LIQWATCH_OFFLINE")
    return monkeypatch


def calc(*args: str) -> tuple[int, str, str]:
    """``liqwatch calc ARGS`` in a thread (the fake venue's loop keeps serving): exit code, out, err."""
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(["calc", *args])
        except SystemExit as exc:
            code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def against(venue: str, *args: str, **settings: Any) -> tuple[tuple[int, str, str], str, list[str]]:
    """calc against a fake ``venue``: (its result, the fake's URL, the paths it was asked for)."""

    async def body() -> tuple[tuple[int, str, str], str, list[str]]:
        async with FakeRestServer(venue) as fake:
            for key, value in settings.items():
                fake.set(key, value)
            result = await asyncio.to_thread(calc, *args)
            return result, fake.url, fake.paths()

    return asyncio.run(body())


@pytest.mark.parametrize("venue", list(SOL))
def test_a_missing_or_stale_table_is_fetched_into_the_cache(venue: str, online: pytest.MonkeyPatch) -> None:
    given, symbol = SOL[venue]
    bundled = bundle(get_venue(venue)).markets.get(symbol.upper())
    age = stale_days(bundled.table) if bundled is not None else None
    assert bundled is None or (age is not None and age > STALE_DAYS)  # what the test is about

    async def body() -> tuple[tuple[int, str, str], str]:
        async with FakeRestServer(venue) as fake:
            online.setenv(f"LIQWATCH_{venue.upper()}_REST_URL", fake.url)
            return await asyncio.to_thread(calc, "--exchange", venue, "--symbol", given, *POSITION, "--json"), fake.url

    (code, out, err), url = asyncio.run(body())
    assert code == 0, err
    had = "none was bundled or cached" if bundled is None else f"the bundled one was {age} days old"
    assert err.splitlines() == [
        f"liqwatch: fetched the {venue} tier table of {symbol} from {url} into the cache ({had})"
    ]
    position = json.loads(out)["positions"][0]
    assert position["symbol"] == symbol and position["tiers_source"] == "cache"
    assert position["tiers_source_detail"] == f"cache from {url} (not the venue)"
    cached = (tiercache.read_cache(venue) or {})["symbols"][symbol]
    assert position["mmr"] == pytest.approx(cached["tiers"][0]["mmr"])
    # the next run finds it in the cache: nothing is fetched, nothing is said
    code, _, err = calc("--exchange", venue, "--symbol", given, *POSITION, "--json")
    assert code == 0 and err == ""


def test_a_symbol_the_venue_does_not_list_is_refused_in_one_line(online: pytest.MonkeyPatch) -> None:
    async def body() -> tuple[int, str, str]:
        async with FakeRestServer("bybit") as fake:
            online.setenv("LIQWATCH_BYBIT_REST_URL", fake.url)
            return await asyncio.to_thread(calc, "--exchange", "bybit", "--symbol", "NOPEUSDT", *POSITION)

    code, out, err = asyncio.run(body())
    assert code == 2 and out == ""
    assert err.splitlines() == [
        "liqwatch: error: --symbol: no bundled or cached bybit tier table for NOPE/USDT:USDT; fetching it failed: "
        "NOPE/USDT:USDT is not a bybit perpetual: give --mmr / --max-leverage or --tiers FILE, or try "
        "`liqwatch tiers update --exchange bybit --symbol NOPE/USDT:USDT` later"
    ]


def test_unreachable_venue_refuses_a_missing_table_and_keeps_a_stale_one(online: pytest.MonkeyPatch) -> None:
    with refused_port() as port:
        online.setenv("LIQWATCH_BYBIT_REST_URL", f"http://127.0.0.1:{port}")
        code, out, err = calc("--exchange", "bybit", "--symbol", "SOLUSDT", *POSITION)
        assert code == 2 and out == ""
        assert err.splitlines() == [
            "liqwatch: error: --symbol: no bundled or cached bybit tier table for SOL/USDT:USDT; fetching it "
            f"failed: cannot reach 127.0.0.1:{port} (connection refused): run `liqwatch tiers update --exchange "
            "bybit --symbol SOL/USDT:USDT` once online, or give --mmr / --max-leverage or --tiers FILE"
        ]
        code, out, err = calc("--exchange", "bybit", "--symbol", "BTCUSDT", *POSITION, "--json")
    assert code == 0 and json.loads(out)["positions"][0]["tiers_source"] == "bundled"
    (line,) = err.splitlines()  # one line, not this and the stale warning
    assert line.startswith("liqwatch: warning: the bybit tier table of BTC/USDT:USDT is ")
    assert line.endswith(
        f"days old and could not be refreshed: cannot reach 127.0.0.1:{port} (connection refused): "
        "computed with the bundled table of 2024-03-12"
    )


@pytest.mark.parametrize("how", ["flag", "env"])
def test_offline_sends_nothing(how: str, online: pytest.MonkeyPatch) -> None:
    extra = ["--offline"] if how == "flag" else []
    if how == "env":
        online.setenv("LIQWATCH_OFFLINE", "1")

    async def body() -> tuple[tuple[int, str, str], tuple[int, str, str], list[str]]:
        async with FakeRestServer("bybit") as fake:
            online.setenv("LIQWATCH_BYBIT_REST_URL", fake.url)
            missing = await asyncio.to_thread(calc, "--exchange", "bybit", "--symbol", "SOLUSDT", *POSITION, *extra)
            stale = await asyncio.to_thread(calc, "--exchange", "bybit", "--symbol", "BTCUSDT", *POSITION, *extra)
            return missing, stale, fake.paths()

    (code, out, err), (stale_code, _, stale_err), paths = asyncio.run(body())
    assert paths == []  # not one request
    assert code == 2 and out == ""
    assert "`liqwatch tiers update --exchange bybit --symbol SOL/USDT:USDT`" in err and len(err.splitlines()) == 1
    assert stale_code == 0 and "refresh it with `liqwatch tiers update`" in stale_err


def test_a_portfolio_fetches_its_missing_and_stale_tables(online: pytest.MonkeyPatch, tmp_path: Any) -> None:
    portfolio = tmp_path / "p.toml"
    portfolio.write_text(
        'exchange = "okx"\n'
        + "".join(
            f'[[positions]]\nsymbol = "{s}"\nside = "long"\nsize = 0.1\nentry_price = 100\nleverage = 2\n'
            for s in ("SOL-USDT-SWAP", "BTC/USDT:USDT")
        )
    )

    async def body() -> tuple[tuple[int, str, str], str, list[str]]:
        async with FakeRestServer("okx") as fake:
            online.setenv("LIQWATCH_OKX_REST_URL", fake.url)
            result = await asyncio.to_thread(calc, "--portfolio", str(portfolio), "--json")
            return result, fake.url, fake.paths()

    (code, out, err), url, paths = asyncio.run(body())
    assert code == 0, err
    assert err.splitlines() == [
        f"liqwatch: fetched the okx tier table of SOL/USDT:USDT from {url} into the cache (none was bundled or cached)",
        f"liqwatch: fetched the okx tier table of BTC/USDT:USDT from {url} into the cache "
        f"(the bundled one was {stale_days(bundle(get_venue('okx')).markets['BTC/USDT:USDT'].table)} days old)",
    ]
    assert len([p for p in paths if p.endswith("/position-tiers")]) == 2  # one download, each table once
    positions = json.loads(out)["positions"]
    assert [p["tiers_source"] for p in positions] == ["cache", "cache"]


def test_a_truncated_table_is_not_called_the_last_tier() -> None:
    """OKX's bundled ETH table is one tier of a longer ladder (complete: false)."""
    table = bundle(get_venue("okx")).markets["ETH/USDT:USDT"].table
    assert not table.complete and len(table.tiers) == 1
    code, out, _ = calc("--exchange", "okx", "--symbol", "ETH/USDT:USDT", *POSITION)
    assert code == 0
    (line,) = [line for line in out.splitlines() if "Next tier" in line]
    assert "table ends here (truncated)" in line and "last tier" not in line
    last = bundle(get_venue("bitget")).markets["BTC/USDT:USDT"].table.tiers[-1]  # complete: true
    size = str(last.floor * 1.0001 / 100_000)
    code, out, err = calc(
        "--exchange",
        "bitget",
        "--symbol",
        "BTCUSDT",
        "--side",
        "long",
        "--size",
        size,
        "--entry",
        "100000",
        "--leverage",
        "1",
    )
    assert code == 0, err
    (line,) = [line for line in out.splitlines() if "Next tier" in line]
    assert "last tier" in line  # a complete table's last bracket is the last tier


def test_a_venue_that_never_answers_times_out_in_one_line(online: pytest.MonkeyPatch) -> None:
    """A host that takes the connection and never answers: the fetch gives up after its timeout."""
    import socket

    online.setattr("liqwatch.tierfetch.REQUEST_SECONDS", 0.2)
    online.setattr("liqwatch.tierfetch.FETCH_SECONDS", 2.0)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # connections queue in the backlog; nothing ever reads or answers them
        port = silent.getsockname()[1]
        online.setenv("LIQWATCH_GATE_REST_URL", f"http://127.0.0.1:{port}")
        code, out, err = calc("--exchange", "gate", "--symbol", "SOL_USDT", *POSITION)
    assert code == 2 and out == ""
    assert err.splitlines() == [
        "liqwatch: error: --symbol: no bundled or cached gate tier table for SOL/USDT:USDT; fetching it failed: "
        f"127.0.0.1:{port} did not answer in time: run `liqwatch tiers update --exchange gate --symbol "
        "SOL/USDT:USDT` once online, or give --mmr / --max-leverage or --tiers FILE"
    ]


def test_a_failing_venue_or_an_unwritable_cache_is_one_line(online: pytest.MonkeyPatch, tmp_path: Any) -> None:
    async def body() -> tuple[tuple[int, str, str], tuple[int, str, str], str]:
        async with FakeRestServer("bybit") as fake:
            online.setenv("LIQWATCH_BYBIT_REST_URL", fake.url)
            fake.fail_next("server_error", 20)
            failing = await asyncio.to_thread(calc, "--exchange", "bybit", "--symbol", "SOLUSDT", *POSITION)
            fake._failures.clear()
            blocker = tmp_path / "a-file"
            blocker.write_text("")
            online.setenv("LIQWATCH_CACHE_DIR", str(blocker / "cache"))  # under a file: cannot be made
            unwritable = await asyncio.to_thread(calc, "--exchange", "bybit", "--symbol", "SOLUSDT", *POSITION)
            return failing, unwritable, fake.url

    (code, out, err), (code2, out2, err2), url = asyncio.run(body())
    host = url.removeprefix("http://")
    assert code == 2 and out == ""
    assert err.splitlines() == [
        "liqwatch: error: --symbol: no bundled or cached bybit tier table for SOL/USDT:USDT; fetching it failed: "
        f"{host} is failing (HTTP 502): the venue may be down or in maintenance; run "
        "`liqwatch tiers update --exchange bybit --symbol SOL/USDT:USDT` later, or give --mmr / "
        "--max-leverage or --tiers FILE"
    ]
    assert code2 == 2 and out2 == ""
    (line,) = err2.splitlines()
    assert line.startswith(
        "liqwatch: error: --symbol: no bundled or cached bybit tier table for SOL/USDT:USDT; fetching it failed: "
        "the tier cache cannot be written ("
    )
    assert line.endswith("): set LIQWATCH_CACHE_DIR to a writable directory")


def test_a_table_of_the_users_own_or_an_override_needs_no_fetch(online: pytest.MonkeyPatch, tmp_path: Any) -> None:
    tiers = tmp_path / "tiers.json"
    tiers.write_text(json.dumps({"tiers": {"SOL/USDT:USDT": [{"min_notional": 0, "mmr": 0.01, "max_leverage": 50}]}}))
    with refused_port() as port:  # a fetch would fail: none may be tried
        online.setenv("LIQWATCH_BYBIT_REST_URL", f"http://127.0.0.1:{port}")
        for extra in (["--tiers", str(tiers)], ["--mmr", "0.01"]):
            code, out, err = calc("--exchange", "bybit", "--symbol", "SOLUSDT", *POSITION, *extra, "--json")
            assert code == 0 and err == "", err
            assert json.loads(out)["positions"][0]["mmr"] == 0.01
