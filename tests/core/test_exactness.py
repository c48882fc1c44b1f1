"""Issue 9: numbers that never mislead.

* A max-leverage override on a venue that derives MMR from it defines the bracket; every bracket
  field an output reports is the bracket the maths used (property test over every venue).
* Tables that end: an incomplete table refuses values past its last cap; a complete one refuses
  them as above the venue's maximum position. Coin-margined symbols are refused.
* Impossible accounts (two one-way positions of a symbol, two hedge legs on one side) are refused.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from liqwatch.core import VENUES, InputError, assess
from liqwatch.core.engine import check_account
from liqwatch.markets import bundle
from liqwatch.output import position_dict
from liqwatch.request import PositionRequest, build_spec
from tests.fakes.calc_run import run_error, run_json

# ----------------------------------------------------------------- 1. max-leverage override


def test_hyperliquid_max_leverage_override_defines_the_bracket(capsys: pytest.CaptureFixture[str]) -> None:
    flags = ["--exchange", "hyperliquid", "--symbol", "BTC/USDC:USDC", "--side", "long", "--size", "0.5"]
    flags += ["--entry", "250", "--leverage", "5", "--margin", "25", "--max-leverage", "10"]
    p = run_json(capsys, *flags)["positions"][0]
    assert p["mmr"] == pytest.approx(0.05, rel=1e-15)
    assert p["max_leverage"] == 10
    assert p["maint_amount"] == 0
    # Hyperliquid: liq = (EP - M/Q) / (1 - l), l = 1/(2 x 10)
    assert p["liquidation_price"] == pytest.approx((250 - 25 / 0.5) / (1 - 0.05), rel=1e-12)
    assert p["liquidation_price"] == pytest.approx(210.526315789, rel=1e-9)


def test_hyperliquid_max_leverage_override_in_a_portfolio(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "p.toml"
    path.write_text(
        'exchange = "hyperliquid"\n[[positions]]\nsymbol = "BTC"\nside = "short"\nsize = 2\n'
        "entry_price = 100\nisolated_margin = 40\nmax_leverage = 5\n"
    )
    p = run_json(capsys, "--portfolio", str(path))["positions"][0]
    assert p["mmr"] == pytest.approx(0.1)
    assert p["max_leverage"] == 5
    assert p["liquidation_price"] == pytest.approx((100 + 40 / 2) / (1 + 0.1), rel=1e-12)


def test_max_leverage_override_elsewhere_caps_leverage_and_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--exchange", "binance", "--symbol", "BTCUSDT", "--side", "long", "--size", "0.1", "--entry", "60000"]
    p = run_json(capsys, *base, "--leverage", "20", "--max-leverage", "25")["positions"][0]
    assert p["max_leverage"] == 25
    assert p["mmr"] == 0.004  # the bundled bracket's rate is untouched
    line = run_error(capsys, *base, "--leverage", "30", "--max-leverage", "25")
    assert line.startswith("liqwatch: error: --leverage:") and "25x" in line


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, PositionRequest, float]:
    venue = draw(st.sampled_from(sorted(VENUES)))
    markets = sorted(bundle(VENUES[venue]).markets)
    symbol = draw(st.sampled_from(markets))
    side = draw(st.sampled_from(["long", "short"]))
    entry = draw(st.floats(0.05, 100_000))
    notional = draw(st.floats(10, 3_000_000))
    mark = entry * draw(st.floats(0.8, 1.2))
    leverage = draw(st.floats(1, 20))
    mode = draw(st.sampled_from(["isolated", "cross"]))
    override = draw(st.sampled_from(["none", "mmr", "maint", "max_lev", "mmr+max_lev", "maint+max_lev", "all"]))
    mmr = draw(st.floats(0.001, 0.2)) if "mmr" in override or override == "all" else None
    maint = draw(st.floats(0, 500)) if "maint" in override or override == "all" else None
    max_lev = draw(st.floats(leverage, 150)) if "max_lev" in override or override == "all" else None
    req = PositionRequest(
        symbol=symbol,
        side=side,
        size=notional / entry,
        entry_price=entry,
        mark_price=mark,
        leverage=leverage,
        margin_mode=mode,
        mmr=mmr,
        maint_amount=maint,
        max_leverage=max_lev,
    )
    wallet = draw(st.floats(0, 2_000_000))
    return venue, req, wallet


@settings(max_examples=300)
@given(requests())
def test_reported_bracket_reproduces_the_maintenance_margin(case: tuple[str, PositionRequest, float]) -> None:
    name, req, wallet = case
    venue = VENUES[name]
    try:
        spec = build_spec(venue, req)
        risk = assess(venue, [spec], wallet)
    except InputError:
        assume(False)
        return
    out = position_dict(risk.positions[0], venue)
    json.dumps(out, allow_nan=False)  # every number finite or null (calc --json relies on it)
    at_entry = venue.mm_at_entry_isolated and out["margin_mode"] == "isolated"
    price = out["entry_price"] if at_entry else out["mark_price"]
    recomputed = out["size"] * price * out["mmr"] - out["maint_amount"]
    assert recomputed == pytest.approx(out["maintenance_margin"], rel=1e-12, abs=1e-9)
    value = risk.positions[0].bracket_value
    cap = math.inf if out["tier_cap"] is None else out["tier_cap"]
    assert out["tier_floor"] <= value <= cap
    if req.max_leverage is not None:
        assert out["max_leverage"] == pytest.approx(req.max_leverage)
        if venue.derive_mmr(req.max_leverage) is not None and req.mmr is None:
            assert out["mmr"] == pytest.approx(1 / (2 * req.max_leverage), rel=1e-15)
    if req.mmr is not None:
        assert out["mmr"] == req.mmr


# ----------------------------------------------------------------- 3. tables that end


def test_incomplete_table_refuses_past_its_last_cap(capsys: pytest.CaptureFixture[str]) -> None:
    line = run_error(
        capsys, "--exchange", "gate", "--symbol", "BTC_USDT", "--side", "long", "--size", "30", "--entry", "60000",
        "--leverage", "10",
    )  # fmt: skip
    assert line.startswith("liqwatch: error: --size:")
    assert "1,500,000" in line and "incomplete" in line and "--tiers FILE" in line and "mmr" in line


def test_incomplete_table_answers_inside_its_end(capsys: pytest.CaptureFixture[str]) -> None:
    p = run_json(
        capsys, "--exchange", "gate", "--symbol", "BTC_USDT", "--side", "long", "--size", "20", "--entry", "60000",
        "--leverage", "10",
    )["positions"][0]  # fmt: skip
    assert p["tier"] == 3 and p["tier_cap"] == 1_500_000


@pytest.mark.parametrize(
    "extra",
    [
        ["--add-size", "10"],  # what-if: the added size passes the end
        ["--shock", "30"],  # a shock step moves the value past the end
    ],
)
def test_incomplete_table_refuses_scenarios_past_its_end(capsys: pytest.CaptureFixture[str], extra: list[str]) -> None:
    line = run_error(
        capsys, "--exchange", "gate", "--symbol", "BTC_USDT", "--side", "long", "--size", "20", "--entry", "60000",
        "--leverage", "10", *extra,
    )  # fmt: skip
    assert "incomplete" in line and "1,500,000" in line


def test_incomplete_table_refuses_a_liquidation_price_past_its_end(capsys: pytest.CaptureFixture[str]) -> None:
    # a short of 1.44M: its liquidation price lies above 62,500, where the value passes 1.5M
    line = run_error(
        capsys, "--exchange", "gate", "--symbol", "BTC_USDT", "--side", "short", "--size", "24", "--entry", "60000",
        "--leverage", "10",
    )  # fmt: skip
    assert "at the liquidation price" in line and "incomplete" in line


def test_a_table_given_by_the_user_answers_past_the_bundled_end(capsys: pytest.CaptureFixture[str]) -> None:
    p = run_json(
        capsys, "--exchange", "gate", "--symbol", "BTC_USDT", "--side", "long", "--size", "30", "--entry", "60000",
        "--leverage", "10", "--mmr", "0.005",
    )["positions"][0]  # fmt: skip
    assert p["mmr"] == 0.005 and p["tiers_source"] == "override" and p["tiers_source_detail"] == "override"


def test_complete_table_refuses_above_the_venue_maximum(capsys: pytest.CaptureFixture[str]) -> None:
    line = run_error(
        capsys, "--exchange", "binance", "--symbol", "BTCUSDT", "--side", "long", "--size", "40000", "--entry",
        "60000", "--leverage", "1",
    )  # fmt: skip
    assert "above binance's maximum position" in line and "1,800,000,000" in line


def test_binance_cap_is_exclusive_and_bybit_cap_inclusive() -> None:
    b = bundle(VENUES["binance"]).markets["BTC/USDT:USDT"].table
    assert b.beyond(b.limit) and not b.beyond(math.nextafter(b.limit, 0))
    y = bundle(VENUES["bybit"]).markets["BTC/USDT:USDT"].table
    assert not y.beyond(y.limit) and y.beyond(math.nextafter(y.limit, math.inf))
    assert not y.complete and b.complete


@pytest.mark.parametrize(
    ("exchange", "symbol"),
    [
        ("binance", "BTC/USD:BTC"),
        ("binance", "BTCUSD_PERP"),
        ("bybit", "BTCUSD"),
        ("okx", "BTC-USD-SWAP"),
        ("gate", "BTC_USD"),
        ("bitget", "ETH/USD:ETH"),
    ],
)
def test_coin_margined_symbols_are_inverse_markets(
    capsys: pytest.CaptureFixture[str], exchange: str, symbol: str
) -> None:
    """Once refused, coin-margined symbols now resolve to the inverse market (issue #12): size in
    USD (100: a whole number of contracts on every venue), value and margin in the coin
    (tests/cli/test_inverse_calc.py covers them in depth)."""
    data = run_json(
        capsys, "--exchange", exchange, "--symbol", symbol, "--side", "long", "--size", "100", "--entry", "60000",
        "--leverage", "10", "--mmr", "0.005",
    )  # fmt: skip
    (pos,) = data["positions"]
    coin = pos["symbol"].split("/")[0]
    assert pos["inverse"] is True and pos["symbol"] == f"{coin}/USD:{coin}" and pos["settle"] == coin
    assert pos["notional"] == pytest.approx(100 / 60000) and pos["isolated_margin"] == pytest.approx(100 / 600000)


def test_hyperliquid_refuses_coin_margined_symbols(capsys: pytest.CaptureFixture[str]) -> None:
    line = run_error(
        capsys, "--exchange", "hyperliquid", "--symbol", "BTC/USD:BTC", "--side", "long", "--size", "1",
        "--entry", "60000", "--leverage", "10", "--mmr", "0.005",
    )  # fmt: skip
    assert line.startswith("liqwatch: error: --symbol:") and "coin-margined (inverse)" in line


# ----------------------------------------------------------------- 4. impossible accounts


def _portfolio(tmp_path: Path, exchange: str, rows: list[str]) -> Path:
    path = tmp_path / "p.toml"
    body = "".join(f"[[positions]]\n{row}\n" for row in rows)
    path.write_text(f'exchange = "{exchange}"\nwallet_balance = 10000\n{body}')
    return path


ONE = 'symbol = "BTCUSDT"\nside = "long"\nsize = 0.1\nentry_price = 60000\nmargin_mode = "cross"'


@pytest.mark.parametrize(
    ("rows", "expect"),
    [
        ([ONE, 'symbol = "ETHUSDT"\nside = "long"\nsize = 1\nentry_price = 3000\nmargin_mode = "cross"', ONE],
         "positions[0] and positions[2] are both the one-way position of BTC/USDT:USDT"),
        ([ONE, ONE.replace('side = "long"', 'side = "short"').replace("BTCUSDT", "BTC/USDT:USDT")],
         "positions[0] and positions[1] are both the one-way position"),
        ([ONE + '\nposition_side = "long"',
          ONE.replace('"cross"', '"isolated"') + '\nposition_side = "long"\nleverage = 5'],
         "are both the long hedge leg"),
        ([ONE, ONE.replace('side = "long"', 'side = "short"') + '\nposition_side = "short"'],
         "mix one-way and hedge-mode positions"),
    ],
)  # fmt: skip
def test_impossible_accounts_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], rows: list[str], expect: str
) -> None:
    line = run_error(capsys, "--portfolio", str(_portfolio(tmp_path, "binance", rows)))
    assert expect in line


def test_hedge_legs_and_okx_margin_modes_are_accepted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    legs = [ONE + '\nposition_side = "long"', ONE.replace('"long"', '"short"') + '\nposition_side = "short"']
    assert len(run_json(capsys, "--portfolio", str(_portfolio(tmp_path, "binance", legs)))["positions"]) == 2
    okx = [ONE.replace("BTCUSDT", "BTC-USDT-SWAP"), ONE.replace("BTCUSDT", "BTC-USDT-SWAP").replace(
        'margin_mode = "cross"', 'margin_mode = "isolated"\nleverage = 10')]  # fmt: skip
    assert len(run_json(capsys, "--portfolio", str(_portfolio(tmp_path, "okx", okx)))["positions"]) == 2
    with pytest.raises(InputError):
        check_account(
            [build_spec(VENUES["binance"], PositionRequest("BTCUSDT", "long", 1, 100, 5))] * 2, VENUES["binance"]
        )


def test_ten_thousand_duplicates_are_refused_at_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    symbols = ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
    doc = {
        "exchange": "binance",
        "wallet_balance": 1e6,
        "positions": [
            {"symbol": symbols[i % 3], "side": "long", "size": 0.001, "entry_price": 100, "margin_mode": "cross"}
            for i in range(10_000)
        ],
    }
    path = tmp_path / "big.json"
    path.write_text(json.dumps(doc))
    line = run_error(capsys, "--portfolio", str(path))
    assert "positions[0] and positions[3]" in line


def test_live_position_past_a_bundled_table_is_not_priced() -> None:
    """Live mode falls back to a bundled table when the venue's could not be fetched: a position
    past that table's end shows no numbers and says why, instead of crashing or guessing."""
    from liqwatch.feeds.events import Balance, PositionData, Positions
    from liqwatch.state import State

    state = State(lambda: 1000.0)
    big = PositionData(symbol="BTC/USDT:USDT", side="long", size=30, entry_price=60000, margin_mode="cross")
    small = PositionData(symbol="BTC/USDT:USDT", side="long", size=1, entry_price=60000, margin_mode="cross")
    state.apply(Balance(account="a", exchange="gate", ts=1.0, wallet_balance=100_000))
    state.apply(Positions(account="a", exchange="gate", ts=1.0, positions=[big]))
    view = state.snapshot().positions[0]
    assert view.risk is None
    assert view.note.startswith("risk not computed:") and "incomplete" in view.note
    state.apply(Positions(account="a", exchange="gate", ts=2.0, positions=[small]))
    assert state.snapshot().positions[0].risk is not None
