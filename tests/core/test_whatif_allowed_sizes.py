"""Issue #20 point 7: every "largest size" answer is a size the venue allows at the position's
leverage -- the add-size path accepts that very size, never a bracket floor where the leverage is
not allowed."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liqwatch.core import InputError, get_venue
from liqwatch.core import whatif as wi
from liqwatch.core.model import PositionSpec
from liqwatch.core.venues import Venue
from liqwatch.markets import bundle
from liqwatch.request import PositionRequest, build_spec
from liqwatch.scenarios import SCENARIOS, Context

BTC = {
    "binance": "BTC/USDT:USDT",
    "bybit": "BTC/USDT:USDT",
    "okx": "BTC/USDT:USDT",
    "bitget": "BTC/USDT:USDT",
    "gate": "BTC/USDT:USDT",
    "hyperliquid": "BTC/USDC:USDC",
    "binance-coinm": "BTC/USD:BTC",
}


def position(name: str, tier: int, side: str, entry: float, fill: float, move: float) -> tuple[Venue, PositionSpec]:
    """An isolated BTC position through the calc path (``build_spec``): the leverage is exactly
    the max leverage of one of the table's brackets (the boundaries the bug sat on), the size a
    ``fill`` fraction of the first bracket."""
    venue = get_venue(name.partition("-")[0])
    symbol = BTC[name]
    table = bundle(venue).markets[symbol].table
    tiers = table.tiers
    chosen = tiers[min(tier, len(tiers) - 1)]
    first = tiers[0]
    if table.basis == "quantity" or symbol.endswith(":BTC"):
        size = first.cap * fill  # contracts / base units, or coin notional (converted below)
        if symbol.endswith(":BTC"):
            size = max(1, round(size * entry / 100)) * 100.0  # USD face value: whole 100 USD contracts
        elif table.basis == "quantity":
            size *= 0.01  # OKX BTC-USDT-SWAP: 0.01 BTC a contract
    else:
        size = first.cap * fill / entry
    req = PositionRequest(symbol, side, size, entry, leverage=chosen.max_leverage, mark_price=entry * move)  # type: ignore[arg-type]
    return venue, build_spec(venue, req)


positions = st.builds(
    position,
    st.sampled_from(sorted(BTC)),
    st.integers(0, 12),
    st.sampled_from(["long", "short"]),
    st.floats(1000.0, 150_000.0),
    st.floats(0.01, 0.9),
    st.floats(0.9, 1.1),
)


def test_the_issue_example_binance_10x_is_allowed_at_the_answer() -> None:
    """``--size 1 --entry 95000 --leverage 10``: 10x ends at a bracket cap (Binance: floor <= value <
    cap), so the largest add lands strictly below it, and adding it is allowed."""
    venue = get_venue("binance")
    spec = build_spec(venue, PositionRequest("BTCUSDT", "long", 1.0, 95000.0, leverage=10.0))
    first = wi.add_size(venue, [spec], 0.0, 0, 0.0)
    assert first.max_add_size is not None
    cap = wi.max_value_for_leverage(spec, 10.0)
    assert cap is not None and (1 + first.max_add_size) * 95000.0 < cap
    assert wi.add_size(venue, [spec], 0.0, 0, first.max_add_size).allowed
    size, why = wi.max_add_for_distance(venue, [spec], 0.0, 0, 0.05)
    assert why == "bracket" and size == first.max_add_size
    assert wi.add_size(venue, [spec], 0.0, 0, size).allowed


def test_the_largest_add_stays_within_the_venue_maximum_at_the_mark_and_the_liquidation_price() -> None:
    """1x on Binance is allowed up to the table's end (1.8e9, the maximum position): a long in
    profit (mark above entry) is valued higher at the mark, a short higher at its liquidation
    price; the largest add is accepted by the add-size path in both cases, not refused."""
    venue = get_venue("binance")
    for side, mark in (("long", 66000.0), ("short", 60000.0)):
        req = PositionRequest("BTCUSDT", side, 1.0, 60000.0, leverage=1.0, mark_price=mark)  # type: ignore[arg-type]
        spec = build_spec(venue, req)
        largest = wi.add_size(venue, [spec], 0.0, 0, 0.0).max_add_size
        assert largest is not None and largest > 20_000  # most of the 30,000 BTC the cap allows at entry
        assert wi.add_size(venue, [spec], 0.0, 0, largest).allowed


def test_a_cap_inclusive_bracket_keeps_its_cap() -> None:
    """Bybit brackets are (previous limit, limit]: a value on the limit is still allowed there."""
    venue = get_venue("bybit")
    spec = build_spec(venue, PositionRequest("BTCUSDT", "long", 1.0, 50000.0, leverage=100.0))
    add = wi.add_size(venue, [spec], 0.0, 0, 0.0)
    assert add.max_add_size is not None
    assert (1 + add.max_add_size) * 50000.0 == pytest.approx(2_000_000.0, rel=1e-15)
    assert wi.add_size(venue, [spec], 0.0, 0, add.max_add_size).allowed


@settings(max_examples=150)
@given(positions, st.floats(0.9, 1.1))
def test_max_add_size_is_accepted_by_add_size(account: tuple[Venue, PositionSpec], price_move: float) -> None:
    venue, spec = account
    price = spec.mark_price * price_move
    largest = wi.add_size(venue, [spec], 0.0, 0, 0.0, price).max_add_size
    if largest is None:
        return
    again = wi.add_size(venue, [spec], 0.0, 0, largest, price)  # no refusal either (past a table's end)
    assert again.allowed, (largest, again.reason)


@settings(max_examples=40)
@given(positions, st.floats(0.005, 0.6))
def test_target_distance_answer_is_accepted_by_add_size(account: tuple[Venue, PositionSpec], distance: float) -> None:
    venue, spec = account
    size, _ = wi.max_add_for_distance(venue, [spec], 0.0, 0, distance)
    again = wi.add_size(venue, [spec], 0.0, 0, size)
    assert again.allowed, (size, again.reason)


def test_a_table_whose_leverage_rises_again_limits_the_add_at_the_first_refusing_bracket() -> None:
    """A user table 20x | 10x | 20x: at 20x, sizes in the middle bracket are refused, so the
    largest add is the one that stays below it (not 'no limit' because the last bracket allows 20x)."""
    venue = get_venue("binance")
    rows = [
        {"min_notional": 0, "max_notional": 100_000, "mmr": 0.01, "max_leverage": 20},
        {"min_notional": 100_000, "max_notional": 200_000, "mmr": 0.02, "max_leverage": 10},
        {"min_notional": 200_000, "max_notional": None, "mmr": 0.02, "max_leverage": 20},
    ]
    spec = build_spec(venue, PositionRequest("BTCUSDT", "long", 1.0, 50_000.0, leverage=20.0, tiers=rows))
    add = wi.add_size(venue, [spec], 0.0, 0, 0.0)
    assert add.max_add_size is not None and add.max_add_size == pytest.approx(1.0, rel=1e-12)
    assert (1 + add.max_add_size) * 50_000 < 100_000
    assert wi.add_size(venue, [spec], 0.0, 0, add.max_add_size).allowed
    size, _ = wi.max_add_for_distance(venue, [spec], 0.0, 0, 0.01)
    assert wi.add_size(venue, [spec], 0.0, 0, size).allowed and size <= add.max_add_size


# --- venues that trade whole contracts only (Binance COIN-M: 100 USD a BTC contract): the answers
# are whole contracts, as the what-if scenarios (calc and the dashboard) give them

whole_contract_positions = st.builds(
    position,
    st.just("binance-coinm"),
    st.integers(0, 12),
    st.sampled_from(["long", "short"]),
    st.floats(1000.0, 150_000.0),
    st.floats(0.01, 0.9),
    st.floats(0.9, 1.1),
)


def _whole(size: float, contract: float = 100.0) -> bool:
    return size == round(size / contract) * contract


@settings(max_examples=80)
@given(whole_contract_positions, st.floats(0.9, 1.1))
def test_on_whole_contract_venues_the_largest_add_is_whole_contracts_and_allowed(
    account: tuple[Venue, PositionSpec], price_move: float
) -> None:
    venue, spec = account
    price = spec.mark_price * price_move
    ctx = Context(venue, [spec], 0.0, 0)
    largest = SCENARIOS["add_size"].compute(ctx, {"add_size": 0.0, "add_price": price}).max_add_size
    if largest is None:
        return
    assert _whole(largest), largest
    again = SCENARIOS["add_size"].compute(ctx, {"add_size": largest, "add_price": price})
    assert again.allowed, (largest, again.reason)


@settings(max_examples=30)
@given(whole_contract_positions, st.floats(0.005, 0.6))
def test_on_whole_contract_venues_the_target_distance_answer_is_whole_contracts(
    account: tuple[Venue, PositionSpec], distance: float
) -> None:
    venue, spec = account
    ctx = Context(venue, [spec], 0.0, 0)
    result = SCENARIOS["target_distance"].compute(ctx, {"target_distance": distance * 100})
    assert _whole(result.size), result.size
    assert result.add.allowed, (result.size, result.add.reason)
    raw, _ = wi.max_add_for_distance(venue, [spec], 0.0, 0, distance)
    assert raw - 100.0 < result.size <= raw  # floored: the most whole contracts within the answer


def test_a_fractional_added_size_is_refused_with_the_nearest_whole_counts() -> None:
    venue = get_venue("binance")
    spec = build_spec(venue, PositionRequest("BTCUSD_PERP", "long", None, 95_000.0, leverage=10.0, contracts=10))
    ctx = Context(venue, [spec], 0.0, 0)
    with pytest.raises(InputError) as exc:
        SCENARIOS["add_size"].compute(ctx, {"add_size": 150.0, "add_price": None})
    assert exc.value.field == "add_size"
    assert exc.value.message == (
        "on BTC/USD:BTC the added size is in USD (contracts × 100 USD) and there are no fractional contracts on "
        "Binance COIN-M futures: 150 is 1.5 contracts; give 100 or 200 (1 or 2 contracts)"
    )
    with pytest.raises(InputError) as exc:
        SCENARIOS["add_size"].compute(ctx, {"add_size": 1.0, "add_price": None})
    assert exc.value.message.endswith("1 is below one contract; for 1 BTC of exposure give 95000 (950 contracts)")
    assert SCENARIOS["add_size"].compute(ctx, {"add_size": 200.0, "add_price": None}).allowed
    # a linear market is not concerned: any size
    linear = build_spec(venue, PositionRequest("BTCUSDT", "long", 1.0, 95_000.0, leverage=10.0))
    assert SCENARIOS["add_size"].compute(Context(venue, [linear], 0.0, 0), {"add_size": 0.0015}).allowed
