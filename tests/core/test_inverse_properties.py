"""Property tests of inverse (coin-margined) positions and collateral pools, over the five venues
that list inverse perpetuals and random bracket tables (coin notional, or USD face for tables
counted in contracts)."""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

from liqwatch.core import PositionSpec, Venue, assess, get_venue
from liqwatch.core.engine import liquidation_prices
from liqwatch.core.errors import InputError
from liqwatch.core.model import Side
from liqwatch.core.tiers import TierTable, build_table
from liqwatch.core.venues.bybit import BybitInverse2024
from tests.core.test_properties import isolated_positions

INVERSE_VENUES: list[Venue] = [get_venue(n) for n in ("binance", "bybit", "okx", "bitget", "gate")]
ALL_FORMS: list[Venue] = [*INVERSE_VENUES, BybitInverse2024()]


@st.composite
def coin_tables(draw: st.DrawFn, venue: Venue) -> TierTable:
    """Brackets in coin notional (BTC): floors up to a few hundred BTC; quantity tables in USD face."""
    n = draw(st.integers(1, 6))
    floors = [0.0]
    for _ in range(n - 1):
        floors.append(floors[-1] + draw(st.floats(0.5, 200)))
    mmrs = [draw(st.floats(0.001, 0.02))]
    for _ in range(n - 1):
        mmrs.append(mmrs[-1] + draw(st.floats(0.0005, 0.05)))
    assume(mmrs[-1] < 0.5)
    levs = sorted((min(125.0, 0.5 / m) for m in mmrs), reverse=True)
    rows: list[dict[str, float | None]] = [
        {"min": floors[i], "max": floors[i + 1] if i + 1 < n else None, "mmr": mmrs[i], "max_leverage": levs[i]}
        for i in range(n)
    ]
    basis = venue.default_basis
    if basis == "quantity":  # OKX: contracts of 100 USD; bounds here in contracts, scaled to USD face
        rows = [
            {**r, "min": (r["min"] or 0.0) * 300, "max": None if r["max"] is None else r["max"] * 300} for r in rows
        ]
    return build_table(
        rows,
        basis=basis,
        boundary=venue.default_boundary,
        derive_maint_amount=venue.derives_maint_amount,
        quantity_scale=100.0 if basis == "quantity" else 1.0,
    )


@st.composite
def inverse_positions(draw: st.DrawFn, forms: list[Venue] = ALL_FORMS) -> tuple[Venue, PositionSpec]:
    venue = draw(st.sampled_from(forms))
    table = draw(coin_tables(venue))
    side = draw(st.sampled_from(["long", "short"]))
    entry = draw(st.floats(100, 150_000))
    q = draw(st.floats(10, 50_000_000))  # USD face
    value = q / entry if table.basis == "notional" else q
    cap = table.lookup(value).max_leverage
    leverage = draw(st.floats(1.0, max(1.0, cap)))
    mark = entry * draw(st.floats(0.7, 1.3))
    fee = draw(st.sampled_from([None, 0.0, 0.0005]))
    spec = PositionSpec(
        symbol="BTC/USD:BTC",
        side=side,  # type: ignore[arg-type]
        size=q,
        entry_price=entry,
        mark_price=mark,
        tiers=table,
        leverage=leverage,
        isolated_margin=q / entry / leverage,
        fee_rate=venue.default_fee_rate if fee is None else fee,
        inverse=True,
    )
    return venue, spec


def _at(venue: Venue, spec: PositionSpec, mark: float, wallet: float = 0.0) -> tuple[float | None, float, float]:
    """(margin ratio, margin balance - requirement, scale of the summed terms) at ``mark``."""
    p = assess(venue, [dataclasses.replace(spec, mark_price=mark)], wallet).positions[0]
    scale = (spec.isolated_margin or 0.0) + wallet + spec.size * (1 / spec.entry_price + 1 / mark)
    return p.margin_ratio, p.margin_balance - (p.maintenance_margin + p.liquidation_fee), scale


def _crosses_one(venue: Venue, spec: PositionSpec, lp: float, wallet: float = 0.0) -> bool:
    """A table without maintenance amounts jumps at a bracket boundary: the ratio then passes 1
    across the liquidation price instead of touching it."""
    below = _at(venue, spec, lp * (1 - 1e-9), wallet)[0]
    above = _at(venue, spec, lp * (1 + 1e-9), wallet)[0]
    values = [v for v in (below, above) if v is not None]
    return len(values) == 2 and min(values) <= 1.0 <= max(values)


