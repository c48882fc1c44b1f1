"""Bundled tier data read lazily, the tier cache beside it, the precedence of tables, staleness."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from liqwatch import tiercache
from liqwatch.core import get_venue
from liqwatch.core.errors import InputError
from liqwatch.markets import LazyMarkets, bundle, find_market, resolve_table, stale_warnings, table_from_rows
from liqwatch.request import PositionRequest, build_spec

BINANCE = get_venue("binance")


def _entry(as_of: str, mmr: float = 0.02, native: str = "LINKUSDT") -> dict[str, Any]:
    return {
        "id": native,
        "contract_size": 1.0,
        "tiers": [
            {"min": 0.0, "max": 10000.0, "mmr": mmr, "max_leverage": 25.0, "maint_amount": 0.0},
            {"min": 10000.0, "max": 1e9, "mmr": 0.1, "max_leverage": 5.0},
        ],
        "fetched_at": f"{as_of}T00:00:00Z",
        "source_url": "https://fapi.binance.com/fapi/v1/leverageBracket",
        "as_of": as_of,
    }


def test_an_indexed_bundle_reads_only_the_requested_symbol() -> None:
    fresh = LazyMarkets(BINANCE, *_header_and_reader())
    assert fresh.reads == 0 and len(fresh) >= 6
    market = fresh["ETH/USDT:USDT"]
    assert market.symbol == "ETH/USDT:USDT" and fresh.reads == 1
    assert fresh["ETH/USDT:USDT"] is market and fresh.reads == 1  # built once


def _header_and_reader() -> tuple[dict[str, Any], str, Any]:
    from liqwatch.markets import _read_bundle_json

    found = _read_bundle_json("binance")
    assert found is not None
    header, reader = found
    assert "index" in header and reader is not None
    return header, "bundled", reader


def test_calc_reads_one_line_of_the_data_file() -> None:
    code = (
        "import builtins, io, json\n"
        "from liqwatch.core import get_venue\n"
        "from liqwatch.markets import bundle, find_market\n"
        "v = get_venue('binance'); find_market(v, 'BTCUSDT')\n"
        "print(json.dumps(bundle(v).markets.reads))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert json.loads(out) == 1


def test_cache_adds_symbols_the_bundle_lacks() -> None:
    tiercache.write_cache("binance", {"LINK/USDT:USDT": _entry("2099-01-01")})
    symbol, market = find_market(BINANCE, "LINKUSDT")
    assert symbol == "LINK/USDT:USDT" and market is not None
    assert market.origin == "cache" and market.table.origin == "cache"
    assert market.table.as_of == "2099-01-01" and market.source_url.startswith("https://")
    spec = build_spec(BINANCE, PositionRequest("LINKUSDT", "long", 100.0, 20.0, leverage=10))
    assert spec.tiers.origin == "cache" and spec.tiers.tiers[0].mmr == 0.02


def test_the_fresher_of_cache_and_bundled_wins() -> None:
    bundled = bundle(BINANCE).markets["BTC/USDT:USDT"]
    tiercache.write_cache("binance", {"BTC/USDT:USDT": _entry("2000-01-01", native="BTCUSDT")})
    assert find_market(BINANCE, "BTCUSDT")[1] == bundled  # the cache is older: bundled
    tiercache.write_cache("binance", {"BTC/USDT:USDT": _entry("2099-01-01", native="BTCUSDT")})
    market = find_market(BINANCE, "BTC/USDT:USDT")[1]
    assert market is not None and market.origin == "cache"


def test_a_corrupt_cache_warns_once_and_bundled_is_used(capsys: pytest.CaptureFixture[str]) -> None:
    path = tiercache.cache_path("binance")
    path.parent.mkdir(parents=True)
    path.write_text('{"symbols": ')
    market = find_market(BINANCE, "BTCUSDT")[1]
    market = find_market(BINANCE, "ETHUSDT")[1]
    assert market is not None and market.origin == "bundled"
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "corrupt" in err


def test_precedence_override_position_file_cache_bundled() -> None:
    tiercache.write_cache("binance", {"BTC/USDT:USDT": _entry("2099-01-01", native="BTCUSDT")})
    symbol, market = find_market(BINANCE, "BTCUSDT")
    assert market is not None
    rows = [{"min_notional": 0.0, "max_notional": None, "mmr": 0.03, "max_leverage": 10.0}]
    user = {"BTC/USDT:USDT": table_from_rows(BINANCE, rows, source="my.toml")}
    position = table_from_rows(BINANCE, rows, source="portfolio file", origin="portfolio")
    pick = resolve_table  # each level over the next
    assert pick(BINANCE, symbol, market).origin == "cache"
    assert pick(BINANCE, symbol, market, user_tables=user).origin == "file"
    assert pick(BINANCE, symbol, market, user_tables=user, position_tiers=position).origin == "portfolio"
    assert pick(BINANCE, symbol, market, user_tables=user, position_tiers=position, mmr=0.01).origin == "override"
    bundled = bundle(BINANCE).markets["BTC/USDT:USDT"]
    assert pick(BINANCE, symbol, bundled).origin == "bundled"


def test_unknown_symbol_says_how_to_get_its_table() -> None:
    with pytest.raises(InputError) as err:
        build_spec(BINANCE, PositionRequest("NOPEUSDT", "long", 1.0, 1.0, leverage=2))
    assert "liqwatch tiers update --exchange binance --symbol NOPE/USDT:USDT" in err.value.message


def test_stale_warning_past_thirty_days_only() -> None:
    table = bundle(BINANCE).markets["BTC/USDT:USDT"].table
    as_of = date.fromisoformat(table.as_of)
    assert stale_warnings([("BTC/USDT:USDT", table)], today=as_of.replace(day=as_of.day)) == []
    later = date.fromordinal(as_of.toordinal() + 31)
    lines = stale_warnings([("BTC/USDT:USDT", table)] * 3, today=later)
    assert len(lines) == 1 and "31 days old" in lines[0]
    assert stale_warnings([("X", table)], today=date.fromordinal(as_of.toordinal() + 30)) == []


def test_calc_json_reports_source_and_stale_warning_on_stderr_only() -> None:
    args = ["calc", "--exchange", "binance", "--symbol", "BTCUSDT", "--side", "long", "--size", "1"]
    args += ["--entry", "60000", "--leverage", "10", "--json"]
    run = subprocess.run([sys.executable, "-m", "liqwatch.cli", *args], capture_output=True, text=True, check=True)
    pos = json.loads(run.stdout)["positions"][0]
    assert pos["tiers_source"] == "bundled" and pos["tiers_as_of"]
    assert pos["tiers_source_detail"]
    age = (date.today() - date.fromisoformat(pos["tiers_as_of"])).days
    assert run.stderr.count("\n") == (1 if age > 30 else 0)
    assert "warning" not in run.stdout


def test_many_stale_tables_are_one_summary_line() -> None:
    table = bundle(BINANCE).markets["BTC/USDT:USDT"].table
    later = date.fromordinal(date.fromisoformat(table.as_of).toordinal() + 40)
    assert len(stale_warnings([(f"S{i}", table) for i in range(3)], today=later)) == 3
    lines = stale_warnings([(f"S{i}", table) for i in range(5)], today=later)
    assert len(lines) == 1 and "5 tier tables are over 30 days old" in lines[0] and "40 days" in lines[0]


@given(st.dates())
def test_day_numbers_agree_with_datetime(day: date) -> None:
    from liqwatch.markets import _day_number

    assert _day_number(day.isoformat()) == (day - date(1970, 1, 1)).days


def test_cache_dir_agrees_with_platformdirs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from platformdirs import user_cache_path

    monkeypatch.delenv("LIQWATCH_CACHE_DIR", raising=False)
    for xdg in (None, str(tmp_path / "xdg")):
        if xdg is None:
            monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
        else:
            monkeypatch.setenv("XDG_CACHE_HOME", xdg)
        assert tiercache.cache_dir() == user_cache_path("liqwatch")


def test_a_cache_written_by_this_process_is_seen_at_once() -> None:
    """Lookups look at the cache file at most once a second, but a write of this process (live
    mode, `tiers update`) is seen by the next lookup."""
    venue = get_venue("bybit")
    assert find_market(venue, "NEWCOIN/USDT:USDT")[1] is None
    row = {"min": 0, "max": None, "mmr": 0.01, "max_leverage": 50}
    tiercache.write_cache("bybit", {"NEWCOIN/USDT:USDT": {"id": "NEWCOINUSDT", "tiers": [row]}})
    market = find_market(venue, "NEWCOIN/USDT:USDT")[1]
    assert market is not None and market.table.origin == "cache"
