"""Property tests of the risk core, over every venue and random bracket tables."""

from __future__ import annotations

import dataclasses
import itertools
import math

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from liqwatch.core import VENUES, PositionSpec, Venue, assess
from liqwatch.core.tiers import TierTable, build_table

VENUE_NAMES = sorted(VENUES)


@st.composite
def tables(draw: st.DrawFn, venue: Venue) -> TierTable:
    n = draw(st.integers(1, 6))
    floors = [0.0]
    for _ in range(n - 1):
        floors.append(floors[-1] + draw(st.floats(1_000, 5_000_000)))
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
    if basis == "quantity":  # OKX-like tables count size, here in base units
        rows = [{**r, "min": r["min"] / 1000, "max": None if r["max"] is None else r["max"] / 1000} for r in rows]
    return build_table(
        rows, basis=basis, boundary=venue.default_boundary, derive_maint_amount=venue.derives_maint_amount
    )


@st.composite
def isolated_positions(draw: st.DrawFn) -> tuple[Venue, PositionSpec]:
    venue = VENUES[draw(st.sampled_from(VENUE_NAMES))]
    table = draw(tables(venue))
    side = draw(st.sampled_from(["long", "short"]))
    entry = draw(st.floats(0.01, 100_000))
    size = draw(st.floats(0.001, 5_000_000)) / entry  # notional up to 5M
    cap = table.lookup(size * entry if table.basis == "notional" else size).max_leverage
    leverage = draw(st.floats(1.0, max(1.0, cap)))
    mark = entry * draw(st.floats(0.7, 1.3))
    fee = draw(st.sampled_from([None, 0.0, 0.0005]))
    return venue, PositionSpec(
        symbol="X/USDT:USDT",
        side=side,
        size=size,
        entry_price=entry,
        mark_price=mark,
        tiers=table,
        leverage=leverage,
        isolated_margin=size * entry / leverage,
        fee_rate=venue.default_fee_rate if fee is None else fee,
    )


def _at_mark(venue: Venue, spec: PositionSpec, mark: float, wallet: float = 0.0) -> float | None:
    moved = dataclasses.replace(spec, mark_price=mark)
    return assess(venue, [moved], wallet).positions[0].margin_ratio


def _gap_at(venue: Venue, spec: PositionSpec, mark: float) -> tuple[float, float]:
    """(margin balance - requirement, the magnitude of the terms that were summed) at ``mark``."""
    p = assess(venue, [dataclasses.replace(spec, mark_price=mark)]).positions[0]
    scale = (spec.isolated_margin or 0.0) + spec.size * (spec.entry_price + mark)
    return p.margin_balance - (p.maintenance_margin + p.liquidation_fee), scale


def _ratio_crosses_one(venue: Venue, spec: PositionSpec, lp: float, wallet: float = 0.0) -> bool:
    """At a bracket boundary of a table without maintenance amounts the requirement jumps: the
    ratio then goes from below 1 to above 1 across the liquidation price instead of touching it."""
    below = _at_mark(venue, spec, lp * (1 - 1e-9), wallet)
    above = _at_mark(venue, spec, lp * (1 + 1e-9), wallet)
    values = [v for v in (below, above) if v is not None]
    return len(values) == 2 and min(values) <= 1.0 <= max(values)


@settings(max_examples=400, deadline=None)
@given(isolated_positions())
def test_margin_ratio_is_one_at_the_liquidation_price(case: tuple[Venue, PositionSpec]) -> None:
    """At the liquidation price the margin balance equals the requirement: ratio 1.0, to within
    float rounding of the terms summed (margin + Q*(P - EP) cancels when P is far below entry)."""
    venue, spec = case
    lp = assess(venue, [spec]).positions[0].liquidation_price
    if lp is None:
        return
    gap, scale = _gap_at(venue, spec, lp)
    if abs(gap) <= 1e-12 * scale:
        ratio = _at_mark(venue, spec, lp)
        if ratio is not None and lp > 1e-6 * spec.entry_price:
            assert math.isclose(ratio, 1.0, rel_tol=1e-7)
        return
    assert _ratio_crosses_one(venue, spec, lp)


