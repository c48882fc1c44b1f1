"""Property tests of multi-collateral accounts (liqwatch.core.collateral): every reported
liquidation price brings the account ratio, recomputed with the co-moving collateral moved there,
to exactly 1.0, and none is crossed on the way; order changes nothing; a one-stablecoin account at
ratio 1 is the engine's single-collateral account."""

from __future__ import annotations

import math
import random

from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from liqwatch.core import VENUES, PositionSpec, Venue, assess
from liqwatch.core.collateral import (
    AccountMode,
    CollateralAsset,
    CollateralTier,
    account_margin_ratio,
    assess_collateral,
    moved,
)
from liqwatch.core.tiers import TierTable, build_table
from liqwatch.core.venues.collateral_conventions import LARGER_HEDGE_LEG_ONLY

CONTINUOUS = ["binance", "bybit", "gate", "hyperliquid"]
"""Venues whose requirement is continuous across brackets (maintenance amounts by the recurrence):
there the account ratio is exactly 1 at every crossing. Elsewhere a crossing can be a jump."""

MARKS = {"BTC": (10_000.0, 100_000.0), "ETH": (500.0, 5_000.0), "SOL": (10.0, 300.0)}


@st.composite
def tables(draw: st.DrawFn, venue: Venue) -> TierTable:
    n = draw(st.integers(1, 5))
    floors = [0.0]
    for _ in range(n - 1):
        floors.append(floors[-1] + draw(st.floats(5_000, 3_000_000)))
    mmrs = [draw(st.floats(0.002, 0.02))]
    for _ in range(n - 1):
        mmrs.append(mmrs[-1] + draw(st.floats(0.001, 0.05)))
    rows: list[dict[str, float | None]] = [
        {"min": floors[i], "max": floors[i + 1] if i + 1 < n else None, "mmr": mmrs[i], "max_leverage": 1 / mmrs[i]}
        for i in range(n)
    ]
    basis = venue.default_basis
    if basis == "quantity":
        rows = [{**r, "min": r["min"] / 1000, "max": None if r["max"] is None else r["max"] / 1000} for r in rows]
    return build_table(
        rows, basis=basis, boundary=venue.default_boundary, derive_maint_amount=venue.derives_maint_amount
    )


@st.composite
def valuations(draw: st.DrawFn, asset: str, amount: float, price: float) -> CollateralAsset:
    kind = draw(st.sampled_from(["ratio", "quantity", "value", "buffers"]))
    if kind == "ratio":
        return CollateralAsset(asset, amount, price, ratio=draw(st.floats(0.5, 1.0)))
    if kind == "buffers":
        return CollateralAsset(
            asset, amount, price, bid_buffer=draw(st.floats(0.0, 0.2)), ask_buffer=draw(st.floats(0.0, 0.2))
        )
    n = draw(st.integers(2, 4))
    scale = max(abs(amount), 1.0)
    if kind == "value":
        scale *= price
    cuts = sorted(draw(st.lists(st.floats(0.05, 2.0), min_size=n - 1, max_size=n - 1, unique=True)))
    bounds = [0.0]
    for cut in cuts:  # distinct cuts can scale to one float: keep each boundary once (tiers are contiguous)
        if cut * scale > bounds[-1]:
            bounds.append(cut * scale)
    n = len(bounds)
    ratios = sorted((draw(st.floats(0.3, 1.0)) for _ in range(n)), reverse=True)
    tiers = tuple(CollateralTier(bounds[i], bounds[i + 1] if i + 1 < n else None, ratios[i]) for i in range(n))
    return CollateralAsset(asset, amount, price, tiers=tiers, tier_basis="value" if kind == "value" else "quantity")