@settings(max_examples=400, deadline=None)
@given(inverse_positions())
def test_margin_ratio_is_one_at_the_liquidation_price(case: tuple[Venue, PositionSpec]) -> None:
    venue, spec = case
    lp = assess(venue, [spec]).positions[0].liquidation_price
    if lp is None:
        return
    ratio, gap, scale = _at(venue, spec, lp)
    if abs(gap) <= 1e-12 * scale:
        if ratio is not None and lp < 1e6 * spec.entry_price:
            assert math.isclose(ratio, 1.0, rel_tol=1e-7)
        return
    assert _crosses_one(venue, spec, lp)


@settings(max_examples=400, deadline=None)
@given(inverse_positions())
def test_liquidation_comes_before_bankruptcy(case: tuple[Venue, PositionSpec]) -> None:
    venue, spec = case
    p = assess(venue, [spec]).positions[0]
    lp, bp = p.liquidation_price, p.bankruptcy_price
    if spec.side == "long":  # an inverse long always has both: equity -> -inf as P -> 0
        assert lp is not None and bp is not None
        assert lp > bp
    elif bp is None:  # margin >= Q/EP: never bankrupt; liquidated only with MM fixed at entry
        assert lp is None or venue.inverse_mm_at_entry_isolated
    elif lp is not None:
        assert lp < bp
    if lp is not None and p.margin_ratio is not None and p.margin_ratio < 1:
        assert p.distance_to_liquidation is not None and p.distance_to_liquidation > 0


@settings(max_examples=300, deadline=None)
@given(inverse_positions(INVERSE_VENUES))
def test_cross_alone_equals_isolated(case: tuple[Venue, PositionSpec]) -> None:
    """One cross position with wallet W is the isolated position with margin W."""
    venue, spec = case
    margin = spec.isolated_margin or 0.0
    iso = assess(venue, [spec]).positions[0]
    cross = assess(venue, [dataclasses.replace(spec, margin_mode="cross", isolated_margin=None)], margin).positions[0]
    for a, b in ((iso.liquidation_price, cross.liquidation_price), (iso.bankruptcy_price, cross.bankruptcy_price)):
        assert (a is None) == (b is None)
        if a is not None and b is not None:
            assert math.isclose(a, b, rel_tol=1e-12)
    assert math.isclose(iso.margin_balance, cross.margin_balance, rel_tol=1e-12, abs_tol=1e-15)


@settings(max_examples=200, deadline=None)
@given(inverse_positions(INVERSE_VENUES), st.floats(1.0, 3.0))
def test_no_liquidation_price_for_a_covered_short(case: tuple[Venue, PositionSpec], cover: float) -> None:
    """A short whose coin collateral is at least its value at entry (1x or less) has no price that
    liquidates it: its equity Q/P stays above the requirement (Q/P)(MMR + f) - cum at every P."""
    venue, spec = case
    spec = dataclasses.replace(spec, side="short", isolated_margin=cover * spec.size / spec.entry_price, leverage=None)
    p = assess(venue, [spec]).positions[0]
    assert p.liquidation_price is None and p.bankruptcy_price is None