@settings(max_examples=400, deadline=None)
@given(isolated_positions())
def test_liquidation_comes_before_bankruptcy(case: tuple[Venue, PositionSpec]) -> None:
    venue, spec = case
    p = assess(venue, [spec]).positions[0]
    if spec.side == "long":
        if p.liquidation_price is None:
            assert p.bankruptcy_price is None  # collateral covers a fall to zero
        elif p.bankruptcy_price is not None:
            assert p.liquidation_price > p.bankruptcy_price
    else:
        assert p.liquidation_price is not None and p.bankruptcy_price is not None
        assert p.liquidation_price < p.bankruptcy_price
    if p.liquidation_price is not None:
        assert p.liquidation_price > 0
    if p.margin_ratio is not None and p.margin_ratio < 1 and p.liquidation_price is not None:
        # not yet liquidatable: the liquidation price lies on the losing side of the mark
        assert spec.sign * (spec.mark_price - p.liquidation_price) > 0
        assert p.distance_to_liquidation is not None and p.distance_to_liquidation > 0


@settings(max_examples=300, deadline=None)
@given(isolated_positions())
def test_cross_alone_equals_isolated_with_the_same_collateral(case: tuple[Venue, PositionSpec]) -> None:
    venue, spec = case
    if venue.mm_at_entry_isolated:
        return  # Bybit isolated fixes MM at entry by design; its cross mode values MM at the mark.
    margin = spec.isolated_margin or 0.0
    iso = assess(venue, [spec]).positions[0]
    cross_spec = dataclasses.replace(spec, margin_mode="cross", isolated_margin=None)
    cross = assess(venue, [cross_spec], margin).positions[0]
    for a, b in ((iso.liquidation_price, cross.liquidation_price), (iso.bankruptcy_price, cross.bankruptcy_price)):
        assert (a is None) == (b is None)
        if a is not None and b is not None:
            assert math.isclose(a, b, rel_tol=1e-12)
    assert (iso.margin_ratio is None) == (cross.margin_ratio is None)  # None: past bankruptcy
    if iso.margin_ratio is not None and cross.margin_ratio is not None:
        assert math.isclose(iso.margin_ratio, cross.margin_ratio, rel_tol=1e-12)
    assert iso.status == cross.status


@settings(max_examples=200, deadline=None)
@given(isolated_positions(), isolated_positions(), st.floats(0.0, 2_000_000))
def test_cross_liquidation_price_puts_the_account_at_one(
    a: tuple[Venue, PositionSpec], b: tuple[Venue, PositionSpec], extra: float
) -> None:
    venue, first = a
    _, second = b
    second = dataclasses.replace(second, symbol="Y/USDT:USDT", tiers=first.tiers)
    wallet = (first.isolated_margin or 0) + (second.isolated_margin or 0) + extra
    specs = [
        dataclasses.replace(s, margin_mode="cross", isolated_margin=None, fee_rate=first.fee_rate)
        for s in (first, second)
    ]
    risk = assess(venue, specs, wallet)
    lp = risk.positions[0].liquidation_price
    if lp is None:
        return
    moved = [dataclasses.replace(specs[0], mark_price=lp), specs[1]]
    account = assess(venue, moved, wallet).account
    gap = account.cross_margin_balance - account.cross_maintenance_margin
    scale = wallet + sum(s.size * (s.entry_price + s.mark_price) for s in moved)
    if abs(gap) <= 1e-12 * scale:  # balance == requirement, to float rounding of the summed terms
        return
    below = assess(venue, [dataclasses.replace(specs[0], mark_price=lp * (1 - 1e-9)), specs[1]], wallet)
    above = assess(venue, [dataclasses.replace(specs[0], mark_price=lp * (1 + 1e-9)), specs[1]], wallet)
    values = [r.account.cross_margin_ratio for r in (below, above)]
    assert None not in values
    assert min(values) <= 1.0 <= max(values)  # type: ignore[type-var]


