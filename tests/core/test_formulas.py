"""Each venue's formula, recomputed independently from the venue's own published expression.

The engine solves one general equation (equity = requirement at the mark); these tests write each
venue's documented closed form out by hand and check the engine agrees, so a convention slip in a
venue module (fee in or out, MM at entry or mark, tier basis, boundary side) cannot hide.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liqwatch.core import PositionSpec, assess, build_table, flat_table, get_venue
from liqwatch.core.venues import VENUES, effective_leverage
from liqwatch.markets import bundle
from liqwatch.request import PositionRequest, build_spec

FIXTURES = Path(__file__).parent.parent / "fixtures"


def spec(**kw: object) -> PositionSpec:
    base: dict[str, object] = {"symbol": "X/USDT:USDT", "mark_price": kw.get("entry_price", 100.0)}
    base.update(kw)
    return PositionSpec(**base)  # type: ignore[arg-type]


# ---------------------------------------------------------------- OKX


def test_okx_isolated_matches_mgnratio_definition() -> None:
    """OKX v5: mgnRatio = (margin + UPL) / (ctVal x |contracts| x mark x (MMR + fee)), liquidation
    at mgnRatio <= 100%; solving gives LP = (EP -/+ M/Q) / (1 -/+ (MMR + f))."""
    okx = get_venue("okx")
    q, ep, margin, mmr, fee = 3.0, 2500.0, 500.0, 0.01, 0.0005
    for side, s in (("long", 1), ("short", -1)):
        p = spec(
            side=side,
            size=q,
            entry_price=ep,
            mark_price=2450.0,
            tiers=flat_table(mmr, 0, 50),
            isolated_margin=margin,
            fee_rate=fee,
        )
        r = assess(okx, [p]).positions[0]
        lp = (ep - s * margin / q) / (1 - s * (mmr + fee))
        assert r.liquidation_price == pytest.approx(lp, rel=1e-12)
        upl = s * q * (2450.0 - ep)
        native = (margin + upl) / (q * 2450.0 * (mmr + fee))
        assert r.margin_ratio_native == pytest.approx(native, rel=1e-12)
        assert r.margin_ratio is not None
        assert r.margin_ratio * native == pytest.approx(1.0, rel=1e-12)
        assert r.bankruptcy_price == pytest.approx(ep - s * margin / q, rel=1e-12)


def test_okx_tiers_are_counted_in_contracts() -> None:
    """OKX BTC-USDT-SWAP: ctVal 0.01 BTC; tier 1 is 0-1000 contracts (10 BTC), inclusive."""
    okx = get_venue("okx")
    market = bundle(okx).markets["BTC/USDT:USDT"]
    assert market.table.basis == "quantity"
    assert market.table.lookup(10.0).index == 1  # 1000 contracts: still tier 1
    assert market.table.lookup(10.01).index == 2  # 1001 contracts
    # The bracket does not move with price: same tier at any mark.
    req = PositionRequest(symbol="BTC-USDT-SWAP", side="long", size=9.0, entry_price=60000, leverage=10)
    a = build_spec(okx, req)
    for mark in (30000.0, 60000.0, 200000.0):
        assert assess(okx, [dataclasses.replace(a, mark_price=mark)]).positions[0].tier.index == 1


def test_okx_lookup_examples_from_freqtrade() -> None:
    data = json.loads((FIXTURES / "venue_vectors.json").read_text())
    okx = get_venue("okx")
    eth = build_table(
        [
            {"min": 0, "max": 2000, "mmr": 0.01, "max_leverage": 75},
            {"min": 2000, "max": 4000, "mmr": 0.015, "max_leverage": 50},
            {"min": 4000, "max": 8000, "mmr": 0.02, "max_leverage": 20},
        ],
        basis="quantity",
        boundary=okx.default_boundary,
        derive_maint_amount=okx.derives_maint_amount,
    )
    cases = [c for c in data["tier_lookup_examples"] if c["venue"] == "okx" and c["symbol"] == "ETH/USDT:USDT"]
    assert cases
    for case in cases:
        assert eth.lookup(case["lookup_value"]).mmr == case["expected_mmr"]
        assert eth.lookup(case["lookup_value"]).maint_amount == 0.0


# ---------------------------------------------------------------- Bitget / Gate


@pytest.mark.parametrize("side", ["long", "short"])
def test_bitget_article_formula(side: str) -> None:
    """Bitget 12560603808759: LP = (positionMargin - Q*EP*dir) / (Q*(MMR + takerFee - dir))."""
    bitget = get_venue("bitget")
    d = 1 if side == "long" else -1
    q, ep, margin, mmr, taker = 0.7, 61000.0, 2135.0, 0.004, 0.0006
    p = spec(side=side, size=q, entry_price=ep, tiers=flat_table(mmr, 0, 125), isolated_margin=margin, fee_rate=taker)
    lp = (margin - q * ep * d) / (q * (mmr + taker - d))
    assert assess(bitget, [p]).positions[0].liquidation_price == pytest.approx(lp, rel=1e-12)


@pytest.mark.parametrize("side", ["long", "short"])
def test_gate_help_formula_in_contracts(side: str) -> None:
    """Gate 27724: LP = (EP -/+ Margin / Multiplier / Size) / [1 -/+ (MMR + taker)], size in contracts."""
    gate = get_venue("gate")
    d = 1 if side == "long" else -1
    contracts, multiplier, ep, margin, mmr, taker = 5000, 0.0001, 95000.0, 950.0, 0.003, 0.00075
    lp = (ep - d * margin / multiplier / contracts) / (1 - d * (mmr + taker))
    req = PositionRequest(
        symbol="BTC_USDT",
        side=side,
        size=contracts * multiplier,  # type: ignore[arg-type]
        entry_price=ep,
        isolated_margin=margin,
    )
    p = build_spec(gate, req)
    r = assess(gate, [p]).positions[0]
    assert r.tier.mmr == mmr  # bundled BTC_USDT tier 1
    assert p.fee_rate == taker
    assert r.liquidation_price == pytest.approx(lp, rel=1e-12)
    assert r.bankruptcy_price == pytest.approx(ep - d * margin / (contracts * multiplier), rel=1e-12)


# ---------------------------------------------------------------- Hyperliquid


@pytest.mark.parametrize(("side", "mark"), [("long", 95000.0), ("long", 104000.0), ("short", 97000.0)])
def test_hyperliquid_docs_formula_at_any_mark(side: str, mark: float) -> None:
    """HL docs: liq = price - side * margin_available / size / (1 - l * side), l = 1/(2 * maxLev),
    margin_available = isolated margin (incl. PnL, as HL reports it) - maintenance margin."""
    hl = get_venue("hyperliquid")
    s = 1 if side == "long" else -1
    q, ep, lev = 0.8, 100000.0, 10.0
    req = PositionRequest(
        symbol="BTC",
        side=side,
        size=q,
        entry_price=ep,
        leverage=lev,  # type: ignore[arg-type]
        mark_price=mark,
    )
    p = build_spec(hl, req)
    r = assess(hl, [p]).positions[0]
    max_lev = r.tier.max_leverage
    l = 1 / (2 * max_lev)  # noqa: E741 - the docs' name
    assert r.tier.mmr == pytest.approx(l)
    margin_with_pnl = q * ep / lev + s * q * (mark - ep)
    available = margin_with_pnl - q * mark * l
    liq = mark - s * available / q / (1 - l * s)
    assert r.liquidation_price == pytest.approx(liq, rel=1e-12)


def test_hyperliquid_max_leverage_override_derives_mmr() -> None:
    hl = get_venue("hyperliquid")
    req = PositionRequest(symbol="NEWCOIN", side="long", size=10, entry_price=3, leverage=3, max_leverage=5)
    p = build_spec(hl, req)
    assert p.tiers.tiers[0].mmr == pytest.approx(0.1)  # 1 / (2 x 5)


# ---------------------------------------------------------------- Bybit


def test_bybit_isolated_uses_mm_at_entry_and_optional_fee_to_close() -> None:
    """Bybit: LP = EP - (IM - MM)/Q - Extra/Q with IM, MM at entry; the mark does not move it."""
    bybit = get_venue("bybit")
    q, ep, lev, mmr = 0.15, 3851.73, 3.0, 0.005
    im = q * ep / lev
    base = spec(side="long", size=q, entry_price=ep, tiers=flat_table(mmr, 0, 100), leverage=lev, isolated_margin=im)
    for mark in (3700.0, 3851.73, 4200.0):
        r = assess(bybit, [dataclasses.replace(base, mark_price=mark)]).positions[0]
        assert r.liquidation_price == pytest.approx(ep - (im - q * ep * mmr) / q, rel=1e-12)
        assert r.bankruptcy_price == pytest.approx(ep * (1 - 1 / lev), rel=1e-12)
        assert r.maintenance_margin == pytest.approx(q * ep * mmr, rel=1e-12)
    # Fee to close (priced at the bankruptcy price) added to MM when a fee rate is given.
    fee = 0.00055
    r = assess(bybit, [dataclasses.replace(base, fee_rate=fee)]).positions[0]
    bust = ep * (1 - 1 / lev)
    assert r.liquidation_fee == pytest.approx(q * bust * fee, rel=1e-12)
    assert r.liquidation_price == pytest.approx(ep - (im - q * ep * mmr - q * bust * fee) / q, rel=1e-12)


def test_bybit_risk_limit_is_cap_inclusive_and_valued_at_entry() -> None:
    bybit = get_venue("bybit")
    table = bundle(bybit).markets["BTC/USDT:USDT"].table
    cap = table.tiers[0].cap
    assert table.lookup(cap).index == 1  # (previous limit, limit]
    assert table.lookup(cap + 0.01).index == 2
    # isolated: the bracket is chosen by the position value at entry, not at the mark
    p = spec(
        side="long",
        size=cap / 50000,
        entry_price=50000.0,
        mark_price=60000.0,
        tiers=table,
        leverage=10,
        isolated_margin=cap / 10,
    )
    assert assess(bybit, [p]).positions[0].tier.index == 1


# ---------------------------------------------------------------- Binance


def _binance_faq_lp(wb: float, tmm: float, upnl: float, legs: list[tuple[str, float, float, float, float]]) -> float:
    """The FAQ expression with BOTH/LONG/SHORT legs: (side, qty, ep, mmr, cum)."""
    num = wb - tmm + upnl
    den = 0.0
    for side, q, ep, mmr, cum in legs:
        num += cum
        if side == "long":
            num -= q * ep
            den += q * mmr - q
        else:
            num += q * ep
            den += q * mmr + q
    return num / den


def test_binance_hedge_mode_cross_legs_share_the_faq_price() -> None:
    binance = get_venue("binance")
    t = flat_table(0.005, 50, 100)
    wb = 3000.0
    other = spec(
        symbol="ETH/USDT:USDT",
        side="short",
        size=2.0,
        entry_price=3000,
        mark_price=3100,
        tiers=flat_table(0.005, 50, 100),
        margin_mode="cross",
    )
    long_leg = spec(
        symbol="BTC/USDT:USDT",
        side="long",
        position_side="long",
        size=0.5,
        entry_price=60000,
        mark_price=59000,
        tiers=t,
        margin_mode="cross",
    )
    short_leg = spec(
        symbol="BTC/USDT:USDT",
        side="short",
        position_side="short",
        size=0.2,
        entry_price=61000,
        mark_price=59000,
        tiers=t,
        margin_mode="cross",
    )
    r = assess(binance, [long_leg, short_leg, other], wb).positions
    tmm = 2.0 * 3100 * 0.005 - 50
    upnl = -2.0 * (3100 - 3000)
    lp = _binance_faq_lp(wb, tmm, upnl, [("long", 0.5, 60000, 0.005, 50), ("short", 0.2, 61000, 0.005, 50)])
    assert r[0].liquidation_price == pytest.approx(lp, rel=1e-12)
    assert r[1].liquidation_price == r[0].liquidation_price


def test_binance_bracket_re_check_at_liquidation_price() -> None:
    """A long whose liquidation notional falls into a lower bracket is solved with that bracket."""
    binance = get_venue("binance")
    table = bundle(binance).markets["BTC/USDT:USDT"].table
    # Binance brackets 2026-03-26 (freqtrade 6bc35af3), BTCUSDT: tier 1 = 0-300k, 0.4%, cum 0; tier 2 =
    # 300k-800k, 0.5%, cum 300. 6 BTC at 60,000 = 360,000: tier 2. At 1.15x it liquidates near 7,830:
    # notional ~47k < 300k -> tier 1. LP (long, isolated) = (size x entry - margin + cum) / (size x (1 - mmr)).
    margin = 6 * 60000 / 1.15
    p = spec(side="long", size=6.0, entry_price=60000, tiers=table, leverage=1.15, isolated_margin=margin)
    r = assess(binance, [p]).positions[0]
    assert r.tier.index == 2
    lp_tier1 = (6 * 60000 - margin + 0) / (6 * (1 - 0.004))
    assert r.liquidation_price == pytest.approx(lp_tier1, rel=1e-12)
    assert table.lookup(6 * r.liquidation_price).index == 1  # the notional at the liquidation price
    assert table.lookup(6 * 60000).index == 2


# ---------------------------------------------------------------- ADL


def test_effective_leverage_is_notional_over_equity() -> None:
    """BitMEX: 'Effective Leverage = value / equity', 95 / 5 = 19x (not the inverse)."""
    assert effective_leverage(95.0, 5.0) == 19.0
    assert effective_leverage(-95.0, 5.0) == 19.0
    assert effective_leverage(95.0, 0.0) is None


def test_binance_adl_estimate_follows_the_faq() -> None:
    binance = get_venue("binance")
    p = spec(
        side="long",
        size=1.0,
        entry_price=50000,
        mark_price=55000,
        tiers=flat_table(0.004, 0, 125),
        leverage=20,
        isolated_margin=2500,
    )
    r = assess(binance, [p]).positions[0]
    upnl = 5000.0
    pnl_pct = upnl / 2500
    ratio = 55000 * 0.004 / (2500 + upnl)
    assert r.adl.score == pytest.approx(pnl_pct * ratio, rel=1e-12)
    assert r.adl.source == "estimate"
    losing = assess(binance, [dataclasses.replace(p, mark_price=49000)]).positions[0]
    assert losing.adl.score == 0.0 and losing.adl.lights == 1


def test_exchange_adl_levels_map_to_lights() -> None:
    assert get_venue("binance").adl_lights_from_exchange(0) == 1  # adlQuantile 0..4 -> 1..5
    assert get_venue("binance").adl_lights_from_exchange(4) == 5
    assert get_venue("bybit").adl_lights_from_exchange(3) == 3
    assert get_venue("okx").adl_lights_from_exchange(5) == 5
    p = spec(
        side="long",
        size=1.0,
        entry_price=100,
        tiers=flat_table(0.01, 0, 50),
        leverage=5,
        isolated_margin=20,
        adl_lights=4,
    )
    r = assess(get_venue("bybit"), [p]).positions[0]
    assert (r.adl.lights, r.adl.source) == (4, "exchange")


def test_adl_estimate_grows_with_profit_and_leverage() -> None:
    for name in ("bybit", "gate", "hyperliquid", "binance", "okx", "bitget"):
        venue = get_venue(name)
        scores = []
        for lev, mark in ((2, 110.0), (10, 110.0), (10, 130.0)):
            p = spec(
                side="long",
                size=10.0,
                entry_price=100.0,
                mark_price=mark,
                tiers=flat_table(0.01, 0, 50),
                leverage=lev,
                isolated_margin=1000.0 / lev,
                fee_rate=venue.default_fee_rate,
            )
            scores.append(assess(venue, [p]).positions[0].adl.score)
        assert scores[0] < scores[1] < scores[2], name
        assert all(math.isfinite(x) for x in scores)


def test_okx_cross_hedge_legs_share_the_bracket_of_their_combined_size() -> None:
    okx = get_venue("okx")
    table = bundle(okx).markets["BTC/USDT:USDT"].table  # tier 1: <= 1000 contracts = 10 BTC
    legs = [
        spec(
            symbol="BTC/USDT:USDT",
            side=side,
            position_side=side,
            size=6.0,
            entry_price=60000.0,
            mark_price=60500.0,
            tiers=table,
            margin_mode="cross",
            fee_rate=0.0005,
        )
        for side in ("long", "short")
    ]
    isolated = [dataclasses.replace(x, margin_mode="isolated", isolated_margin=36000.0) for x in legs]
    assert {p.tier.index for p in assess(okx, isolated).positions} == {1}
    cross = assess(okx, legs, 5000.0)
    assert {p.tier.index for p in cross.positions} == {2}  # 12 BTC = 1200 contracts combined
    for p in cross.positions:
        assert p.maintenance_margin == pytest.approx(6.0 * 60500.0 * table.tiers[1].mmr, rel=1e-12)
    lp = cross.positions[0].liquidation_price
    assert lp is not None and lp == cross.positions[1].liquidation_price
    moved = assess(okx, [dataclasses.replace(x, mark_price=lp) for x in legs], 5000.0).account
    assert moved.cross_margin_ratio == pytest.approx(1.0, rel=1e-9)


@settings(max_examples=200)
@given(st.sampled_from(sorted(VENUES)), st.one_of(st.floats(allow_nan=True), st.sampled_from([0.0, 0.002, 0.05, 3.0])))
def test_adl_lights_count_the_thresholds_reached(name: str, score: float) -> None:
    """The estimate's lights: 1 + each threshold the score reaches (NaN reaches none); the venues'
    thresholds ascend (the count is a bisection)."""
    venue = VENUES[name]
    thresholds = venue.adl_thresholds
    assert list(thresholds) == sorted(thresholds)
    assert venue.adl_lights_from_score(score) == 1 + sum(score >= t for t in thresholds)


@pytest.mark.parametrize("name", sorted(VENUES))
def test_native_margin_ratio_is_named_where_a_venue_computes_one(name: str) -> None:
    """The core asks for the native ratio only where the venue names it: a venue that overrides
    the figure without naming it would have it silently dropped."""
    from liqwatch.core.venues.base import Venue

    venue = VENUES[name]
    computes = type(venue).native_margin_ratio is not Venue.native_margin_ratio
    assert computes == (venue.native_margin_ratio_name is not None)
