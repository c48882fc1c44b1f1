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
