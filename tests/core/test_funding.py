"""Funding payments and the liquidation price they move (liqwatch.core.funding)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from liqwatch.core import PositionSpec, assess, flat_table, get_venue
from liqwatch.core.funding import FundingDrift, funding_payment, liquidation_prices_after


def spec(
    side: str = "long",
    size: float = 1.0,
    entry: float = 20_000.0,
    mark: float | None = None,
    margin: float | None = 1_000.0,
    mode: str = "isolated",
    mmr: float = 0.005,
    symbol: str = "BTC/USDT:USDT",
    inverse: bool = False,
) -> PositionSpec:
    return PositionSpec(
        symbol,
        side,  # type: ignore[arg-type]
        size,
        entry,
        mark if mark is not None else entry,
        flat_table(mmr, 0.0, 100.0),
        mode,  # type: ignore[arg-type]
        "both",
        None,
        margin if mode == "isolated" else None,
        inverse=inverse,
        settle="BTC" if inverse else None,
    )


def only(drifts: list[FundingDrift | None]) -> FundingDrift:
    assert drifts[0] is not None
    return drifts[0]


def test_payment_sign_and_size() -> None:
    # positive rate: the long pays rate x value at the mark, the short receives it
    assert funding_payment(spec("long", 2.0, mark=30_000.0), 0.0001) == pytest.approx(-6.0)
    assert funding_payment(spec("short", 2.0, mark=30_000.0), 0.0001) == pytest.approx(6.0)
    assert funding_payment(spec("long", 2.0, mark=30_000.0), -0.0001) == pytest.approx(6.0)
    # inverse: rate x Q / mark in coin: 0.0001 x 10,000 USD / 25,000 = 0.00004 BTC
    inv = spec("long", 10_000.0, 25_000.0, margin=0.02, symbol="BTC/USD:BTC", inverse=True)
    assert funding_payment(inv, 0.0001) == pytest.approx(-0.00004)


def test_bybit_isolated_moves_by_rate_times_mark_per_payment() -> None:
    # Bybit isolated: LP = EP - s (M - MM_entry) / Q. Each payment takes rate x Q x mark from M, so the
    # long's LP rises by rate x mark = 0.0001 x 20,000 = 2 per payment: 19,700 -> 19,702, 19,704, 19,706
    s = spec("long", 1.0, 20_000.0, margin=400.0)
    drift = only(liquidation_prices_after(get_venue("bybit"), [s], 0.0, [0.0001], 3))
    assert drift.payment == pytest.approx(-2.0)
    assert drift.liquidation_price_after == pytest.approx([19_702.0, 19_704.0, 19_706.0], rel=1e-12)


def test_binance_isolated_matches_the_closed_form() -> None:
    # LP = (EP - M/Q) / (1 - MMR) with M reduced by 2 per payment (long, rate 0.0001, mark 20,000)
    s = spec("long", 1.0, 20_000.0, margin=400.0, mmr=0.004)
    drift = only(liquidation_prices_after(get_venue("binance"), [s], 0.0, [0.0001], 3))
    expected = [(20_000.0 - (400.0 - 2.0 * k)) / 0.996 for k in (1, 2, 3)]
    assert drift.liquidation_price_after == pytest.approx(expected, rel=1e-12)


def test_cross_pays_from_the_wallet_and_moves_every_cross_position() -> None:
    v = get_venue("binance")
    btc = spec("long", 1.0, 20_000.0, mode="cross", mmr=0.004)
    eth = spec("short", 10.0, 2_000.0, mode="cross", symbol="ETH/USDT:USDT")
    drifts = liquidation_prices_after(v, [btc, eth], 5_000.0, [0.001, None], 2)
    assert drifts[1] is None
    # BTC pays 0.001 x 20,000 = 20 a payment out of the wallet: the account after 2 payments is the
    # account with a wallet of 5,000 - 40
    after_two = assess(v, [btc, eth], 5_000.0 - 40.0).positions[0].liquidation_price
    assert only(drifts).liquidation_price_after[1] == pytest.approx(after_two, rel=1e-12)


def test_isolated_margin_used_up_gives_none() -> None:
    s = spec("long", 1.0, 20_000.0, margin=50.0, mmr=0.001)
    drift = only(liquidation_prices_after(get_venue("binance"), [s], 0.0, [0.001], 3))  # 20 per payment
    assert drift.liquidation_price_after[:2] != [None, None] and drift.liquidation_price_after[2] is None


def test_inverse_cross_pool_wallet() -> None:
    # a BTC-margined cross short: the BTC wallet receives rate x Q / mark per payment (positive rate)
    v = get_venue("binance")
    inv = spec("short", 10_000.0, 25_000.0, margin=None, mode="cross", symbol="BTC/USD:BTC", inverse=True)
    drift = only(liquidation_prices_after(v, [inv], {"BTC": 0.05}, [0.0001], 2))
    assert drift.payment == pytest.approx(0.00004)
    after = assess(v, [inv], {"BTC": 0.05 + 2 * 0.00004}).positions[0].liquidation_price
    assert drift.liquidation_price_after[1] == pytest.approx(after, rel=1e-12)


@settings(max_examples=200, deadline=None)
@given(
    venue=st.sampled_from(["binance", "bybit", "okx", "gate", "bitget"]),
    side=st.sampled_from(["long", "short"]),
    rate=st.floats(-0.003, 0.003).filter(lambda r: abs(r) > 1e-7),
    leverage=st.floats(2.0, 50.0),
    mode=st.sampled_from(["isolated", "cross"]),
    inverse=st.booleans(),
)
def test_drift_is_monotone_in_the_sign_of_the_rate(
    venue: str, side: str, rate: float, leverage: float, mode: str, inverse: bool
) -> None:
    entry, size = (25_000.0, 10_000.0) if inverse else (2_000.0, 3.0)
    collateral = (size / entry if inverse else size * entry) / leverage
    s = spec(
        side,
        size,
        entry,
        margin=collateral,
        mode=mode,
        symbol="BTC/USD:BTC" if inverse else "ETH/USDT:USDT",
        inverse=inverse,
    )
    v = get_venue(venue)
    wallet = {"BTC": collateral} if inverse else collateral
    now = assess(v, [s], wallet).positions[0].liquidation_price
    assume(now is not None)
    drift = only(liquidation_prices_after(v, [s], wallet, [rate], 5))
    path = [now, *drift.liquidation_price_after]
    assume(all(x is not None for x in path))
    pays = drift.payment < 0
    # paying moves the liquidation price toward the mark (a long's up, a short's down); receiving away
    up = (side == "long") == pays
    for a, b in itertools.pairwise(path):
        assert a is not None and b is not None
        assert (b > a) if up else (b < a)


_BRACKETS = [
    {"min": 0, "max": 5_000, "mmr": 0.01, "max_leverage": 50},
    {"min": 5_000, "max": 50_000, "mmr": 0.02, "max_leverage": 25},
    {"min": 50_000, "max": 500_000, "mmr": 0.05, "max_leverage": 10},
]


@settings(max_examples=300, deadline=None)
@given(
    venue_name=st.sampled_from(["binance", "bybit", "okx", "bitget", "gate", "hyperliquid"]),
    rows=st.lists(
        st.tuples(
            st.sampled_from(["long", "short"]),
            st.floats(0.05, 20.0),  # size (a multiple of 1,000 USD face for an inverse position)
            st.floats(0.7, 1.3),  # mark / entry
            st.sampled_from(["isolated", "cross"]),
            st.floats(0.02, 0.6),  # isolated margin / value at entry
            st.sampled_from(["BTC", "ETH", "SOL"]),
            st.booleans(),  # inverse (where the venue lists inverse markets)
            st.one_of(st.none(), st.floats(-0.02, 0.02)),  # the funding rate
        ),
        min_size=1,
        max_size=6,
    ),
    wallet=st.floats(0.0, 60_000.0),
    mapping=st.booleans(),
    complete=st.booleans(),
)
def test_the_drift_from_the_snapshots_solved_pools_is_the_drift_from_scratch(
    venue_name: str,
    rows: list[tuple[str, float, float, str, float, str, bool, float | None]],
    wallet: float,
    mapping: bool,
    complete: bool,
) -> None:
    """`liqwatch watch` re-solves the funding drift from the pools its snapshot solved: every price
    (and every refusal) is the one assessing the whole account again for each payment gives."""
    from liqwatch.core.engine import assess_solved
    from liqwatch.core.errors import InputError
    from liqwatch.core.tiers import build_table

    venue = get_venue(venue_name)
    table = build_table(_BRACKETS, complete=complete)
    specs: list[PositionSpec] = []
    seen: set[str] = set()
    for side, size, move, mode, share, coin, wants_inverse, _ in rows:
        inverse = wants_inverse and venue.supports_inverse
        symbol = f"{coin}/USD:{coin}" if inverse else f"{coin}/USDT:USDT"
        if symbol in seen:  # one-way: one position per symbol
            continue
        seen.add(symbol)
        entry = {"BTC": 20_000.0, "ETH": 1_500.0, "SOL": 40.0}[coin]
        q = size * 1_000.0 if inverse else size * 100_000.0 / entry / 10
        value = q / entry if inverse else q * entry
        specs.append(
            PositionSpec(
                symbol,
                side,  # type: ignore[arg-type]
                q,
                entry,
                entry * move,
                table,
                mode,  # type: ignore[arg-type]
                isolated_margin=value * share if mode == "isolated" else None,
                fee_rate=venue.default_fee_rate,
                inverse=inverse,
                settle=coin if inverse else None,
            )
        )
    rates = [r[7] for r in rows[: len(specs)]]
    pools = {"USDT": wallet, **{s.settle: wallet / 20_000.0 for s in specs if s.settle}}
    given_wallet: float | dict[str, float] = pools if mapping or len(pools) > 1 else wallet
    try:
        _, solved = assess_solved(venue, specs, given_wallet)
    except InputError:
        return  # the snapshot refuses: no risk, no projection
    try:
        scratch: list[FundingDrift | None] | str = liquidation_prices_after(venue, specs, given_wallet, rates, 3)
    except InputError as exc:
        scratch = exc.message
    try:
        reused: list[FundingDrift | None] | str = liquidation_prices_after(venue, specs, given_wallet, rates, 3, solved)
    except InputError as exc:
        reused = exc.message
    assert repr(reused) == repr(scratch)  # repr: None, NaN and -0.0 compared as written