@settings(max_examples=200, deadline=None)
@given(inverse_positions(INVERSE_VENUES), st.floats(0.0, 1e6), st.floats(0, 5), st.sampled_from(["long", "short"]))
def test_pools_are_independent(case: tuple[Venue, PositionSpec], usdt: float, btc: float, side: str) -> None:
    """A USDT position (and wallet) beside a BTC-margined one changes nothing in the BTC pool, and
    the BTC pool changes nothing in the USDT one."""
    venue, spec = case
    inv = dataclasses.replace(spec, margin_mode="cross", isolated_margin=None)
    linear = PositionSpec(
        "ETH/USDT:USDT",
        side,  # type: ignore[arg-type]
        10.0,
        3_000.0,
        2_900.0,
        build_table([{"min": 0, "max": None, "mmr": 0.01, "max_leverage": 50}], basis="notional"),
        margin_mode="cross",
        fee_rate=venue.default_fee_rate,
    )
    both = assess(venue, [inv, linear], {"BTC": btc, venue.settle: usdt})
    alone = assess(venue, [inv], {"BTC": btc})
    alone_linear = assess(venue, [linear], usdt)
    assert both.positions[0] == alone.positions[0]
    assert both.positions[1] == alone_linear.positions[0]
    assert both.pools is not None and alone.pools is not None
    assert both.pools["BTC"] == alone.pools["BTC"]
    assert both.pools[venue.settle] == alone_linear.account == both.account


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(INVERSE_VENUES), st.floats(0, 1e6), st.integers(1, 4), st.randoms(use_true_random=False))
def test_linear_results_do_not_depend_on_the_wallet_form(venue: Venue, wallet: float, n: int, rng: object) -> None:
    """A linear account: the number and {settle: number} give identical results (the pooled path
    and the single-pool fast path agree to the last bit)."""
    import random

    assert isinstance(rng, random.Random)
    table = build_table(
        [
            {"min": 0, "max": 50_000, "mmr": 0.004, "max_leverage": 100},
            {"min": 50_000, "max": None, "mmr": 0.01, "max_leverage": 50},
        ],
        basis="notional",
        derive_maint_amount=venue.derives_maint_amount,
    )
    specs = [
        PositionSpec(
            f"C{i}/USDT:USDT",
            rng.choice(["long", "short"]),
            rng.uniform(0.1, 100),
            entry := rng.uniform(100, 2_000),
            entry * rng.uniform(0.8, 1.2),
            table,
            margin_mode="cross",
            fee_rate=venue.default_fee_rate,
        )
        for i in range(n)
    ]
    plain = assess(venue, specs, wallet)
    assert plain == assess(venue, specs, {venue.settle: wallet})
    named = [dataclasses.replace(s, settle=venue.settle) for s in specs]
    assert [p.liquidation_price for p in assess(venue, named, wallet).positions] == [
        p.liquidation_price for p in plain.positions
    ]
    assert assess(venue, named, {venue.settle: wallet, "BTC": 0.0}).pools == {
        venue.settle: plain.account,
        "BTC": assess(venue, [], {"BTC": 0.0}).account,
    }


@settings(max_examples=200, deadline=None)
@given(inverse_positions(INVERSE_VENUES), inverse_positions(INVERSE_VENUES), st.floats(0.01, 50))
def test_cross_ratio_is_one_at_the_liquidation_price_with_other_positions(
    case: tuple[Venue, PositionSpec], other_case: tuple[Venue, PositionSpec], wallet: float
) -> None:
    """Two BTC-margined cross positions (other symbols' marks held) and a USDT one in its own pool:
    at the first one's liquidation price the BTC pool's cross margin ratio is 1 (or passes 1 at a
    bracket jump); the USDT pool never enters."""
    venue, spec = case
    a = dataclasses.replace(spec, margin_mode="cross", isolated_margin=None)
    b = dataclasses.replace(other_case[1], symbol="ETH/USD:BTC", margin_mode="cross", isolated_margin=None)
    b.tiers = build_table(
        [{"min": 0, "max": None, "mmr": 0.01, "max_leverage": 50}],
        basis=venue.default_basis,
        boundary=venue.default_boundary,
        derive_maint_amount=venue.derives_maint_amount,
    )
    usdt = PositionSpec(
        "SOL/USDT:USDT", "long", 100.0, 150.0, 140.0, b.tiers, margin_mode="cross", fee_rate=venue.default_fee_rate
    )
    wallets = {"BTC": wallet, venue.settle: 1_000.0}
    risk = assess(venue, [a, b, usdt], wallets)
    lp = risk.positions[0].liquidation_price
    event("liquidation price" if lp is not None else "none")
    if lp is None or not 1e-6 * a.entry_price < lp < 1e6 * a.entry_price:
        return

    def pool_ratio(mark: float) -> tuple[float | None, float, float]:
        moved = assess(venue, [dataclasses.replace(a, mark_price=mark), b, usdt], wallets)
        assert moved.pools is not None
        pool = moved.pools["BTC"]
        scale = wallet + sum(s.size * (1 / s.entry_price + 1 / s.mark_price) for s in (a, b)) + a.size / mark
        return pool.cross_margin_ratio, pool.cross_margin_balance - pool.cross_maintenance_margin, scale

    ratio, gap, scale = pool_ratio(lp)
    if abs(gap) <= 1e-12 * scale:
        if ratio is not None:
            assert math.isclose(ratio, 1.0, rel_tol=1e-7)
        return
    below = pool_ratio(lp * (1 - 1e-9))[0]
    above = pool_ratio(lp * (1 + 1e-9))[0]
    values = [v for v in (below, above) if v is not None]
    assert len(values) == 2 and min(values) <= 1.0 <= max(values)


