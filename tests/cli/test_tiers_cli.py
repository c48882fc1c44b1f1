"""`liqwatch tiers show|list|update`: human and JSON output for bundled and cached tables, the
unknown-symbol error, and a download whose table `liqwatch calc` then uses."""

from __future__ import annotations

import asyncio
import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from liqwatch import tiercache
from liqwatch.cli import main
from liqwatch.core.venues import get_venue
from liqwatch.markets import bundle
from tests.fakes.rest_harness import secrets
from tests.fakes.rest_server import FakeRestServer

SHOW_KEYS = {
    "exchange",
    "symbol",
    "id",
    "origin",
    "source",
    "as_of",
    "age_days",
    "fetched_at",
    "complete",
    "basis",
    "contract_size",
    "boundary",
    "maint_amounts",
    "brackets",
}
BRACKET_KEYS = {"index", "floor", "cap", "mmr", "maint_amount", "max_leverage"}
LIST_KEYS = {"exchange", "origin", "symbols", "oldest", "newest", "path"}


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main(["tiers", *args, "--json"]) == 0
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    return data


def run_text(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["tiers", *args]) == 0
    return capsys.readouterr().out


def write_cached_symbol(venue: str = "bybit", symbol: str = "ZZZ/USDT:USDT") -> Path:
    return tiercache.write_cache(
        venue,
        {
            symbol: {
                "id": symbol.split("/", maxsplit=1)[0] + "USDT",
                "contract_size": 1.0,
                "tiers": [
                    {"min": 0, "max": 100000, "mmr": 0.01, "max_leverage": 50, "maint_amount": 0},
                    {"min": 100000, "max": None, "mmr": 0.02, "max_leverage": 25, "maint_amount": 1000},
                ],
                "fetched_at": "2026-11-30T08:00:00Z",
                "source_url": "https://api.bybit.com/v5/market/risk-limit",
            }
        },
        header={"basis": "notional", "boundary": "cap_inclusive", "complete": True},
    )


def test_show_json_bundled_notional(capsys: pytest.CaptureFixture[str]) -> None:
    doc = run_json(capsys, "show", "--exchange", "bitget", "--symbol", "BTCUSDT")
    assert set(doc) == SHOW_KEYS
    assert doc["symbol"] == "BTC/USDT:USDT" and doc["origin"] == "bundled" and doc["basis"] == "notional"
    assert doc["as_of"] and isinstance(doc["age_days"], int) and doc["source"]
    brackets = doc["brackets"]
    assert brackets and all(set(b) == BRACKET_KEYS for b in brackets)
    assert [b["index"] for b in brackets] == list(range(1, len(brackets) + 1))
    assert brackets[0]["floor"] == 0.0
    for low, high in itertools.pairwise(brackets):
        assert low["cap"] == high["floor"] and low["mmr"] <= high["mmr"]


def test_show_json_okx_counts_contracts(capsys: pytest.CaptureFixture[str]) -> None:
    doc = run_json(capsys, "show", "--exchange", "okx", "--symbol", "BTC-USDT-SWAP")
    assert doc["basis"] == "contracts" and doc["contract_size"] == 0.01
    assert doc["complete"] is False and doc["maint_amounts"] == "none"
    assert [b["cap"] for b in doc["brackets"]][:2] == [1000.0, 5000.0]  # contracts, as OKX publishes
    assert all(b["maint_amount"] == 0 for b in doc["brackets"])


def test_show_human_two_venues(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_text(capsys, "show", "--exchange", "okx", "--symbol", "BTC/USDT:USDT")
    assert "BTC/USDT:USDT on okx" in out and "bundled" in out and "contracts of 0.01" in out
    assert "days old" in out and "maint amount" in out and "1,000" in out
    out = run_text(capsys, "show", "--exchange", "hyperliquid", "--symbol", "BTC")
    assert "BTC/USDC:USDC on hyperliquid" in out and "notional" in out and "max lev" in out


def test_show_cached_symbol(capsys: pytest.CaptureFixture[str]) -> None:
    write_cached_symbol()
    doc = run_json(capsys, "show", "--exchange", "bybit", "--symbol", "ZZZUSDT")
    assert doc["origin"] == "cache" and doc["fetched_at"] == "2026-11-30T08:00:00Z"
    assert doc["as_of"] == "2026-11-30" and doc["source"] == "https://api.bybit.com/v5/market/risk-limit"
    assert doc["maint_amounts"] == "published"
    assert doc["brackets"][-1] == {
        "index": 2,
        "floor": 100000.0,
        "cap": None,
        "mmr": 0.02,
        "maint_amount": 1000.0,
        "max_leverage": 25.0,
    }
    out = run_text(capsys, "show", "--exchange", "bybit", "--symbol", "ZZZ/USDT:USDT")
    assert "cache" in out and "∞" in out and "published" in out


def test_unknown_symbol_is_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["tiers", "show", "--exchange", "bybit", "--symbol", "NOPE/USDT:USDT"])
    assert exc.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "unknown symbol" in lines[0]
    assert "liqwatch tiers update --exchange bybit" in lines[0]


