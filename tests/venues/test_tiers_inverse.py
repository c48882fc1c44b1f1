"""``liqwatch tiers update`` downloads the coin-margined (inverse) perpetuals of OKX, Gate and
Bitget too (fake servers with ``add_inverse``): entries with ``inverse: true``, the settle coin and
the unit of their bounds; ``--symbol BTC/USD:BTC`` limits the download to it; the linear tables
are unchanged; ``liqwatch calc`` prices the coin-margined symbol from its cached table (issue #12)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from liqwatch import tiercache
from liqwatch.cli import main
from liqwatch.tiers_update import Retry, VenueResult, download_venue, save
from tests.fakes.rest_harness import secrets
from tests.fakes.rest_server import FakeRestServer

VENUES = ["okx", "gate", "bitget"]
INVERSE = "BTC/USD:BTC"
UNIT = {"okx": "contracts", "gate": "settle currency", "bitget": "startUnit/endUnit"}
CONTRACT_SIZE = {"okx": 100.0, "gate": 1.0, "bitget": 1.0}


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIQWATCH_CACHE_DIR", str(tmp_path / "cache"))


async def _instant(_delay: float) -> None:
    return None


def download(venue: str, *, inverse: bool = True, **kw: Any) -> tuple[VenueResult, list[str]]:
    async def run() -> tuple[VenueResult, list[str]]:
        async with FakeRestServer(venue) as fake:
            if inverse:
                fake.add_inverse()
            result = await download_venue(venue, rest_url=fake.url, retry=Retry(attempts=3, sleep=_instant), **kw)
            save(result)
            return result, fake.paths()

    return asyncio.run(run())


def cached(venue: str) -> dict[str, Any]:
    data = tiercache.read_cache(venue)
    assert data is not None
    symbols: dict[str, Any] = data["symbols"]
    return symbols


@pytest.mark.parametrize("venue", VENUES)
def test_inverse_tables_are_downloaded_with_unit_settle_and_flag(venue: str) -> None:
    result, _ = download(venue)
    assert not result.failures, result.failures
    entry = cached(venue)[INVERSE]
    assert entry["inverse"] is True and entry["linear"] is False and entry["settle"] == "BTC"
    assert entry["contract_size"] == CONTRACT_SIZE[venue]
    assert UNIT[venue] in entry["tier_unit"]
    tiers = entry["tiers"]
    assert tiers[0]["min"] == 0.0 and all(0 < t["mmr"] < 1 for t in tiers)
    linear = cached(venue)["BTC/USDT:USDT"]
    assert "tier_unit" not in linear and linear["inverse"] is False
    if venue == "okx":  # contracts as published: the linear BTC-USDT family's maxSz rows
        assert [t["max"] for t in tiers] == [t["max"] for t in linear["tiers"]]
    if venue == "gate":  # risk limits in BTC as published (the fake's: USDT limits / 50,000)
        assert tiers[0]["max"] == pytest.approx(linear["tiers"][0]["max"] / 50000)
    if venue == "bitget":
        assert [t["max"] for t in tiers] == [t["max"] for t in linear["tiers"]]


@pytest.mark.parametrize("venue", VENUES)
def test_symbol_limits_the_download_to_the_inverse_market(venue: str) -> None:
    result, _ = download(venue, symbols=[INVERSE])
    assert not result.failures, result.failures
    assert list(result.symbols) == [INVERSE] and result.wanted == 1
    assert list(cached(venue)) == [INVERSE]


@pytest.mark.parametrize("venue", VENUES)
def test_linear_download_is_unchanged(venue: str) -> None:
    plain, _ = download(venue, inverse=False)
    linear = {
        s: {k: v for k, v in e.items() if k not in ("fetched_at", "as_of", "source_url")}
        for s, e in plain.symbols.items()
    }
    both, _ = download(venue)
    assert set(both.symbols) == set(plain.symbols) | {INVERSE}
    for symbol, entry in linear.items():
        assert {k: v for k, v in both.symbols[symbol].items() if k in entry} == entry
        assert set(both.symbols[symbol]) == set(plain.symbols[symbol])


@pytest.mark.parametrize("venue", VENUES)
@pytest.mark.parametrize("symbol", [INVERSE, "native"])
def test_calc_uses_the_cached_inverse_table(venue: str, symbol: str, capsys: pytest.CaptureFixture[str]) -> None:
    """``liqwatch calc`` prices the coin-margined symbol from its cached table (issue #12), found by
    unified symbol or venue id; Bitget's, whose bounds are in a unit not verified, is refused."""
    download(venue)
    assert INVERSE in cached(venue)
    name = symbol if symbol != "native" else cached(venue)[INVERSE]["id"]
    args = ["--exchange", venue, "--symbol", name, "--side", "long", "--size", "1000", "--entry", "60000"]
    if venue == "bitget":
        with pytest.raises(SystemExit) as exc:
            main(["calc", *args, "--leverage", "10"])
        assert exc.value.code == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("liqwatch: error: --symbol:") and "not verified" in err, err
        return
    assert main(["calc", *args, "--leverage", "10", "--json"]) == 0
    (pos,) = json.loads(capsys.readouterr().out)["positions"]
    assert pos["symbol"] == INVERSE and pos["inverse"] is True and pos["tiers_source"] == "cache"
    assert pos["contract_size"] == CONTRACT_SIZE[venue] and pos["contracts"] == pytest.approx(
        1000 / CONTRACT_SIZE[venue]
    )


# Binance COIN-M ETHUSD brackets in the shape /dapi/v2/leverageBracket serves (caps in ETH; the
# first row with the docs' "qtylFloor" spelling); cum = the previous cum + floor x the MMR step
ETH_BRACKETS = [
    {"bracket": 1, "initialLeverage": 75, "qtyCap": 150, "qtylFloor": 0, "maintMarginRatio": 0.005, "cum": 0.0},
    {"bracket": 2, "initialLeverage": 50, "qtyCap": 300, "qtyFloor": 150, "maintMarginRatio": 0.0065, "cum": 0.225},
    {"bracket": 3, "initialLeverage": 25, "qtyCap": 1500, "qtyFloor": 300, "maintMarginRatio": 0.01, "cum": 1.275},
]


def add_binance_ethusd(data: dict[str, Any]) -> None:
    btc = data["dapi_exchangeInfo"]["symbols"][0]
    eth = {**btc, "symbol": "ETHUSD_PERP", "pair": "ETHUSD", "baseAsset": "ETH", "marginAsset": "ETH"}
    eth["contractSize"] = 10
    data["dapi_exchangeInfo"]["symbols"].append(eth)
    data["dapi_leverageBracket"].append({"symbol": "ETHUSD_PERP", "brackets": ETH_BRACKETS})


def download_binance(
    *, coin_m: bool = True, brackets: bool = True, symbols: list[str] | None = None
) -> tuple[VenueResult, list[str]]:
    async def run() -> tuple[VenueResult, list[str]]:
        async with FakeRestServer("binance") as fake:
            if not coin_m:  # the dapi exchange info fails: no COIN-M market can be loaded
                fake.data["dapi_exchangeInfo"] = None
            else:
                fake.add_inverse()
                add_binance_ethusd(fake.data)
                if not brackets:  # no COIN-M permission: the dapi bracket call is refused (-2015)
                    fake.data["dapi_denied"] = True
            result = await download_venue(
                "binance",
                rest_url=fake.url,
                secrets=secrets("binance"),
                retry=Retry(attempts=3, sleep=_instant),
                symbols=symbols,
            )
            save(result)
            return result, fake.paths()

    return asyncio.run(run())


def test_binance_coin_m_brackets_are_downloaded_as_inverse_entries(capsys: pytest.CaptureFixture[str]) -> None:
    result, paths = download_binance()
    assert not result.failures, result.failures
    assert "/dapi/v2/leverageBracket" in paths and "/fapi/v1/leverageBracket" in paths
    symbols = cached("binance")
    for symbol, size, coin in ((INVERSE, 100.0, "BTC"), ("ETH/USD:ETH", 10.0, "ETH")):
        entry = symbols[symbol]
        assert entry["inverse"] is True and entry["linear"] is False and entry["settle"] == coin
        assert entry["contract_size"] == size and "coin notional" in entry["tier_unit"]
    eth = symbols["ETH/USD:ETH"]
    assert eth["id"] == "ETHUSD_PERP"
    assert [(t["min"], t["max"], t["mmr"], t["max_leverage"], t.get("maint_amount")) for t in eth["tiers"]] == [
        (b.get("qtyFloor", b.get("qtylFloor")), b["qtyCap"], b["maintMarginRatio"], b["initialLeverage"], b["cum"])
        for b in ETH_BRACKETS
    ]
    assert symbols["BTC/USDT:USDT"]["inverse"] is False
    # calc finds the cached COIN-M table by the venue id; contracts = USD face / 10
    args = ["--exchange", "binance", "--symbol", "ETHUSD_PERP", "--side", "long", "--size", "20000"]
    assert main(["calc", *args, "--entry", "2000", "--leverage", "10", "--json"]) == 0
    (pos,) = json.loads(capsys.readouterr().out)["positions"]
    assert pos["symbol"] == "ETH/USD:ETH" and pos["tiers_source"] == "cache" and pos["settle"] == "ETH"
    assert pos["contract_size"] == 10.0 and pos["contracts"] == pytest.approx(2_000.0)
    # 20,000 USD at 2,000 = 10 ETH: the first bracket (0.5 %)
    assert pos["maintenance_margin"] == pytest.approx(10 * 0.005, rel=1e-12)


def test_binance_coin_m_failures_leave_the_linear_tables() -> None:
    """No COIN-M brackets (the key lacks the permission) or no COIN-M markets at all (the dapi
    exchange info fails): the linear tables are downloaded and cached all the same."""
    refused, _ = download_binance(brackets=False)
    assert INVERSE in refused.failures and "BTC/USDT:USDT" in refused.symbols and "*" not in refused.failures
    assert "BTC/USDT:USDT" in cached("binance") and INVERSE not in cached("binance")
    unloaded, _ = download_binance(coin_m=False)
    assert not unloaded.failures and "BTC/USDT:USDT" in unloaded.symbols
    assert "coin-margined markets not loaded" in unloaded.summary()
