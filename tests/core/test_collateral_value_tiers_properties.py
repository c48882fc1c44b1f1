"""Property tests for the Gate and Bitget multi-asset accounts (issue #21): their collateral tiers
are by USD value (Gate ``/unified/currency_discount_tiers``, Bitget
``/api/v2/mix/market/discount-rate``), each slice at its own rate. With every collateral asset
value-tiered, a BTC or ETH position backed by its own coin (the co-moving underlying, whose value
tier changes as the price moves), every reported liquidation price brings the account margin
ratio, recomputed with that collateral moved there, to 1.0 (rel 1e-9), and no price between the
mark and it crosses first. Bitget's brackets have no maintenance amounts (its requirement jumps at
a bracket floor), so its positions here sit in one bracket: the continuous case the rule holds in."""

from __future__ import annotations

import math

from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from liqwatch.core import VENUES, PositionSpec, Venue
from liqwatch.core.collateral import (
    CollateralAsset,
    CollateralTier,
    account_margin_ratio,
    assess_collateral,
    moved,
)
from liqwatch.core.tiers import TierTable, build_table
from tests.core.test_collateral_properties import MARKS, tables


@st.composite
def one_bracket(draw: st.DrawFn, venue: Venue) -> TierTable:
    mmr = draw(st.floats(0.002, 0.05))
    row: dict[str, float | None] = {"min": 0.0, "max": None, "mmr": mmr, "max_leverage": 1 / mmr}
    return build_table([row], basis=venue.default_basis, boundary=venue.default_boundary)


@st.composite
def value_tiered(draw: st.DrawFn, asset: str, amount: float, price: float) -> CollateralAsset:
    """The asset with 1-4 tiers by USD value around its value (each slice at its own rate)."""
    scale = max(abs(amount) * price, 1.0)
    cuts = sorted(draw(st.lists(st.floats(0.05, 2.0), min_size=0, max_size=3, unique=True)))
    bounds = [0.0]
    for cut in cuts:
        if cut * scale > bounds[-1]:
            bounds.append(cut * scale)
    n = len(bounds)
    ratios = sorted((draw(st.floats(0.3, 1.0)) for _ in range(n)), reverse=True)
    tiers = tuple(CollateralTier(bounds[i], bounds[i + 1] if i + 1 < n else None, ratios[i]) for i in range(n))
    return CollateralAsset(asset, amount, price, tiers=tiers, tier_basis="value")


@st.composite
def accounts(draw: st.DrawFn) -> tuple[Venue, list[PositionSpec], list[CollateralAsset]]:
    venue = VENUES[draw(st.sampled_from(["gate", "bitget"]))]
    marks = {base: draw(st.floats(lo, hi)) for base, (lo, hi) in MARKS.items() if base != "SOL"}
    specs: list[PositionSpec] = []
    for base, mark in marks.items():
        if not draw(st.booleans()):
            continue
        table = draw(one_bracket(venue) if venue.name == "bitget" else tables(venue))
        entry = mark * draw(st.floats(0.8, 1.25))
        specs.append(
            PositionSpec(
                f"{base}/USDT:USDT",
                draw(st.sampled_from(["long", "short"])),
                draw(st.floats(1_000, 2_000_000)) / entry,
                entry,
                mark,
                table,
                margin_mode="cross",
                fee_rate=draw(st.sampled_from([0.0, 0.0004, 0.00075])),
            )
        )
    assume(specs)
    assets = [draw(value_tiered("USDT", draw(st.floats(-200_000, 1_000_000)), 1.0))]
    for base, mark in marks.items():
        if draw(st.booleans()):
            amount = draw(st.floats(0, 4_000_000)) / mark
            assets.append(draw(value_tiered(base, amount, mark * draw(st.floats(0.98, 1.02)))))
    return venue, specs, assets


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(accounts())
def test_ratio_is_one_at_every_liquidation_price_with_value_tiers(
    case: tuple[Venue, list[PositionSpec], list[CollateralAsset]],
) -> None:
    venue, specs, assets = case
    risk = assess_collateral(venue, specs, assets)
    now = risk.margin_ratio
    for p in risk.positions:
        mark = p.spec.mark_price
        for price in (p.liquidation_price_below, p.liquidation_price_above):
            if price is None:
                continue
            event(f"{venue.name}: crossing {'with' if p.co_moving else 'without'} co-moving collateral")
            at = account_margin_ratio(venue, *moved(specs, assets, p.spec.symbol, price))
            assert at is not None and math.isclose(at, 1.0, rel_tol=1e-9), (price, at)
            if now is not None and now < 1.0 - 1e-9:  # healthy now: nothing crossed on the way
                for f in (0.05, 0.3, 0.6, 0.9, 0.99):
                    between = account_margin_ratio(
                        venue, *moved(specs, assets, p.spec.symbol, mark + f * (price - mark))
                    )
                    assert between is not None and between < 1.0 + 1e-9, (f, between)