@st.composite
def accounts(
    draw: st.DrawFn, venue_names: list[str]
) -> tuple[Venue, list[PositionSpec], list[CollateralAsset], AccountMode]:
    venue = VENUES[draw(st.sampled_from(venue_names))]
    marks = {base: draw(st.floats(lo, hi)) for base, (lo, hi) in MARKS.items()}
    specs: list[PositionSpec] = []
    for base, settle in (("BTC", "USDT"), ("ETH", "USDT"), ("SOL", "USDC")):
        if not draw(st.booleans()):
            continue
        mark = marks[base]
        table = draw(tables(venue))
        hedged = venue.supports_hedge_mode and venue.name not in LARGER_HEDGE_LEG_ONLY  # (refused there)
        sides = ["long", "short"] if hedged and draw(st.integers(0, 4)) == 0 else [None]
        for side in sides:
            entry = mark * draw(st.floats(0.8, 1.25))
            size = draw(st.floats(1_000, 2_000_000)) / entry
            specs.append(
                PositionSpec(
                    f"{base}/{settle}:{settle}",
                    side or draw(st.sampled_from(["long", "short"])),
                    size,
                    entry,
                    mark,
                    table,
                    margin_mode="cross",
                    position_side=side or "both",
                    fee_rate=draw(st.sampled_from([0.0, 0.0005])),
                )
            )
    assume(specs)
    assets = [
        draw(valuations("USDT", draw(st.floats(-200_000, 1_000_000)), draw(st.floats(0.98, 1.01)))),
        draw(valuations("USDC", draw(st.floats(-50_000, 500_000)), draw(st.floats(0.99, 1.01)))),
    ]
    for base in ("BTC", "ETH"):
        if draw(st.booleans()):
            amount = draw(st.floats(-2_000_000, 4_000_000)) / marks[base]
            assets.append(draw(valuations(base, amount, marks[base] * draw(st.floats(0.98, 1.02)))))
    if draw(st.booleans()):
        assets.append(draw(valuations("DOGE", draw(st.floats(0, 5_000_000)), 0.1)))
    mode: AccountMode = "portfolio" if venue.name == "binance" and draw(st.booleans()) else "multi_assets"
    return venue, specs, assets, mode


def crossings(risk_positions: list[tuple[PositionSpec, float | None, float | None]]) -> list[tuple[str, float]]:
    out: list[tuple[str, float]] = []
    for spec, below, above in risk_positions:
        out += [(spec.symbol, price) for price in (below, above) if price is not None]
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(accounts(CONTINUOUS))
def test_ratio_is_one_at_every_liquidation_price(
    case: tuple[Venue, list[PositionSpec], list[CollateralAsset], AccountMode],
) -> None:
    venue, specs, assets, mode = case
    risk = assess_collateral(venue, specs, assets, mode)
    assert risk.margin_ratio == account_margin_ratio(venue, specs, assets, mode)
    now = risk.margin_ratio
    for p in risk.positions:
        mark = p.spec.mark_price
        for price in (p.liquidation_price_below, p.liquidation_price_above):
            if price is None:
                continue
            event(f"crossing {'with' if p.co_moving else 'without'} co-moving collateral")
            at = account_margin_ratio(venue, *moved(specs, assets, p.spec.symbol, price), mode)
            assert at is not None and math.isclose(at, 1.0, rel_tol=1e-9), (price, at)
            if now is not None and now < 1.0 - 1e-9:  # healthy now: nothing crossed on the way
                for f in (0.05, 0.3, 0.6, 0.9, 0.99):
                    between = account_margin_ratio(
                        venue, *moved(specs, assets, p.spec.symbol, mark + f * (price - mark)), mode
                    )
                    assert between is not None and between < 1.0 + 1e-9, (f, between)
        if p.liquidation_price_below is None and now is not None and now < 1.0:  # no crossing below: check it
            for f in (0.5, 0.1, 0.001):
                low = account_margin_ratio(venue, *moved(specs, assets, p.spec.symbol, mark * f), mode)
                assert low is not None and low < 1.0 + 1e-9


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(accounts([*CONTINUOUS, "okx", "bitget"]), st.randoms(use_true_random=False))
def test_order_of_assets_and_positions_changes_nothing(
    case: tuple[Venue, list[PositionSpec], list[CollateralAsset], AccountMode], rnd: random.Random
) -> None:
    venue, specs, assets, mode = case
    base = assess_collateral(venue, specs, assets, mode)
    order = list(range(len(specs)))
    rnd.shuffle(order)
    shuffled_assets = list(assets)
    rnd.shuffle(shuffled_assets)
    other = assess_collateral(venue, [specs[i] for i in order], shuffled_assets, mode)
    assert math.isclose(other.effective_equity, base.effective_equity, rel_tol=1e-12, abs_tol=1e-6)
    assert math.isclose(other.maintenance_margin_usd, base.maintenance_margin_usd, rel_tol=1e-12)
    by_asset = {a.asset: a for a in base.assets}
    for a in other.assets:
        assert math.isclose(a.collateral_value_usd, by_asset[a.asset].collateral_value_usd, rel_tol=1e-12)
    for j, i in enumerate(order):
        got, want = other.positions[j], base.positions[i]
        assert got.spec is want.spec
        for x, y in (
            (got.liquidation_price_below, want.liquidation_price_below),
            (got.liquidation_price_above, want.liquidation_price_above),
        ):
            assert (x is None) == (y is None)
            if x is not None and y is not None:
                assert math.isclose(x, y, rel_tol=1e-9)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(st.sampled_from(sorted(VENUES)), st.data())