def test_list_without_cache(capsys: pytest.CaptureFixture[str]) -> None:
    doc = run_json(capsys, "list")
    assert set(doc) == {"cache_dir", "tables"}
    assert all(set(t) == LIST_KEYS for t in doc["tables"])
    assert {t["origin"] for t in doc["tables"]} == {"bundled"}
    assert {t["exchange"] for t in doc["tables"]} == {
        "binance",
        "bybit",
        "okx",
        "bitget",
        "gate",
        "hyperliquid",
        "deribit",
    }
    okx = next(t for t in doc["tables"] if t["exchange"] == "okx")
    assert okx["symbols"] == 3 and okx["oldest"] <= okx["newest"]
    out = run_text(capsys, "list", "--exchange", "gate")
    assert "gate" in out and "bundled" in out and "bybit" not in out


def test_list_reads_the_bundle_index_only(capsys: pytest.CaptureFixture[str]) -> None:
    from liqwatch.core.venues import get_venue
    from liqwatch.markets import bundle

    before = bundle(get_venue("binance")).markets.reads
    doc = run_json(capsys, "list", "--exchange", "binance")
    assert doc["tables"][0]["symbols"] == len(bundle(get_venue("binance")).markets)
    assert bundle(get_venue("binance")).markets.reads == before


def test_list_with_cache(capsys: pytest.CaptureFixture[str]) -> None:
    path = write_cached_symbol()
    doc = run_json(capsys, "list", "--exchange", "bybit")
    assert [t["origin"] for t in doc["tables"]] == ["bundled", "cache"]
    cache = doc["tables"][1]
    assert cache["symbols"] == 1 and cache["path"] == str(path)
    assert cache["oldest"] == cache["newest"] == "2026-11-30T08:00:00Z"
    assert doc["cache_dir"] == str(tiercache.cache_dir())
    out = run_text(capsys, "list", "--exchange", "bybit")
    assert "cache" in out and "2026-11-30 08:00" in out and str(path) in out


def test_tiers_without_a_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tiers"]) == 2
    assert "update" in capsys.readouterr().out


# venue -> (the id `calc --symbol` is given for the synthetic X2, the unified symbol)
CALC_SYMBOL = {
    "bybit": ("X2USDT", "X2/USDT:USDT"),
    "okx": ("X2-USDT-SWAP", "X2/USDT:USDT"),
    "gate": ("X2_USDT", "X2/USDT:USDT"),
    "bitget": ("X2USDT", "X2/USDT:USDT"),
    "hyperliquid": ("X2", "X2/USDC:USDC"),
    "binance": ("X2USDT", "X2/USDT:USDT"),
}


