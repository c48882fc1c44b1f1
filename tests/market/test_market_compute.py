"""Pure market computations: worked values and hypothesis properties."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from liqwatch.market.compute import (
    DAY,
    HOUR,
    change,
    divergence,
    drawdown,
    drawdown_adl_level,
    drawdown_from_max,
)

balances = st.floats(min_value=0.0, max_value=1e12, allow_nan=False)


def test_divergence() -> None:
    assert divergence(101.0, 100.0) == pytest.approx(0.01)
    assert divergence(99.5, 100.0) == pytest.approx(-0.005)
    assert divergence(None, 100.0) is None and divergence(100.0, 0.0) is None


def test_bybit_rules_from_the_doc() -> None:
    # WS example rows (backstop.md §2.2)
    assert drawdown_adl_level(-5421.30, 0.0, -0.3, 10_000)[0] == "active"  # FWOGUSDT: balance <= 0
    assert drawdown_adl_level(19873.46, 0.000174, -0.3, 10_000)[0] == "none"  # ZORAUSDT
    # scenario 1: a 1M pool, A loses 350K -> pnlRatio -0.35 < -0.30
    assert drawdown_adl_level(1_000_000, -0.35, -0.3, 10_000)[0] == "active"
    assert drawdown_adl_level(1_000_000, -0.26, -0.3, 10_000)[0] == "near"  # within 0.05
    assert drawdown_adl_level(1_000_000, -0.24, -0.3, 10_000)[0] == "none"
    # below the trigger but the pool under adlTriggerThreshold: no drawdown ADL, still near
    assert drawdown_adl_level(5_000, -0.35, -0.3, 10_000)[0] == "near"


def test_change_and_drawdown_worked() -> None:
    samples = [(0.0, 100.0), (DAY, 110.0), (2 * DAY, 99.0)]
    assert change(samples, 2 * DAY, DAY) == pytest.approx(-0.1)
    assert change(samples, 2 * DAY, 7 * DAY) is None  # the history does not reach back a week
    assert drawdown_from_max([(0.0, 10.0), (HOUR, 8.0)], HOUR) == pytest.approx(0.2)
    assert drawdown_from_max([(0.0, 10.0), (9 * HOUR, 8.0)], 9 * HOUR) == 0.0  # the 10 is older than 8 h
    assert drawdown(8.5, 10.0) == pytest.approx(0.15)


@given(st.lists(balances, min_size=1, max_size=40), st.floats(min_value=0, max_value=8 * HOUR))
def test_drawdown_between_0_and_1(values: list[float], span: float) -> None:
    now = 8 * HOUR
    samples = [(now - span + i * span / len(values), v) for i, v in enumerate(values)]
    dd = drawdown_from_max(samples, now)
    if dd is not None:
        assert 0.0 <= dd <= 1.0
        peak = max(v for _, v in samples)
        assert math.isclose(values[-1], peak * (1 - dd), rel_tol=1e-9, abs_tol=1e-9 * peak)


@given(st.floats(min_value=1e-3, max_value=1e12), balances, st.floats(min_value=HOUR, max_value=7 * DAY))
def test_change_consistent(then: float, latest: float, window: float) -> None:
    now = 10 * DAY
    c = change([(now - window, then), (now, latest)], now, window)
    assert c is not None
    assert math.isclose(then * (1 + c), latest, rel_tol=1e-9, abs_tol=1e-9 * then)
    assert c >= -1.0


@given(st.floats(min_value=-1e9, max_value=1e12, allow_nan=False), st.floats(min_value=1e-6, max_value=1e12))
def test_drawdown_against_a_venue_max(balance: float, peak: float) -> None:
    dd = drawdown(balance, peak)
    assert dd is not None and 0.0 <= dd <= 1.0


def test_pool_of_a_position() -> None:
    from liqwatch.market.model import InsurancePool, MarketReport

    def pool(name: str, symbols: list[str]) -> InsurancePool:
        return InsurancePool(pool=name, asset="USDT", symbols=symbols, balance=1.0, source="t")

    binance = MarketReport(
        exchange="x",
        ts=0.0,
        insurance=[pool("pool ETHUSDT", ["ETHUSDT"]), pool("pool BTCUSDT", ["BTCUSDT", "BTCUSDC"])],
    )
    assert binance.pool_of("BTC/USDT:USDT") is binance.insurance[1]
    assert binance.pool_of("SOL/USDT:USDT") is None
    okx = MarketReport(exchange="x", ts=0.0, insurance=[pool("BTC-USDT", [])])
    assert okx.pool_of("BTC/USDT:USDT") is okx.insurance[0]
    gate = MarketReport(exchange="x", ts=0.0, insurance=[pool("USDT futures", [])])
    assert gate.pool_of("ETH/USDT:USDT") is gate.insurance[0]
