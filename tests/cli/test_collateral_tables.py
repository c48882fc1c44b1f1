"""Issue #21, the venues' collateral tables for ``calc``: ``liqwatch tiers update --collateral``
downloads Binance's /fapi/v1/assetIndex buffers, Bybit's tiered collateral value ratios and OKX's
discount-rate tiers from the fake venue servers (through real ccxt) into the collateral cache, and
``calc`` values a ``multi_assets`` collateral row given without ratio, tiers or buffers from it,
saying so ("<venue> cache as of <date>")."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest

from liqwatch import collateral_cache
from liqwatch.cli import main
from liqwatch.cli.tiers_update import add_update_parser, run_update
from liqwatch.tiers_update import Retry
from tests.cli.test_calc_collateral import BTC_LONG
from tests.fakes.rest_server import FakeRestServer


async def _instant(_: float) -> None:
    return None


def _retry() -> Retry:
    return Retry(sleep=_instant)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="liqwatch tiers")
    add_update_parser(parser.add_subparsers(dest="tiers_command"))
    return parser


def update(venue: str, *extra: str, mode: str | None = "multi_assets") -> tuple[int, list[str]]:
    """``tiers update --exchange <venue> --collateral`` against the venue's fake server."""

    async def body() -> tuple[int, list[str]]:
        async with FakeRestServer(venue) as fake:
            if mode is not None:
                fake.set_mode(mode)
            argv = ["update", "--exchange", venue, "--collateral", "--rest-url", fake.url, *extra]
            code = await asyncio.to_thread(run_update, _parser().parse_args(argv), retry=_retry)
            return code, fake.paths()

    return asyncio.run(body())


def portfolio(tmp_path: Path, venue: str, collateral: list[dict[str, Any]]) -> Path:
    path = tmp_path / "p.json"
    doc = {"exchange": venue, "account_mode": "multi_assets", "collateral": collateral, "positions": [BTC_LONG]}
    path.write_text(json.dumps(doc))
    return path


def calc_json(capsys: pytest.CaptureFixture[str], path: Path) -> dict[str, Any]:
    assert main(["calc", "--portfolio", str(path), "--json", "--offline"]) == 0
    out: dict[str, Any] = json.loads(capsys.readouterr().out)
    return out


def refused(capsys: pytest.CaptureFixture[str], path: Path) -> str:
    with pytest.raises(SystemExit) as exc:
        main(["calc", "--portfolio", str(path), "--offline"])
    assert exc.value.code == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert captured.out == "" and len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


TODAY = time.strftime("%Y-%m-%d", time.gmtime())


# ------------------------------------------------------------------------------ the download


def test_bybit_collateral_table_is_cached(capsys: pytest.CaptureFixture[str]) -> None:
    code, paths = update("bybit")
    assert code == 0 and paths == ["/v5/spot-margin-trade/collateral"]  # one public read, no brackets
    data = collateral_cache.read_collateral("bybit")
    assert data is not None and data["as_of"] == TODAY
    assert data["source_url"].endswith("/v5/spot-margin-trade/collateral")
    assert data["assets"]["BTC"] == {
        "tiers": [{"min": 0.0, "max": 1000000.0, "ratio": 0.85}, {"min": 1000000.0, "max": None, "ratio": 0.0}],
        "tier_basis": "quantity",
    }
    assert "bybit: collateral table of 3 assets" in capsys.readouterr().err


def test_okx_discount_rate_tiers_are_cached() -> None:
    code, paths = update("okx")
    assert code == 0 and paths == ["/api/v5/public/discount-rate-interest-free-quota"]
    data = collateral_cache.read_collateral("okx")
    assert data is not None
    assert [t["ratio"] for t in data["assets"]["BTC"]["tiers"]] == [0.98, 0.9775, 0.0]  # minDiscountRate past 25


def test_binance_asset_index_buffers_are_cached() -> None:
    code, paths = update("binance")
    assert code == 0 and paths == ["/fapi/v1/assetIndex"]  # public: no keys needed
    data = collateral_cache.read_collateral("binance")
    assert data is not None
    assert data["assets"]["ADA"] == {"bid_buffer": 0.1, "ask_buffer": 0.1}  # the doc's ADAUSD row
    assert data["assets"]["USDT"] == {"bid_buffer": 0.01, "ask_buffer": 0.005}


def test_a_failed_download_keeps_the_cache_and_exits_non_zero(capsys: pytest.CaptureFixture[str]) -> None:
    update("bybit")
    before = collateral_cache.collateral_path("bybit").read_bytes()

    async def body() -> int:
        async with FakeRestServer("bybit") as fake:
            fake.set("collateral_ratio_status", 500)
            argv = ["update", "--exchange", "bybit", "--collateral", "--rest-url", fake.url]
            return await asyncio.to_thread(run_update, _parser().parse_args(argv), retry=_retry)

    capsys.readouterr()
    assert asyncio.run(body()) == 1
    assert collateral_cache.collateral_path("bybit").read_bytes() == before
    err = capsys.readouterr().err
    assert "bybit: collateral table not downloaded" in err and "Traceback" not in err


def test_a_venue_without_a_collateral_table_is_said_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    args = _parser().parse_args(["update", "--exchange", "hyperliquid", "--collateral"])
    assert run_update(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0] == (
        "hyperliquid: liqwatch reads no hyperliquid collateral table (only binance, bybit, okx, bitget, gate); skipped"
    )
    assert err[1].startswith("liqwatch: error: --collateral:") and len(err) == 2