@settings(max_examples=150, deadline=None)
@given(inverse_positions(INVERSE_VENUES), st.floats(0.2, 0.95))
def test_target_mark_reaches_the_ratio(case: tuple[Venue, PositionSpec], target: float) -> None:
    """The mark solved for a margin ratio gives that ratio (or passes it at a bracket jump)."""
    from liqwatch.core import whatif as wi

    venue, spec = case
    mark = wi.target_mark(venue, [spec], 0.0, 0, target)
    if mark is None or not 1e-6 * spec.entry_price < mark < 1e6 * spec.entry_price:
        return
    ratio = _at(venue, spec, mark)[0]
    assert ratio is not None
    if math.isclose(ratio, target, rel_tol=1e-6):
        event("exact")
        return
    near = [_at(venue, spec, mark * (1 + e))[0] for e in (-1e-9, 1e-9)]  # a bracket jump
    values = [v for v in near if v is not None]
    assert len(values) == 2 and min(values) <= target <= max(values)


@settings(max_examples=100, deadline=None)
@given(inverse_positions(INVERSE_VENUES))
def test_shock_liquidates_at_the_liquidation_price(case: tuple[Venue, PositionSpec]) -> None:
    """An isolated inverse position's shock event sits at its liquidation price's move, exactly
    (the gap is not linear in the move for inverse legs: solved by bisection to ~1e-13)."""
    from liqwatch.core import whatif as wi

    venue, spec = case
    lp = assess(venue, [spec]).positions[0].liquidation_price
    assume(lp is not None and 0.05 < lp / spec.mark_price < 9.0)
    assert lp is not None
    exact = lp / spec.mark_price - 1
    res = wi.shock(venue, [spec], 0.0, [-0.96 if exact < 0 else 9.5])
    assume(res.order and res.order[0].move != 0.0)  # not already past liquidation
    event("checked")
    assert res.order[0].move == pytest.approx(exact, rel=1e-9, abs=1e-12)


@settings(max_examples=200)
@given(st.data())
def test_liquidation_prices_are_assess_s_own(data: st.DataObject) -> None:
    """``liquidation_prices`` (the funding drift's re-solve) answers what ``assess`` reports, to
    the bit, or refuses with the same line: isolated and cross, linear and coin-margined pools,
    hedge legs, one wallet or one per currency."""
    specs: list[PositionSpec] = []
    venue: Venue | None = None
    if data.draw(st.booleans()):
        venue, inverse = data.draw(inverse_positions())
        if data.draw(st.booleans()):
            inverse = dataclasses.replace(inverse, margin_mode="cross", isolated_margin=None)
        specs.append(inverse)
    for i in range(data.draw(st.integers(0 if specs else 1, 4))):
        drawn_venue, spec = data.draw(isolated_positions())
        venue = venue or drawn_venue
        spec = dataclasses.replace(spec, symbol=f"S{i}/USDT:USDT")
        if data.draw(st.booleans()):
            spec = dataclasses.replace(spec, margin_mode="cross", isolated_margin=None)
            if venue.supports_hedge_mode and data.draw(st.booleans()):  # both legs of one symbol
                other: Side = "short" if spec.side == "long" else "long"
                specs.append(dataclasses.replace(spec, position_side=spec.side))
                spec = dataclasses.replace(spec, side=other, position_side=other)
        specs.append(spec)
    assert venue is not None
    wallet = data.draw(st.floats(0, 1e7) | st.fixed_dictionaries({"USDT": st.floats(0, 1e7), "BTC": st.floats(0, 100)}))
    try:
        want = [p.liquidation_price for p in assess(venue, specs, wallet).positions]
    except InputError as exc:
        with pytest.raises(InputError) as got:
            liquidation_prices(venue, specs, wallet)
        assert str(got.value) == str(exc)
        return
    got_prices = liquidation_prices(venue, specs, wallet)
    assert len(got_prices) == len(want)
    for a, b in zip(got_prices, want, strict=True):
        assert a == b or (a is not None and b is not None and math.isnan(a) and math.isnan(b)), (a, b)