def test_one_stablecoin_at_ratio_one_is_the_engine(venue_name: str, data: st.DataObject) -> None:
    venue = VENUES[venue_name]
    wallet = data.draw(st.floats(-100_000, 2_000_000))
    specs: list[PositionSpec] = []
    for k in range(data.draw(st.integers(1, 4))):
        mark = data.draw(st.floats(1.0, 100_000.0))
        entry = mark * data.draw(st.floats(0.8, 1.25))
        table = data.draw(tables(venue))
        hedgeable = venue.supports_hedge_mode and venue.name not in LARGER_HEDGE_LEG_ONLY  # (refused there)
        hedge = hedgeable and data.draw(st.integers(0, 3)) == 0
        for side in ["long", "short"] if hedge else [data.draw(st.sampled_from(["long", "short"]))]:
            specs.append(
                PositionSpec(
                    f"C{k}/{venue.settle}:{venue.settle}",
                    side,  # type: ignore[arg-type]
                    data.draw(st.floats(500, 1_000_000)) / entry,
                    entry,
                    mark,
                    table,
                    margin_mode="cross",
                    position_side=side if hedge else "both",  # type: ignore[arg-type]
                    fee_rate=data.draw(st.sampled_from([0.0, 0.0006])),
                )
            )
    single = assess(venue, specs, wallet)
    multi = assess_collateral(venue, specs, [CollateralAsset(venue.settle, wallet, 1.0, ratio=1.0)])
    assert (multi.margin_ratio is None) == (single.account.cross_margin_ratio is None)
    if multi.margin_ratio is not None and single.account.cross_margin_ratio is not None:
        assert math.isclose(multi.margin_ratio, single.account.cross_margin_ratio, rel_tol=1e-9)
    assert math.isclose(multi.effective_equity, single.account.cross_margin_balance, rel_tol=1e-9, abs_tol=1e-6)
    for mine, theirs in zip(multi.positions, single.positions, strict=True):
        assert math.isclose(mine.requirement, theirs.maintenance_margin + theirs.liquidation_fee, rel_tol=1e-12)
        assert math.isclose(mine.unrealized_pnl, theirs.unrealized_pnl, rel_tol=1e-12, abs_tol=1e-9)
        # A root near 0 is exact only to the scale of the prices: there (a wallet of 1e-133 behind a
        # hedged pair) one sum rounds to a zero root, the other to a root of 1e-134.
        lp, want = mine.liquidation_price, theirs.liquidation_price
        tiny = 1e-9 * mine.spec.mark_price
        assert math.isclose(lp or 0.0, want or 0.0, rel_tol=1e-9, abs_tol=tiny), (lp, want)