@settings(max_examples=200, deadline=None)
@given(isolated_positions(), st.floats(0.2, 3.0), st.floats(0.5, 2.0))
def test_hedge_legs_cross_share_one_price_and_isolated_legs_are_independent(
    case: tuple[Venue, PositionSpec], other_size: float, wallet_mult: float
) -> None:
    venue, spec = case
    if not venue.supports_hedge_mode:
        return
    opposite = "short" if spec.side == "long" else "long"
    leg_a = dataclasses.replace(spec, position_side=spec.side)
    leg_b = dataclasses.replace(
        spec,
        side=opposite,
        position_side=opposite,
        size=spec.size * other_size,
        isolated_margin=(spec.isolated_margin or 0) * other_size,
    )
    alone = assess(venue, [leg_a]).positions[0].liquidation_price
    both = assess(venue, [leg_a, leg_b]).positions
    assert both[0].liquidation_price == alone
    wallet = ((spec.isolated_margin or 0) * (1 + other_size)) * wallet_mult
    cross = assess(
        venue,
        [dataclasses.replace(x, margin_mode="cross", isolated_margin=None) for x in (leg_a, leg_b)],
        wallet,
    ).positions
    assert cross[0].liquidation_price == cross[1].liquidation_price
    assert cross[0].bankruptcy_price == cross[1].bankruptcy_price


@given(st.sampled_from(VENUE_NAMES), st.floats(1, 100_000), st.floats(0.001, 1000), st.data())
def test_fully_collateralised_long_has_no_liquidation_price(
    name: str, entry: float, size: float, data: st.DataObject
) -> None:
    venue = VENUES[name]
    table = data.draw(tables(venue))
    spec = PositionSpec(
        symbol="X/USDT:USDT",
        side="long",
        size=size,
        entry_price=entry,
        mark_price=entry,
        tiers=table,
        leverage=1.0,
        isolated_margin=size * entry,
        fee_rate=venue.default_fee_rate,
    )
    p = assess(venue, [spec]).positions[0]
    assert p.bankruptcy_price is None
    if venue.mm_at_entry_isolated:
        # Bybit isolated fixes MM at entry: LP = EP - (margin - MM_entry)/Q = MM_entry/Q at 1x,
        # e.g. EP x MMR (freqtrade's Bybit vectors: 1x long @ 10, MMR 1% -> 0.1).
        assert p.liquidation_price is not None
        assert math.isclose(p.liquidation_price, p.maintenance_margin / size, rel_tol=1e-9)
        return
    assert p.liquidation_price is None
    assert p.distance_to_liquidation is None


@given(st.sampled_from(VENUE_NAMES), st.data())
def test_tier_lookup_is_monotone(name: str, data: st.DataObject) -> None:
    venue = VENUES[name]
    table = data.draw(tables(venue))
    values = sorted(data.draw(st.lists(st.floats(0, 1e8), min_size=2, max_size=20)))
    positions = [table.position(v) for v in values]
    assert positions == sorted(positions)
    rates = [table.lookup(v).mmr for v in values]
    assert rates == sorted(rates)
    if venue.derives_maint_amount:
        mm = [v * table.lookup(v).mmr - table.lookup(v).maint_amount for v in values]
        assert all(b >= a - 1e-6 * max(1.0, abs(a)) for a, b in itertools.pairwise(mm))


@given(st.sampled_from(VENUE_NAMES), st.data())
def test_holding_is_beyond_and_lookup_in_one_call(name: str, data: st.DataObject) -> None:
    """The engine's one-call bracket lookup answers exactly as ``beyond`` + ``lookup``: None past the
    end (the cap itself on a floor-inclusive table), else the same bracket, boundaries included."""
    venue = VENUES[name]
    table = data.draw(tables(venue))
    if data.draw(st.booleans()):  # a table that ends (a cap on its last bracket)
        last = table.tiers[-1]
        cap = last.floor + data.draw(st.floats(1.0, 1e7))
        table = dataclasses.replace(table, tiers=(*table.tiers[:-1], dataclasses.replace(last, cap=cap)))
    edges = [t.floor for t in table.tiers] + [t.cap for t in table.tiers if math.isfinite(t.cap)]
    values = data.draw(st.lists(st.sampled_from(edges) | st.floats(0, 1e9) | st.just(math.nan), min_size=1))
    for v in values:
        found = table.holding(v)
        if table.beyond(v):
            assert found is None, v
        else:
            assert found is table.lookup(v), v
