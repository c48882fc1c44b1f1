"""What a full liquidation costs (liqwatch.core.loss): per-venue worked examples built from each
venue's rule in backstop.md §3.1 (the arithmetic is in the comments), and properties of the model."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from liqwatch.core import PositionSpec, assess, flat_table, get_venue
from liqwatch.core.loss import UNKNOWN_RATE, LiquidationLoss, liquidation_loss, worst_fill
from liqwatch.core.model import PositionRisk

APPROX = 1e-9


def risk_of(
    venue: str,
    side: str,
    size: float,
    entry: float,
    margin: float,
    mmr: float,
    *,
    fee_rate: float | None = None,
    mark: float | None = None,
    max_leverage: float = 125.0,
    symbol: str = "BTC/USDT:USDT",
    inverse: bool = False,
) -> PositionRisk:
    v = get_venue(venue)
    spec = PositionSpec(
        symbol,
        side,  # type: ignore[arg-type]
        size,
        entry,
        mark if mark is not None else entry,
        flat_table(mmr, 0.0, max_leverage),
        "isolated",
        "both",
        None,
        margin,
        v.default_fee_rate if fee_rate is None else fee_rate,
        inverse=inverse,
        settle="BTC" if inverse else None,
    )
    return assess(v, [spec]).positions[0]


def loss_of(p: PositionRisk, venue: str, rate: float | None = None) -> LiquidationLoss:
    found = liquidation_loss(p, get_venue(venue), rate)
    assert isinstance(found, LiquidationLoss), found
    return found


# ------------------------------------------------------------------ Binance: clearance fee


def test_binance_backstop_worked_check_fee_takes_all_that_is_left() -> None:
    # backstop.md §3.1 worked check: isolated long 1 BTC @ 20,000, M = 400 (50x), MMR 0.4 %, cum 0
    # LP = (400 + 0 - 20,000) / (1 x (0.004 - 1)) = 19,678.71; E_LP = 0.004 x 19,678.71 = 78.71
    # fee 1.25 % x 19,678.71 = 245.98 > 78.71, so the fee is capped at 78.71 and Z = 0
    p = risk_of("binance", "long", 1.0, 20_000.0, 400.0, 0.004)
    loss = loss_of(p, "binance", 0.0125)
    assert loss.model == "clearance_fee" and loss.currency == "USDT" and loss.fee_rate == 0.0125
    best = loss.best
    assert best.fill_price == pytest.approx(19_678.714859, rel=APPROX)
    assert best.equity_at_fill == pytest.approx(78.714859, rel=1e-7)
    assert best.fee == pytest.approx(78.714859, rel=1e-7)
    assert best.to_insurance_fund == pytest.approx(0.0, abs=1e-9)
    assert best.returned == 0.0 and best.loss == pytest.approx(400.0, rel=APPROX)
    # worst: filled at BP = 20,000 - 400 = 19,600, nothing left for a fee
    worst = loss.worst
    assert worst.fill_price == pytest.approx(19_600.0, rel=APPROX)
    assert (worst.fee, worst.to_insurance_fund, worst.returned) == (0.0, 0.0, 0.0)
    assert worst.loss == pytest.approx(400.0, rel=APPROX)
    assert loss.partial is False and loss.note == ""


def test_binance_fee_below_the_equity_left_passes_the_rest_to_the_fund() -> None:
    # long 1 @ 20,000, margin 2,000, MMR 5 %: LP = (20,000 - 2,000) / (1 - 0.05) = 18,947.368
    # E_LP = 0.05 x 18,947.368 = 947.368; fee = 1.25 % x 18,947.368 = 236.842; up to 710.526 to the fund
    p = risk_of("binance", "long", 1.0, 20_000.0, 2_000.0, 0.05, max_leverage=10.0)
    best = loss_of(p, "binance", 0.0125).best
    assert best.fill_price == pytest.approx(18_947.368421, rel=1e-9)
    assert best.fee == pytest.approx(236.842105, rel=1e-8)
    assert best.to_insurance_fund == pytest.approx(710.526316, rel=1e-8)
    assert best.returned == 0.0 and best.loss == pytest.approx(2_000.0, rel=APPROX)


def test_binance_unknown_rate_leaves_the_split_open_and_says_so() -> None:
    p = risk_of("binance", "short", 2.0, 3_000.0, 300.0, 0.005, symbol="ETH/USDT:USDT")
    loss = loss_of(p, "binance", None)
    # short LP = (3,000 + 300/2) / (1 + 0.005) = 3,134.328; the position's 300 is lost either way
    assert loss.best.fill_price == pytest.approx(3_150.0 / 1.005, rel=APPROX)
    assert loss.best.fee is None and loss.best.to_insurance_fund is None
    assert loss.best.loss == pytest.approx(300.0, rel=APPROX) and loss.fee_rate is None
    assert UNKNOWN_RATE in loss.note
    # at the bankruptcy price nothing is left: no fee whatever the rate
    assert (loss.worst.fee, loss.worst.to_insurance_fund) == (0.0, 0.0)


# ------------------------------------------------------------------ Bybit: closed at the bankruptcy price


def test_bybit_closes_at_bankruptcy_and_the_excess_goes_to_the_fund() -> None:
    # Bybit help example: long 1 BTC @ 20,000, 50x, MMR 0.5 %: IM 400, MM 100 (at entry), LP 19,700
    # BP = 20,000 - 400 = 19,600; a fill at LP leaves 400 - 300 = 100 that goes to the fund
    p = risk_of("bybit", "long", 1.0, 20_000.0, 400.0, 0.005)
    loss = loss_of(p, "bybit")
    assert loss.model == "bankruptcy_close" and loss.fee_rate is None
    assert loss.best.fill_price == pytest.approx(19_700.0, rel=APPROX)
    assert loss.best.fee == 0.0 and loss.best.to_insurance_fund == pytest.approx(100.0, rel=1e-9)
    assert loss.best.returned == 0.0 and loss.best.loss == pytest.approx(400.0, rel=APPROX)
    assert loss.worst.fill_price == pytest.approx(19_600.0, rel=APPROX)
    assert loss.worst.to_insurance_fund == 0.0 and loss.worst.loss == pytest.approx(400.0, rel=APPROX)


# ------------------------------------------------------------------ OKX / Gate / Bitget: taker fee


def test_okx_taker_fee_at_the_fill_and_the_rest_to_the_fund() -> None:
    # short 0.5 @ 60,000, margin 1,500, MMR 0.4 %, taker 0.05 %:
    # LP = (60,000 + 1,500/0.5) / (1 + 0.004 + 0.0005) = 63,000 / 1.0045 = 62,717.770
    # fee = 0.0005 x 0.5 x 62,717.770 = 15.679; E_LP = 0.0045 x 0.5 x LP = 141.115; fund = 125.436
    # worst: the bankruptcy price with the fee, 63,000 / 1.0005 = 62,968.516: fee 15.742, fund 0
    p = risk_of("okx", "short", 0.5, 60_000.0, 1_500.0, 0.004)
    loss = loss_of(p, "okx")
    lp = 63_000.0 / 1.0045
    assert loss.model == "taker_fee" and loss.fee_rate == 0.0005
    assert loss.best.fill_price == pytest.approx(lp, rel=APPROX)
    assert loss.best.fee == pytest.approx(0.0005 * 0.5 * lp, rel=1e-9)
    assert loss.best.to_insurance_fund == pytest.approx(0.004 * 0.5 * lp, rel=1e-8)
    bp = 63_000.0 / 1.0005
    assert loss.worst.fill_price == pytest.approx(bp, rel=APPROX)
    assert loss.worst.fee == pytest.approx(0.0005 * 0.5 * bp, rel=1e-9)
    assert loss.worst.to_insurance_fund == 0.0 and loss.worst.returned == 0.0
    assert loss.best.loss == pytest.approx(1_500.0, rel=APPROX) == loss.worst.loss


def test_gate_bankruptcy_price_includes_the_taker_fee() -> None:
    # Gate help 22081: the liquidation order goes at the bankruptcy price, which includes the taker
    # fee. Long 1 @ 11,000 with margin 1,007.5 and taker 0.075 %: BP = (11,000 - 1,007.5) / (1 - 0.00075)
    # = 10,000 exactly; the user loses all the margin
    p = risk_of("gate", "long", 1.0, 11_000.0, 1_007.5, 0.005, max_leverage=100.0)
    venue = get_venue("gate")
    assert worst_fill("taker_fee", p, 0.00075) == pytest.approx(10_000.0, rel=1e-12)
    loss = loss_of(p, "gate")
    assert loss.worst.fee == pytest.approx(7.5, rel=1e-9)  # 0.075 % of 10,000
    assert loss.worst.loss == pytest.approx(1_007.5, rel=APPROX)
    # at LP = (11,000 - 1,007.5) / (1 - 0.00575) = 10,050.29: fee 0.075 % of it, MM 0.5 % of it to the fund
    lp = 9_992.5 / (1 - 0.00575)
    assert loss.best.fill_price == pytest.approx(lp, rel=APPROX)
    assert loss.best.to_insurance_fund == pytest.approx(0.005 * lp, rel=1e-8)
    assert venue.liquidation_loss_model == "taker_fee"


def test_bitget_taker_fee() -> None:
    # long 2 @ 3,000, margin 600, MMR 1 %, taker 0.06 %: LP = (3,000 - 300) / (1 - 0.0106) = 2,728.93
    p = risk_of("bitget", "long", 2.0, 3_000.0, 600.0, 0.01, symbol="ETH/USDT:USDT", max_leverage=50.0)
    loss = loss_of(p, "bitget")
    lp = 2_700.0 / 0.9894
    assert loss.best.fill_price == pytest.approx(lp, rel=APPROX)
    assert loss.best.fee == pytest.approx(0.0006 * 2 * lp, rel=1e-9)
    assert loss.best.to_insurance_fund == pytest.approx(0.01 * 2 * lp, rel=1e-8)


# ------------------------------------------------------------------ Hyperliquid: what is left comes back


def test_hyperliquid_returns_what_is_left() -> None:
    # long 1 BTC @ 20,000, margin 1,000, max leverage 40: MMR = 1 / (2 x 40) = 1.25 %
    # LP = (20,000 - 1,000) / (1 - 0.0125) = 19,240.506; returned = 0.0125 x LP = 240.506; loss 759.494
    p = risk_of("hyperliquid", "long", 1.0, 20_000.0, 1_000.0, 0.0125, symbol="BTC/USDC:USDC", max_leverage=40.0)
    loss = loss_of(p, "hyperliquid")
    lp = 19_000.0 / 0.9875
    assert loss.currency == "USDC" and loss.model == "remainder_returned"
    assert loss.best.returned == pytest.approx(0.0125 * lp, rel=1e-8)
    assert loss.best.loss == pytest.approx(1_000.0 - 0.0125 * lp, rel=1e-9)
    assert (loss.best.fee, loss.best.to_insurance_fund) == (0.0, 0.0)
    assert loss.worst.returned == 0.0 and loss.worst.loss == pytest.approx(1_000.0, rel=APPROX)
    assert loss.partial is False  # 19,240 USDC: under the 100,000 of the 20 % slices


def test_partial_liquidation_makes_it_a_worst_case() -> None:
    # 10 BTC on Hyperliquid: about 192,000 USDC at the liquidation price, over 100,000: 20 % slices
    p = risk_of("hyperliquid", "long", 10.0, 20_000.0, 10_000.0, 0.0125, symbol="BTC/USDC:USDC", max_leverage=40.0)
    loss = loss_of(p, "hyperliquid")
    assert loss.partial is True and loss.note.startswith("full-liquidation worst case")


def test_no_liquidation_price_no_figure() -> None:
    # a 1x long: its collateral covers a fall to zero
    p = risk_of("binance", "long", 1.0, 100.0, 100.0, 0.004)
    assert p.liquidation_price is None
    assert isinstance(liquidation_loss(p, get_venue("binance"), 0.0125), str)


# ------------------------------------------------------------------ cross and inverse


def test_cross_other_positions_requirement_stays_in_the_account() -> None:
    # Binance cross, wallet 1,000: BTC long 1 @ 20,000 (MMR 0.4 %) and ETH short 1 @ 2,000 (MMR 0.5 %)
    v = get_venue("binance")
    btc = PositionSpec("BTC/USDT:USDT", "long", 1.0, 20_000.0, 20_000.0, flat_table(0.004, 0.0, 125.0), "cross")
    eth = PositionSpec("ETH/USDT:USDT", "short", 1.0, 2_000.0, 2_000.0, flat_table(0.005, 0.0, 100.0), "cross")
    risk = assess(v, [btc, eth], 1_000.0)
    p = risk.positions[0]
    loss = loss_of(p, "binance", 0.0125)
    # at the BTC LP the account equity = BTC's MM at LP + ETH's MM (10): ETH's 10 stays in the account
    lp = p.liquidation_price
    assert lp is not None
    assert loss.best.returned == pytest.approx(10.0, rel=1e-9)
    assert loss.best.equity_at_fill == pytest.approx(0.004 * lp + 10.0, rel=1e-9)
    assert loss.best.fee == pytest.approx(0.004 * lp, rel=1e-8)  # the 1.25 % fee is capped
    # loss + returned = the collateral behind it before uPnL (wallet; ETH's uPnL is 0)
    assert loss.best.loss + loss.best.returned == pytest.approx(1_000.0, rel=1e-9)
    assert loss.worst.returned == 0.0 and loss.worst.loss == pytest.approx(1_000.0, rel=1e-9)


def test_inverse_long_in_coin() -> None:
    # Binance COIN-M style: 100 contracts x 100 USD = Q 10,000 USD, EP 25,000, 20x: M = Q/(EP x 20) = 0.02 BTC
    # LP = Q (1 + MMR) / (M + Q/EP) = 10,040 / 0.42 = 23,904.762; BP = Q / (Q/EP + M) = 23,809.524
    # E_LP = MMR x Q / LP = 0.004 x 0.418327 = 0.00167331 BTC; fee 1.25 % x Q/LP = 0.00523 BTC > E_LP: capped
    p = risk_of("binance", "long", 10_000.0, 25_000.0, 0.02, 0.004, symbol="BTC/USD:BTC", inverse=True)
    loss = loss_of(p, "binance", 0.0125)
    assert loss.currency == "BTC"
    assert loss.best.fill_price == pytest.approx(10_040.0 / 0.42, rel=1e-12)
    assert loss.best.fee == pytest.approx(0.004 * 0.42 / 1.004, rel=1e-9)
    assert loss.best.loss == pytest.approx(0.02, rel=1e-9) and loss.best.returned == 0.0
    assert loss.worst.fill_price == pytest.approx(10_000.0 / 0.42, rel=1e-12)
    assert loss.worst.loss == pytest.approx(0.02, rel=1e-9)


def test_inverse_short_taker_fee_bankruptcy() -> None:
    # OKX coin-margined short: Q 1,000 USD @ 50,000, M = 0.002 BTC (10x), taker 0.05 %, MMR 0.5 %
    # BP with the fee: Q (s + f) / (M + s Q/EP) with s = -1: 1,000 x (-0.9995) / (0.002 - 0.02) = 55,527.78
    p = risk_of("okx", "short", 1_000.0, 50_000.0, 0.002, 0.005, symbol="BTC/USD:BTC", inverse=True)
    loss = loss_of(p, "okx")
    bp = 1_000.0 * 0.9995 / 0.018
    assert loss.worst.fill_price == pytest.approx(bp, rel=1e-12)
    assert loss.worst.fee == pytest.approx(0.0005 * 1_000.0 / bp, rel=1e-9)
    assert loss.worst.loss == pytest.approx(0.002, rel=1e-9)


# ------------------------------------------------------------------ properties

VENUES_LINEAR = ["binance", "bybit", "okx", "gate", "bitget", "hyperliquid"]


@settings(max_examples=300, deadline=None)
@given(
    venue=st.sampled_from(VENUES_LINEAR),
    side=st.sampled_from(["long", "short"]),
    size=st.floats(0.001, 1_000.0),
    entry=st.floats(0.01, 200_000.0),
    leverage=st.floats(1.0, 100.0),
    move=st.floats(-0.3, 0.3),
    mmr=st.floats(0.001, 0.2),
    fee=st.floats(0.0, 0.002),
    clearance=st.one_of(st.none(), st.floats(0.0, 0.05)),
    inverse=st.booleans(),
)
def test_loss_properties(
    venue: str,
    side: str,
    size: float,
    entry: float,
    leverage: float,
    move: float,
    mmr: float,
    fee: float,
    clearance: float | None,
    inverse: bool,
) -> None:
    assume(not (inverse and venue == "hyperliquid"))  # Hyperliquid lists no inverse perpetuals
    margin = (size / entry if inverse else size * entry) / leverage
    assume(margin > 1e-9)
    mark = entry * (1 + move)
    p = risk_of(
        venue,
        side,
        size,
        entry,
        margin,
        mmr,
        fee_rate=fee,
        mark=mark,
        max_leverage=1000.0,
        symbol="BTC/USD:BTC" if inverse else "BTC/USDT:USDT",
        inverse=inverse,
    )
    found = liquidation_loss(p, get_venue(venue), clearance)
    if isinstance(found, str):
        return
    tol = 1e-9 * max(1.0, margin, abs(p.notional), abs(p.unrealized_pnl))
    best, worst = found.best, found.worst
    assert best.loss <= worst.loss + tol  # best <= worst
    assert worst.loss <= margin + tol and best.loss <= margin + tol  # isolated: never more than the margin
    for case in (best, worst):
        assert case.returned >= 0.0
        assert case.fee is None or case.fee >= 0.0
        assert math.isfinite(case.loss)
        # loss + returned is the margin posted (isolated)
        assert case.loss + case.returned == pytest.approx(margin, rel=1e-7, abs=tol)
    assert best.to_insurance_fund is None or best.to_insurance_fund >= -tol