# ------------------------------------------------------------------------------ calc reads it


def test_calc_values_a_bybit_row_from_the_cache_and_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    update("bybit")
    path = portfolio(
        tmp_path,
        "bybit",
        [{"asset": "USDT", "amount": 5_000, "price": 1}, {"asset": "BTC", "amount": 0.2, "price": 50_000}],
    )
    doc = calc_json(capsys, path)
    account = doc["account"]
    ratios = {c["asset"]: c["ratio"] for c in account["collateral"]}
    assert ratios == {"USDT": 1.0, "BTC": pytest.approx(0.85, rel=1e-12)}
    # 5,000 + 0.2 x 50,000 x 0.85 - the long's loss 2,000
    assert account["effective_equity"] == pytest.approx(5_000 + 8_500 - 2_000, rel=1e-12)
    sources = {t["asset"]: t["source"] for t in account["collateral_tables"]}
    assert set(sources) == {"USDT", "BTC"}
    assert sources["BTC"].startswith(f"bybit cache as of {TODAY} (http://127.0.0.1:")
    assert main(["calc", "--portfolio", str(path), "--offline"]) == 0
    out = capsys.readouterr().out
    assert f"BTC valued from the bybit cache as of {TODAY}" in " ".join(out.split())


def test_a_row_with_its_own_ratio_keeps_it_and_is_not_listed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    update("okx")
    path = portfolio(
        tmp_path,
        "okx",
        [{"asset": "USDT", "amount": 5_000, "price": 1, "ratio": 1}, {"asset": "BTC", "amount": 0.2, "ratio": 0.5}],
    )
    doc = calc_json(capsys, path)
    assert "collateral_tables" not in doc["account"]
    assert {c["asset"]: c["ratio"] for c in doc["account"]["collateral"]}["BTC"] == pytest.approx(0.5)


def test_calc_values_binance_buffers_from_the_cache(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    update("binance")
    path = portfolio(tmp_path, "binance", [{"asset": "USDT", "amount": 5_000, "price": 0.99}])
    doc = calc_json(capsys, path)
    (usdt,) = doc["account"]["collateral"]
    # the equity 5,000 - 2,000 (the long's loss, settled in USDT) at the bid rate 0.99 x (1 - 0.01)
    assert usdt["collateral_value_usd"] == pytest.approx(3_000 * 0.99 * 0.99, rel=1e-12)


def test_no_cached_table_is_refused_naming_the_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = portfolio(tmp_path, "bybit", [{"asset": "BTC", "amount": 0.2, "price": 50_000}])
    err = refused(capsys, path)
    assert err.endswith(
        "collateral[0].ratio: no ratio, tiers or bid_buffer/ask_buffer for BTC, and liqwatch bundles no bybit "
        'collateral table: give "ratio", "tiers" (with "tier_basis") or "bid_buffer" and "ask_buffer", or cache '
        "the venue's table with `liqwatch tiers update --exchange bybit --collateral` (the bybit collateral cache "
        "is empty)"
    )
    update("bybit")
    capsys.readouterr()
    path = portfolio(tmp_path, "bybit", [{"asset": "DOGE", "amount": 10, "price": 0.1}])
    assert "(the bybit collateral cache has no DOGE)" in refused(capsys, path)


def test_a_venue_whose_table_liqwatch_does_not_read_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = portfolio(tmp_path, "hyperliquid", [{"asset": "BTC", "amount": 0.2, "price": 50_000}])
    assert "(liqwatch reads collateral tables of binance, bybit, okx, bitget, gate only)" in refused(capsys, path)


def test_a_corrupt_cache_is_warned_about_and_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    where = collateral_cache.collateral_path("okx")
    where.parent.mkdir(parents=True, exist_ok=True)
    where.write_text("{not json")
    path = portfolio(tmp_path, "okx", [{"asset": "BTC", "amount": 0.2, "price": 50_000}])
    with pytest.raises(SystemExit):
        main(["calc", "--portfolio", str(path), "--offline"])
    err = capsys.readouterr().err
    assert "collateral cache" in err and "corrupt" in err and "Traceback" not in err


def test_a_cached_table_over_30_days_old_is_warned_about(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    update("bybit")
    where = collateral_cache.collateral_path("bybit")
    data = json.loads(where.read_text())
    where.write_text(json.dumps({**data, "as_of": "2020-01-01"}))
    path = portfolio(tmp_path, "bybit", [{"asset": "USDT", "amount": 5_000, "price": 1, "ratio": 1}])
    capsys.readouterr()
    assert main(["calc", "--portfolio", str(path), "--offline"]) == 0
    assert "collateral table" not in capsys.readouterr().err  # no row valued from it: nothing to say
    path = portfolio(tmp_path, "bybit", [{"asset": "USDT", "amount": 5_000, "price": 1}])
    assert main(["calc", "--portfolio", str(path), "--offline"]) == 0
    (line,) = [x for x in capsys.readouterr().err.splitlines() if "collateral table" in x]
    assert line.startswith("liqwatch: warning: the bybit collateral table (USDT) is ")
    assert line.endswith(
        "days old (cache, as of 2020-01-01); refresh it with `liqwatch tiers update --exchange bybit --collateral`"
    )
