"""What-if scenarios, each checked against an independent recomputation from the venue formulas."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liqwatch.core import PositionSpec, assess, flat_table, get_venue
from liqwatch.core import whatif as wi
from liqwatch.markets import bundle

ROOT = Path(__file__).resolve().parents[2]
BINANCE = get_venue("binance")
# Binance brackets 2026-03-26 (freqtrade 6bc35af3), BTCUSDT:
# 0-300k 0.4% cum 0 150x | 300k-800k 0.5% cum 300 100x | 800k-3M 0.65% cum 1,500 75x | ...
BTC = bundle(BINANCE).markets["BTC/USDT:USDT"].table


def iso(
    side: str = "long",
    size: float = 0.5,
    entry: float = 60000.0,
    mark: float | None = None,
    lev: float = 20.0,
    table: Any = BTC,
    **kw: Any,
) -> PositionSpec:
    return PositionSpec(
        symbol=kw.pop("symbol", "BTC/USDT:USDT"),
        side=side,
        size=size,
        entry_price=entry,  # type: ignore[arg-type]
        mark_price=entry if mark is None else mark,
        tiers=table,
        leverage=lev,
        isolated_margin=kw.pop("margin", size * entry / lev),
        **kw,
    )


def binance_isolated_lp(side: str, q: float, ep: float, margin: float, mmr: float, cum: float) -> float:
    s = 1 if side == "long" else -1
    return (margin + cum - s * q * ep) / (q * mmr - s * q)


# ---------------------------------------------------------------- add size


def test_add_size_across_a_tier_boundary_matches_the_faq_formula() -> None:
    """4.8 BTC @ 60,000 (288,000: tier 1) + 1.2 @ 61,000 -> 6.0 @ 60,200 = 361,200 notional at entry,
    tier 2 (0.5%, cum 300; Binance brackets 2026-03-26, freqtrade 6bc35af3).
    Margin: 14,400 + 1.2 x 61,000 / 20 = 18,060."""
    spec = iso(size=4.8, entry=60000.0, mark=61000.0)
    result = wi.add_size(BINANCE, [spec], 0.0, 0, 1.2, 61000.0)
    assert result.allowed
    after = result.after.positions[0]
    assert after.spec.entry_price == pytest.approx(60200.0, rel=1e-12)
    assert after.spec.isolated_margin == pytest.approx(18060.0, rel=1e-12)
    assert result.before.positions[0].tier.index == 1 and after.tier.index == 2
    expected = binance_isolated_lp("long", 6.0, 60200.0, 18060.0, 0.005, 300.0)
    assert after.liquidation_price == pytest.approx(expected, rel=1e-12)
    assert result.margin_added == pytest.approx(3660.0)


def test_add_size_past_max_leverage_is_not_allowed_and_reports_the_limit() -> None:
    # 100x: allowed up to tier 2 (cap 800,000 at 100x; Binance brackets 2026-03-26, freqtrade 6bc35af3);
    # adding 15 BTC @ 60,000 (960,000 in all) reaches tier 3 (75x).
    spec = iso(size=1.0, entry=60000.0, lev=100.0)
    result = wi.add_size(BINANCE, [spec], 0.0, 0, 15.0, 60000.0)
    assert not result.allowed and "75x" in (result.reason or "")
    assert result.max_add_size == pytest.approx((800000 - 60000) / 60000)
    ok = wi.add_size(BINANCE, [spec], 0.0, 0, result.max_add_size * 0.999, 60000.0)
    assert ok.allowed


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from(["binance", "bybit", "okx", "bitget", "gate", "hyperliquid"]),
    st.sampled_from(["long", "short"]),
    st.floats(0.8, 1.2),
    st.sampled_from(["isolated", "cross"]),
)
def test_adding_zero_changes_nothing(name: str, side: str, move: float, mode: str) -> None:
    venue = get_venue(name)
    spec = iso(side=side, mark=60000.0 * move, table=flat_table(0.005, 0, 100), fee_rate=venue.default_fee_rate)
    if mode == "cross":
        spec = dataclasses.replace(spec, margin_mode="cross", isolated_margin=None)
    result = wi.add_size(venue, [spec], 2000.0, 0, 0.0)
    assert result.after == result.before


# ---------------------------------------------------------------- leverage


def test_leverage_change_bybit_recomputes_margin_binance_requires_it() -> None:
    table = flat_table(0.005, 0, 100)
    spec = iso(size=1.0, entry=20000.0, mark=19000.0, lev=50.0, table=table)  # margin 400
    bybit = wi.change_leverage(get_venue("bybit"), [spec], 0.0, 0, 25.0)
    assert bybit.margin_change == pytest.approx(400.0)  # IM at entry: 20,000/25 - 400
    b_after = bybit.after.positions[0]
    assert b_after.spec.isolated_margin == pytest.approx(800.0)
    assert b_after.liquidation_price == pytest.approx(20000 - (800 - 20000 * 0.005) / 1.0, rel=1e-12)
    up = wi.change_leverage(get_venue("bybit"), [spec], 0.0, 0, 100.0)
    assert up.margin_change == pytest.approx(-200.0)  # released
    binance = wi.change_leverage(BINANCE, [spec], 0.0, 0, 25.0)
    # Binance keeps the margin and needs the new initial margin at mark (19,000/25 = 760) posted.
    assert binance.margin_change == pytest.approx(760.0 - 400.0)
    assert binance.after.positions[0].liquidation_price == pytest.approx(
        binance_isolated_lp("long", 1.0, 20000.0, 760.0, 0.005, 0.0), rel=1e-12
    )
    raise_lev = wi.change_leverage(BINANCE, [spec], 0.0, 0, 100.0)
    assert raise_lev.margin_change == 0.0 and not raise_lev.liquidation_price_moves


def test_cross_leverage_change_does_not_move_the_liquidation_price() -> None:
    spec = dataclasses.replace(iso(size=1.0, entry=60000.0, lev=10.0), margin_mode="cross", isolated_margin=None)
    result = wi.change_leverage(BINANCE, [spec], 8000.0, 0, 50.0)
    assert result.after.positions[0].liquidation_price == result.before.positions[0].liquidation_price
    assert not result.liquidation_price_moves
    assert result.margin_change == pytest.approx(60000 / 50 - 60000 / 10)
    assert result.max_position_value == pytest.approx(12_000_000)  # tier 4 (50x) is the last >= 50x


def test_leverage_above_bracket_max_is_refused() -> None:
    result = wi.change_leverage(BINANCE, [iso(size=20.0)], 0.0, 0, 100.0)  # 1.2M notional: tier 3 (800k-3M), 75x
    assert not result.allowed and "75x" in (result.reason or "")


# ---------------------------------------------------------------- margin


def test_remove_margin_to_the_limit() -> None:
    spec = iso(size=1.0, entry=60000.0, mark=61000.0, lev=10.0, margin=9000.0)
    result = wi.add_margin(BINANCE, [spec], 0.0, 0, 0.0)
    # keep = initial margin at mark (61,000/10 = 6,100); PnL is a profit, so it does not count.
    assert result.max_removable == pytest.approx(9000 - 6100)
    at_limit = wi.add_margin(BINANCE, [spec], 0.0, 0, -result.max_removable)
    assert at_limit.allowed
    p = at_limit.after.positions[0]
    assert p.spec.isolated_margin == pytest.approx(6100.0)
    # 1 BTC: tier 1 at the mark and at the liquidation price (0.4%, cum 0; Binance brackets 2026-03-26,
    # freqtrade 6bc35af3)
    assert p.tier.index == 1
    assert p.liquidation_price == pytest.approx(binance_isolated_lp("long", 1.0, 60000.0, 6100.0, 0.004, 0.0))
    too_much = wi.add_margin(BINANCE, [spec], 0.0, 0, -result.max_removable - 1.0)
    assert not too_much.allowed
    losing = wi.add_margin(BINANCE, [dataclasses.replace(spec, mark_price=59000.0)], 0.0, 0, 0.0)
    assert losing.max_removable == pytest.approx(9000 - 1000 - 5900)


def test_cross_margin_cannot_be_moved() -> None:
    spec = dataclasses.replace(iso(), margin_mode="cross", isolated_margin=None)
    with pytest.raises(ValueError, match="isolated"):
        wi.add_margin(BINANCE, [spec], 1000.0, 0, 100.0)


# ---------------------------------------------------------------- shocks


def _cross_pair() -> list[PositionSpec]:
    t = flat_table(0.005, 50, 100)
    a = PositionSpec("BTC/USDT:USDT", "long", 1.0, 60000.0, 60000.0, t, "cross", leverage=20)
    b = PositionSpec("ETH/USDT:USDT", "long", 10.0, 3000.0, 3000.0, t, "cross", leverage=20)
    return [a, b]


def test_shock_on_one_symbol_drags_the_other_cross_liquidation_price() -> None:
    specs = _cross_pair()
    wallet = 9000.0
    result = wi.shock(BINANCE, specs, wallet, [-0.05, -0.10], symbols={"BTC/USDT:USDT"})
    eth_lps = [step.risk.positions[1].liquidation_price for step in result.steps]
    for step, lp in zip(result.steps, eth_lps, strict=True):
        btc_mark = 60000 * (1 + step.move)
        tmm1 = btc_mark * 0.005 - 50
        upnl1 = btc_mark - 60000
        expected = (wallet - tmm1 + upnl1 + 50 - 10 * 3000) / (10 * 0.005 - 10)
        assert lp == pytest.approx(expected, rel=1e-12)
    assert eth_lps[1] > eth_lps[0]  # BTC's loss pulls ETH's liquidation price up toward its mark
    # The account liquidates when BTC alone falls to its cross liquidation price: both go together.
    btc_lp = assess(BINANCE, specs, wallet).positions[0].liquidation_price
    assert btc_lp is not None
    deep = wi.shock(BINANCE, specs, wallet, [-0.5], symbols={"BTC/USDT:USDT"})
    (event,) = deep.order
    assert event.scope == "cross account" and event.indices == [0, 1]
    assert 60000 * (1 + event.move) == pytest.approx(btc_lp, rel=1e-12)


def test_shock_order_and_liquidated_positions_are_removed() -> None:
    specs = [iso(size=1.0, lev=20.0), iso(size=1.0, lev=10.0, symbol="BTC/USDT:USDT"), *_cross_pair()]
    result = wi.shock(BINANCE, specs, 5000.0, [-0.02, -0.06, -0.2])
    # 1 BTC: tier 1 (0.4%, cum 0; Binance brackets 2026-03-26, freqtrade 6bc35af3): about -4.6% and -9.6%
    lp20 = binance_isolated_lp("long", 1.0, 60000.0, 3000.0, 0.004, 0.0)
    lp10 = binance_isolated_lp("long", 1.0, 60000.0, 6000.0, 0.004, 0.0)
    moves = [e.move for e in result.order]
    assert moves == sorted(moves, reverse=True)  # nearest first on the way down
    assert result.order[0].indices == [0] and result.order[0].move == pytest.approx(lp20 / 60000 - 1, rel=1e-9)
    # 90,000 of cross notional on a 5,000 wallet goes next (about -5.3%), then the 10x isolated.
    assert result.order[1].indices == [2, 3] and result.order[1].scope == "cross account"
    assert result.order[2].indices == [1] and result.order[2].move == pytest.approx(lp10 / 60000 - 1, rel=1e-9)
    assert result.steps[0].liquidated == []  # -2%
    assert result.steps[1].liquidated == [0, 2, 3]  # -6%
    assert result.steps[1].survivors == [1]
    assert result.steps[2].liquidated == [0, 1, 2, 3] and result.steps[2].survivors == []  # -20%


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["binance", "bybit", "okx", "bitget", "gate", "hyperliquid"]), st.floats(100, 20000))
def test_zero_shock_changes_nothing(name: str, wallet: float) -> None:
    venue = get_venue(name)
    specs = [*_cross_pair(), iso(size=0.3, table=flat_table(0.005, 0, 100))]
    specs = [dataclasses.replace(s, fee_rate=venue.default_fee_rate) for s in specs]
    step = wi.shock(venue, specs, wallet, [0.0]).steps[0]
    assert step.risk == assess(venue, specs, wallet)


# ---------------------------------------------------------------- targets


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(["binance", "bybit", "okx", "bitget", "gate", "hyperliquid"]),
    st.sampled_from(["long", "short"]),
    st.floats(0.05, 0.99),
    st.floats(2, 50),
    st.sampled_from(["isolated", "cross"]),
)
def test_solved_target_reproduces_the_ratio(name: str, side: str, ratio: float, lev: float, mode: str) -> None:
    venue = get_venue(name)
    table = bundle(venue).markets["BTC/USDT:USDT" if name != "hyperliquid" else "BTC/USDC:USDC"].table
    spec = iso(
        side=side, size=3.0, entry=60000.0, mark=60500.0, lev=min(lev, 20), table=table, fee_rate=venue.default_fee_rate
    )
    specs = [spec]
    wallet = 0.0
    if mode == "cross":
        specs = [dataclasses.replace(spec, margin_mode="cross", isolated_margin=None), *_cross_pair()[1:]]
        wallet = 3 * 60000 / lev + 2000
    mark = wi.target_mark(venue, specs, wallet, 0, ratio)
    if mark is None:
        return
    moved = assess(venue, [wi.with_mark(specs[0], mark), *specs[1:]], wallet)
    got = moved.positions[0].margin_ratio if mode == "isolated" else moved.account.cross_margin_ratio
    assert got is not None
    assert math.isclose(got, ratio, rel_tol=1e-9) or _jump(venue, specs, wallet, mark, ratio, mode)


def _jump(venue: Any, specs: list[PositionSpec], wallet: float, mark: float, ratio: float, mode: str) -> bool:
    """At a bracket boundary of a table without maintenance amounts the ratio jumps over the target."""
    vals = []
    for f in (1 - 1e-9, 1 + 1e-9):
        r = assess(venue, [wi.with_mark(specs[0], mark * f), *specs[1:]], wallet)
        vals.append(r.positions[0].margin_ratio if mode == "isolated" else r.account.cross_margin_ratio)
    return None not in vals and min(vals) <= ratio <= max(vals)  # type: ignore[type-var]


def test_target_move_reproduces_the_cross_ratio() -> None:
    specs = _cross_pair()
    for ratio in (0.5, 0.8, 1.0):
        move = wi.target_move(BINANCE, specs, 9000.0, ratio)
        assert move is not None and move < 0
        moved = assess(BINANCE, [wi.with_mark(s, s.mark_price * (1 + move)) for s in specs], 9000.0)
        assert moved.account.cross_margin_ratio == pytest.approx(ratio, rel=1e-9)


def test_max_add_for_distance() -> None:
    spec = iso(size=0.5, entry=60000.0, mark=60000.0, lev=5.0)  # LP ~19.9% below
    size, limit = wi.max_add_for_distance(BINANCE, [spec], 0.0, 0, 0.10)
    assert limit in ("distance", "bracket")
    if limit == "distance":
        d = wi.add_size(BINANCE, [spec], 0.0, 0, size).after.positions[0].distance_to_liquidation
        assert d == pytest.approx(0.10, rel=1e-9)
    assert wi.max_add_for_distance(BINANCE, [spec], 0.0, 0, 0.5) == (0.0, "already within")


# ---------------------------------------------------------------- ladder, partial


def test_ladder_is_sorted_nearest_first() -> None:
    specs = [iso(lev=5.0), iso(lev=50.0, symbol="ETH/USDT:USDT", entry=3000.0, size=5.0)]
    rungs = wi.ladder(assess(BINANCE, specs, 0.0))
    assert [r.index for r in rungs] == [1, 0]
    assert rungs[0].distance_to_bankruptcy is not None
    assert rungs[0].distance_to_liquidation < rungs[0].distance_to_bankruptcy  # type: ignore[operator]


def test_partial_liquidation_models() -> None:
    okx = get_venue("okx")
    okx_btc = bundle(okx).markets["BTC/USDT:USDT"].table  # tiers: <=1000, <=5000, <=20000 contracts
    big = iso(size=150.0, entry=60000.0, lev=20.0, table=okx_btc, fee_rate=0.0005)  # 15,000 contracts: tier 3
    preview = wi.partial_liquidation(okx, [big], 0.0, 0)
    assert preview.model == "two_tiers_down"
    assert preview.steps[0].remaining_size == pytest.approx(10.0)  # down to tier 1's cap: 1000 contracts
    small = iso(size=5.0, entry=60000.0, lev=20.0, table=okx_btc, fee_rate=0.0005)
    assert wi.partial_liquidation(okx, [small], 0.0, 0).fully_liquidated
    hl = get_venue("hyperliquid")
    hl_btc = bundle(hl).markets["BTC/USDC:USDC"].table
    whale = iso(size=10.0, entry=60000.0, lev=10.0, table=hl_btc, symbol="BTC/USDC:USDC")
    first = wi.partial_liquidation(hl, [whale], 0.0, 0).steps[0]
    assert first.closed_size == pytest.approx(2.0)  # 20% slice above 100k USDC
    gate = wi.partial_liquidation(get_venue("gate"), [iso(table=flat_table(0.005, 0, 100))], 0.0, 0)
    assert gate.model == "full" and gate.fully_liquidated


def test_shock_finds_a_liquidation_in_a_dip_before_a_bracket_boundary() -> None:
    """A table without maintenance amounts (Bitget) drops the requirement at a bracket boundary:
    a long falling towards 50,000 is liquidated at 50,100 (in the 10 % bracket), and below 50,000
    (1 %) its margin would cover it again until 45,542.6. The shock's first event is the first
    crossing, at the liquidation price, not the second one a grid of steps finds (it used to
    report -24.1 % here instead of -16.5 %)."""
    from liqwatch.core.tiers import Tier, TierTable

    venue = get_venue("bitget")
    table = TierTable(
        (Tier(1, 0.0, 50_000.0, 0.01, 0.0, 50.0), Tier(2, 50_000.0, float("inf"), 0.10, 0.0, 10.0)),
        basis="notional",
    )
    margin = 60_000 - 50_100 * (1 - 0.10 - 0.0006)  # h(50,100) = 0 in the 10 % bracket
    spec = PositionSpec(
        symbol="BTC/USDT:USDT",
        side="long",
        size=1.0,
        entry_price=60_000.0,
        mark_price=60_000.0,
        tiers=table,
        isolated_margin=margin,
        fee_rate=0.0006,
    )
    lp = assess(venue, [spec]).positions[0].liquidation_price
    assert lp == pytest.approx(50_100.0, rel=1e-12)
    res = wi.shock(venue, [spec], 0.0, [-0.9])
    assert res.order[0].move == pytest.approx(50_100.0 / 60_000.0 - 1, rel=1e-9)
