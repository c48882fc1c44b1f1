"""Issue #21 on Gate and Bitget: ``liqwatch tiers update --exchange gate|bitget --collateral``
caches the venues' public discount tiers by USD value (fake servers, real ccxt), ``calc`` with
``account_mode = "multi_assets"`` values a row given without ratio or tiers from them, and the
venues' published collateral examples run through ``calc --portfolio --json``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from liqwatch import collateral_cache
from tests.cli.test_calc_collateral import BTC_LONG
from tests.cli.test_collateral_tables import TODAY, calc_json, portfolio, refused, update

# ------------------------------------------------------------------------------ the download


def test_gate_discount_tiers_are_cached_by_usd_value() -> None:
    """One public read of /unified/currency_discount_tiers (no key: ccxt lists it as private)."""
    code, paths = update("gate")
    assert code == 0 and paths == ["/api/v4/unified/currency_discount_tiers"]
    data = collateral_cache.read_collateral("gate")
    assert data is not None and data["as_of"] == TODAY
    assert data["source_url"].endswith("/api/v4/unified/currency_discount_tiers")
    assert data["assets"]["BTC"] == {
        "tiers": [
            {"min": 0.0, "max": 1000.0, "ratio": 0.98},
            {"min": 1000.0, "max": 10000.0, "ratio": 0.95},
            {"min": 10000.0, "max": 50000.0, "ratio": 0.9},
            {"min": 50000.0, "max": None, "ratio": 0.85},
        ],
        "tier_basis": "value",
    }
    assert set(data["assets"]) == {"USDT", "USDC", "BTC", "ETH"}


def test_bitget_discount_rate_tiers_are_cached_by_usdt_value() -> None:
    """/api/v2/mix/market/discount-rate (maxAmount -1 = no end); USDT, the margin unit, whole."""
    code, paths = update("bitget")
    assert code == 0 and paths == ["/api/v2/mix/market/discount-rate"]
    data = collateral_cache.read_collateral("bitget")
    assert data is not None
    assert [t["ratio"] for t in data["assets"]["BTC"]["tiers"]] == [0.99, 0.95, 0.9, 0.8]
    assert data["assets"]["BTC"]["tiers"][-1]["max"] is None and data["assets"]["BTC"]["tier_basis"] == "value"
    assert data["assets"]["USDT"] == {"tiers": [{"min": 0.0, "max": None, "ratio": 1.0}], "tier_basis": "value"}


# ------------------------------------------------------------------------------ calc reads them


def test_calc_values_a_gate_row_from_the_cache_by_usd_value(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """0.2 BTC at the long's 50,000 mark = 10,000 USD: 1,000 x 0.98 + 9,000 x 0.95 = 9,530."""
    update("gate")
    path = portfolio(
        tmp_path, "gate", [{"asset": "USDT", "amount": 5_000, "price": 1}, {"asset": "BTC", "amount": 0.2}]
    )
    account = calc_json(capsys, path)["account"]
    btc = next(c for c in account["collateral"] if c["asset"] == "BTC")
    assert btc["collateral_value_usd"] == pytest.approx(1_000 * 0.98 + 9_000 * 0.95, rel=1e-12)
    assert btc["ratio"] == pytest.approx(0.953, rel=1e-12)
    assert account["effective_equity"] == pytest.approx(5_000 - 2_000 + 9_530, rel=1e-12)
    assert account["margin_ratio_native_name"] == "total_maintenance_margin_rate"
    sources = {t["asset"]: t["source"] for t in account["collateral_tables"]}
    assert sources["BTC"].startswith(f"gate cache as of {TODAY} (http://127.0.0.1:")


def test_calc_values_a_bitget_row_from_the_cache_by_usdt_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """0.2 BTC at 50,000 = 10,000 USDT, all in the first tier (0-10,000 at 0.99); USDT whole."""
    update("bitget")
    path = portfolio(
        tmp_path, "bitget", [{"asset": "USDT", "amount": 5_000, "price": 1}, {"asset": "BTC", "amount": 0.2}]
    )
    account = calc_json(capsys, path)["account"]
    assert {c["asset"]: c["ratio"] for c in account["collateral"]} == {"USDT": 1.0, "BTC": pytest.approx(0.99)}
    assert account["effective_equity"] == pytest.approx(5_000 - 2_000 + 9_900, rel=1e-12)