@pytest.mark.parametrize("venue", list(CALC_SYMBOL))
def test_update_then_calc_uses_the_downloaded_table(
    venue: str, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A symbol only the download has (synthetic X2, in no bundle): `calc` prices it from the cache,
    in the downloaded table's first bracket (0.1 BTC-like coins at 60,000: inside every venue's
    first tier; OKX's tiers count contracts of 0.01, its first cap is 1,000 contracts = 10 coins)."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config"))  # no user config is read
    calc_id, symbol = CALC_SYMBOL[venue]
    assert symbol not in bundle(get_venue(venue)).markets  # only the download can know it
    update = ["tiers", "update", "--exchange", venue]
    if venue == "binance":  # leverage brackets are a signed endpoint: keys from a config file
        monkeypatch.setenv("LW_KEY", secrets("binance").ccxt_options()["apiKey"])
        monkeypatch.setenv("LW_SECRET", "s3cr3t")
        config = tmp_path / "config.toml"
        update += ["--config", str(config)]

    urls: list[str] = []

    async def run_update() -> int:
        async with FakeRestServer(venue) as fake:
            urls.append(fake.url)
            fake.synthesize(3)
            if venue == "binance":
                config.write_text(
                    '[[accounts]]\nname = "b"\nexchange = "binance"\napi_key_env = "LW_KEY"\n'
                    f'api_secret_env = "LW_SECRET"\nrest_url = "{fake.url}"\n'
                )
                return await asyncio.to_thread(main, update)
            return await asyncio.to_thread(main, [*update, "--rest-url", fake.url])

    assert asyncio.run(run_update()) == 0
    cache = tiercache.read_cache(venue) or {}
    entry = cache["symbols"][symbol]
    first = entry["tiers"][0]
    capsys.readouterr()
    args = ["--side", "long", "--size", "0.1", "--entry", "60000", "--leverage", "2", "--json"]
    assert main(["calc", "--exchange", venue, "--symbol", calc_id, *args]) == 0
    position = json.loads(capsys.readouterr().out)["positions"][0]
    assert position["symbol"] == symbol
    assert position["tiers_source"] == "cache"
    # fetched from a test server, not the venue: said wherever the table is used (issue #20)
    assert position["tiers_source_detail"] == f"cache from {urls[0]} (not the venue)"
    assert position["tier"] == 1
    assert position["mmr"] == pytest.approx(first["mmr"])
    assert position["max_leverage"] == pytest.approx(first["max_leverage"])
    scale = entry["contract_size"] if cache["basis"] == "contracts" else 1.0
    assert position["tier_cap"] == pytest.approx(first["max"] * scale)  # OKX: 1,000 contracts x 0.01
    assert position["maintenance_margin"] == pytest.approx(6000 * first["mmr"] - first.get("maint_amount", 0.0))
    doc = run_json(capsys, "show", "--exchange", venue, "--symbol", symbol)
    assert doc["origin"] == "cache" and doc["brackets"][0]["mmr"] == pytest.approx(first["mmr"])


def test_a_table_from_a_custom_url_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    """Issue #20: a cached table fetched from a non-venue URL (``tiers update --rest-url``) is named
    as such in the calc card and JSON; one from the venue's own host is not; the demo never uses
    either (its tables are the bundled ones)."""
    from liqwatch.feeds.demo import DemoMarket

    entry = {
        "id": "BTCUSDT",
        "contract_size": 1.0,
        "tiers": [{"min": 0, "max": None, "mmr": 0.25, "max_leverage": 2, "maint_amount": 0}],
        "source_url": "http://127.0.0.1:8765/v5/market/risk-limit",
    }
    tiercache.write_cache("bybit", {"BTC/USDT:USDT": entry})
    args = ["calc", "--exchange", "bybit", "--symbol", "BTCUSDT", "--side", "long", "--size", "0.1"]
    args += ["--entry", "60000", "--leverage", "1"]
    assert main([*args, "--json"]) == 0
    position = json.loads(capsys.readouterr().out)["positions"][0]
    assert position["tiers_source"] == "cache" and position["mmr"] == 0.25
    assert position["tiers_source_detail"] == "cache from http://127.0.0.1:8765 (not the venue)"
    assert main(args) == 0
    card = next(line for line in capsys.readouterr().out.splitlines() if "Tiers from" in line)
    assert "cache from http://127.0.0.1:8765 (not the venue)" in card
    show = run_json(capsys, "show", "--exchange", "bybit", "--symbol", "BTCUSDT")
    assert show["source"] == "cache from http://127.0.0.1:8765 (not the venue)"

    demo = DemoMarket()
    bybit = get_venue("bybit")
    for (account, symbol), table in demo.tables.items():
        if account == "demo-bybit" and symbol == "BTC/USDT:USDT":
            assert table is bundle(bybit).markets["BTC/USDT:USDT"].table  # not the cached 25% table
            break
    else:
        raise AssertionError("the demo holds no Bybit BTC position")

    tiercache.write_cache(
        "bybit", {"BTC/USDT:USDT": {**entry, "source_url": "https://api.bybit.com/v5/market/risk-limit"}}
    )
    assert main([*args, "--json"]) == 0
    position = json.loads(capsys.readouterr().out)["positions"][0]
    assert position["tiers_source_detail"] == "https://api.bybit.com/v5/market/risk-limit"


@pytest.mark.parametrize(
    ("venue", "url", "label"),
    [
        ("bybit", "https://api.bybit.com/v5/market/risk-limit", None),
        ("bybit", "https://api.bytick.com/v5/market/risk-limit", None),
        ("gate", "https://api.gateio.ws/api/v4/futures/usdt/risk_limit_tiers", None),
        ("bybit", "", None),  # a hand-written entry: nothing to say
        ("bybit", "https://api-testnet.bybit.com/v5/market/risk-limit", "https://api-testnet.bybit.com"),
        ("bybit", "https://api.bybit.com.example.org/v5", "https://api.bybit.com.example.org"),
        ("okx", "https://api.bybit.com/v5", "https://api.bybit.com"),
        ("okx", "http://www.okx.com/api/v5/public/position-tiers", "http://www.okx.com"),
        ("hyperliquid", "http://127.0.0.1:4321/info", "http://127.0.0.1:4321"),
    ],
)
def test_foreign_source(venue: str, url: str, label: str | None) -> None:
    from liqwatch.markets import foreign_source

    expected = None if label is None else f"cache from {label} (not the venue)"
    assert foreign_source(get_venue(venue), url) == expected