def test_a_gate_row_the_cache_lacks_is_refused_naming_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = portfolio(tmp_path, "gate", [{"asset": "BTC", "amount": 0.2, "price": 50_000}])
    err = refused(capsys, path)
    assert "`liqwatch tiers update --exchange gate --collateral` (the gate collateral cache is empty)" in err
    update("gate")
    capsys.readouterr()  # the download's summary line
    path = portfolio(tmp_path, "gate", [{"asset": "DOGE", "amount": 10, "price": 0.1}])
    assert "(the gate collateral cache has no DOGE)" in refused(capsys, path)


# ------------------------------------------------------------------------------ published examples


def _portfolio(tmp_path: Path, venue: str, collateral: list[dict[str, Any]]) -> Path:
    path = tmp_path / f"{venue}.json"
    doc = {"exchange": venue, "account_mode": "multi_assets", "collateral": collateral, "positions": [BTC_LONG]}
    path.write_text(json.dumps(doc))
    return path


def test_gate_gradient_margin_adjustment_example(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Gate "Gate.io to Launch Gradient Margin Adjustment Factors Algorithm on March 28"
    (2024-03-20 announcement; copy at http://210.207.174.245:8386/exchange/view/15067/43): 200 BTC
    at an index of 70,000 USD (14M) count "(5 million * 1) + (5 million * 0.97) + (4 million *
    0.95) = 13.65 million" (the tiers are USD values, each slice at its own factor)."""
    tiers = [
        {"min": 0, "max": 5e6, "ratio": 1},
        {"min": 5e6, "max": 10e6, "ratio": 0.97},
        {"min": 10e6, "max": None, "ratio": 0.95},
    ]
    collateral = [
        {"asset": "USDT", "amount": 0, "price": 1, "ratio": 1},
        {"asset": "BTC", "amount": 200, "price": 70_000, "tiers": tiers, "tier_basis": "value"},
    ]
    account = calc_json(capsys, _portfolio(tmp_path, "gate", collateral))["account"]
    btc = next(c for c in account["collateral"] if c["asset"] == "BTC")
    assert btc["value_usd"] == pytest.approx(14_000_000.0, rel=1e-12)
    assert btc["collateral_value_usd"] == pytest.approx(13_650_000.0, rel=1e-12)


def test_gate_we9_total_maintenance_margin_rate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Gate GET /unified/accounts example (collateral.md WE-9; rosssaunders/coincise
    docs/gateio/endpoints/private/get_unified_accounts.md): total_margin_balance
    3382495.944473949183 / total_maintenance_margin 205.01049330176 = total_maintenance_margin_rate
    16499.135678363399: calc's margin_ratio_native for that margin balance and MM, and
    margin_ratio its inverse."""
    mm = 205.01049330176
    position = {**BTC_LONG, "entry_price": 50_000, "mmr": mm / 50_000, "fee_rate": 0}  # MM = 1 x 50,000 x mmr
    doc = {
        "exchange": "gate",
        "account_mode": "multi_assets",
        "collateral": [{"asset": "USDT", "amount": 3382495.944473949183, "price": 1, "ratio": 1}],
        "positions": [position],
    }
    path = tmp_path / "we9.json"
    path.write_text(json.dumps(doc))
    account = calc_json(capsys, path)["account"]
    assert account["maintenance_margin"] == pytest.approx(mm, rel=1e-12)
    assert account["margin_ratio_native"] == pytest.approx(16499.135678363399, rel=1e-9)
    assert account["margin_ratio"] == pytest.approx(1 / 16499.135678363399, rel=1e-9)


def test_bitget_multi_asset_btc_tiers_example(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Bitget "Introduction to USDT-M Futures in Multi-Asset Mode" (support article 12560603817279,
    mirror https://www.bjxnyj.com/support/articles/12560603817279 ): 10 BTC at an index of 60,000
    USDT = 600,000 USDT count 100,000 x 0.975 + 400,000 x 0.97 + 100,000 x 0.965 = 582,000 USDT."""
    tiers = [
        {"min": 0, "max": 100_000, "ratio": 0.975},
        {"min": 100_000, "max": 500_000, "ratio": 0.97},
        {"min": 500_000, "max": None, "ratio": 0.965},
    ]
    collateral = [
        {"asset": "USDT", "amount": 0, "price": 1, "ratio": 1},
        {"asset": "BTC", "amount": 10, "price": 60_000, "tiers": tiers, "tier_basis": "value"},
    ]
    account = calc_json(capsys, _portfolio(tmp_path, "bitget", collateral))["account"]
    btc = next(c for c in account["collateral"] if c["asset"] == "BTC")
    assert btc["collateral_value_usd"] == pytest.approx(582_000.0, rel=1e-12)
    assert btc["ratio"] == pytest.approx(0.97, rel=1e-12)


def test_a_bitget_hedged_symbol_is_refused_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Bitget multi-asset mode, hedge mode: "Maintenance margin 1 = (larger position value + order
    value) x (MMR of the corresponding tier + liquidation fee rate)" (support 12560603812664): the
    per-leg sum would overstate it, so calc refuses rather than print it."""
    legs = [
        {**BTC_LONG, "position_side": "long"},
        {**BTC_LONG, "side": "short", "position_side": "short", "entry_price": 49_000},
    ]
    doc = {
        "exchange": "bitget",
        "account_mode": "multi_assets",
        "collateral": [{"asset": "USDT", "amount": 10_000, "price": 1, "ratio": 1}],
        "positions": legs,
    }
    path = tmp_path / "hedged.json"
    path.write_text(json.dumps(doc))
    err = refused(capsys, path)
    assert "BTC/USDT:USDT is held long and short" in err and "larger hedge leg" in err


# ------------------------------------------------------------------------------ liabilities


def _calc_err(capsys: pytest.CaptureFixture[str], path: Path) -> tuple[dict[str, Any], list[str]]:
    from liqwatch.cli import main

    assert main(["calc", "--portfolio", str(path), "--json", "--offline"]) == 0
    captured = capsys.readouterr()
    return json.loads(captured.out), captured.err.strip().splitlines()


@pytest.mark.parametrize("venue", ["gate", "bitget", "bybit", "okx"])
def test_a_liability_at_the_liquidation_price_is_said_on_stderr(
    venue: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """1,000 USDT and 1 BTC behind the BTC long (entry 52,000, mark 50,000): the long liquidates where
    the USDT equity is far below zero, a liability whose maintenance margin Gate, Bitget, Bybit
    (borrowed assets) and OKX (borrowings) add (by tiers liqwatch does not read): the figures stand,
    one stderr line says they understate the MM."""
    collateral = [
        {"asset": "USDT", "amount": 1_000, "price": 1, "ratio": 1},
        {"asset": "BTC", "amount": 1, "ratio": 0.9},
    ]
    doc, err = _calc_err(capsys, _portfolio(tmp_path, venue, collateral))
    price = doc["positions"][0]["liquidation_price"]
    assert price is not None and 1_000 + (price - 52_000) < 0  # the USDT equity there
    (line,) = err
    assert line.startswith(f"liqwatch: warning: {venue}: a negative equity is a liability (USDT equity -")
    assert "at BTC/USDT:USDT's liquidation price " in line
    assert "which liqwatch does not model: the maintenance margin is understated there" in line


def test_no_liability_no_warning_and_other_venues_unchanged(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """USDT alone behind the long: its equity at the liquidation price is the MM (> 0), no line.
    Binance with the BTC collateral: not one of the venues the line is for (Multi-Assets Mode
    exchanges a negative balance; it adds no maintenance margin on it)."""
    usdt_only = [{"asset": "USDT", "amount": 10_000, "price": 1, "ratio": 1}]
    assert _calc_err(capsys, _portfolio(tmp_path, "gate", usdt_only))[1] == []
    with_btc = [*usdt_only, {"asset": "BTC", "amount": 1, "ratio": 0.9}]
    assert _calc_err(capsys, _portfolio(tmp_path, "binance", with_btc))[1] == []
