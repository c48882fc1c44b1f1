"""Coin-margined (inverse) perpetuals: every worked example of the reference note
(../shared/reference/inverse.md) through the engine, and the bundled Binance COIN-M table.

Size is the USD face value Q (contracts x contract size), prices are in USD, margin / MM / fees /
PnL in the settle coin. Numbers quoted in the note are the venues' own (or, where marked there,
derived by the note's algebra from the venue's published formula)."""

from __future__ import annotations

import pytest

from liqwatch.core import InputError, PositionSpec, assess, build_table, flat_table, get_venue
from liqwatch.core.engine import bracket_value
from liqwatch.core.tiers import TierTable, derive_maint_amounts
from liqwatch.core.venues.bybit import BybitInverse2024
from liqwatch.markets import bundle

BINANCE = get_venue("binance")
BYBIT = get_venue("bybit")
OKX = get_venue("okx")
GATE = get_venue("gate")
BITGET = get_venue("bitget")
HYPERLIQUID = get_venue("hyperliquid")
BYBIT_2024 = BybitInverse2024()

OLD_CAPS = [10, 20, 30, 50, 100, 200, 400, 1000]
NEW_CAPS = [5, 10, 20, 50, 100, 200, 400, 1000]
MMRS = [0.004, 0.005, 0.01, 0.025, 0.05, 0.10, 0.125, 0.15]
LEVERAGES = [125, 100, 50, 20, 10, 5, 4, 3]


def coinm_table(caps: list[int]) -> TierTable:
    floors = [0, *caps[:-1]]
    rows: list[dict[str, float | None]] = [
        {"min": f, "max": c, "mmr": m, "max_leverage": lev}
        for f, c, m, lev in zip(floors, caps, MMRS, LEVERAGES, strict=True)
    ]
    return build_table(rows, complete=False)


def inverse(
    side: str = "long",
    q: float = 10_000.0,
    entry: float = 8_000.0,
    mark: float | None = None,
    table: TierTable | None = None,
    **kw: object,
) -> PositionSpec:
    return PositionSpec(
        "BTC/USD:BTC",
        side,  # type: ignore[arg-type]
        q,
        entry,
        entry if mark is None else mark,
        table or flat_table(0.005, 0.0, 100),
        inverse=True,
        **kw,  # type: ignore[arg-type]
    )


# ---------------------------------------------------------------- Binance COIN-M (inverse.md §1.1)


def test_binance_coinm_maintenance_margin_example() -> None:
    """100 contracts x 100 USD at mark 25,000: notional 0.4 BTC (level 1), MM = 0.4 x 0.4% = 0.0016 BTC."""
    spec = inverse(q=100 * 100.0, entry=25_000.0, table=coinm_table(NEW_CAPS), isolated_margin=0.1)
    p = assess(BINANCE, [spec]).positions[0]
    assert p.notional == pytest.approx(0.4, rel=1e-15)
    assert p.tier.index == 1
    assert p.maintenance_margin == pytest.approx(0.0016, rel=1e-12)
    assert p.bracket_value == pytest.approx(0.4, rel=1e-15)


def test_binance_coinm_maintenance_amounts_old_and_new_tables() -> None:
    """Older FAQ: level 5 amount = 50 x (5% - 2.5%) + 0.56 = 1.81 BTC, 300 BTC -> 12.5% / 11.81 BTC.
    Newer FAQ: 300 BTC -> 12.5% / 11.605 BTC. Both reproduce from the reconstructed caps."""
    old = coinm_table(OLD_CAPS)
    assert old.tiers[3].maint_amount == pytest.approx(0.56, abs=1e-12)
    assert old.tiers[4].maint_amount == pytest.approx(1.81, abs=1e-12)
    assert old.lookup(300).mmr == 0.125
    assert old.lookup(300).maint_amount == pytest.approx(11.81, abs=1e-12)
    new = coinm_table(NEW_CAPS)
    assert new.lookup(300).mmr == 0.125
    assert new.lookup(300).maint_amount == pytest.approx(11.605, abs=1e-12)
    assert derive_maint_amounts([0, *OLD_CAPS[:-1]], MMRS)[4] == pytest.approx(1.81, abs=1e-12)


def test_bundled_binance_coinm_table() -> None:
    """BTC/USD:BTC in the Binance bundle: the 2021 BTCUSD perpetual brackets in BTC notional,
    contract 100 USD, tick 0.1, incomplete past 1,000 BTC; the published amount 11.605 reproduces."""
    market = bundle(BINANCE).markets["BTC/USD:BTC"]
    assert market.id == "BTCUSD_PERP"
    assert market.contract_size == 100.0 and market.tick_size == 0.1
    table = market.table
    assert table.basis == "notional" and not table.complete
    assert table.as_of == "2021-07-27" and table.origin == "bundled"
    assert [t.cap for t in table.tiers] == NEW_CAPS
    assert [t.mmr for t in table.tiers] == MMRS
    assert [t.max_leverage for t in table.tiers] == LEVERAGES
    assert table.lookup(300).maint_amount == pytest.approx(11.605, abs=1e-12)
    entry = bundle(BINANCE).markets.entry("BTC/USD:BTC")
    assert entry is not None and entry["inverse"] is True and entry["settle"] == "BTC"
    spec = inverse(q=100 * 100.0, entry=25_000.0, table=table, isolated_margin=0.1)
    assert assess(BINANCE, [spec]).positions[0].maintenance_margin == pytest.approx(0.0016, rel=1e-12)


def test_binance_coinm_liquidation_rechecks_the_bracket_at_the_lp() -> None:
    """A 30 BTC-notional long at 20x sits in level 4 at the mark; at its LP the coin value is
    larger, still level 4; equity there equals MM (the FAQ's formula with cum)."""
    table = coinm_table(NEW_CAPS)
    q = 30 * 50_000.0  # 30 BTC at 50,000
    spec = inverse(q=q, entry=50_000.0, table=table, isolated_margin=30 / 20)
    p = assess(BINANCE, [spec]).positions[0]
    lp = p.liquidation_price
    assert lp is not None
    tier = table.lookup(q / lp)
    equity = 30 / 20 + q * (1 / 50_000.0 - 1 / lp)
    assert equity == pytest.approx(q / lp * tier.mmr - tier.maint_amount, rel=1e-12)
    # the closed form of inverse.md §1.0 with that bracket's MMR and cum
    closed = q * (1 + tier.mmr) / (30 / 20 + tier.maint_amount + q / 50_000.0)
    assert lp == pytest.approx(closed, rel=1e-12)


# ---------------------------------------------------------------- Bybit inverse (inverse.md §1.2)


def test_bybit_initial_margin_example() -> None:
    """12,000 contracts (USD) at 8,000, 50x: IM = 12,000 / (8,000 x 50) = 0.03 BTC."""
    p = assess(BYBIT, [inverse(q=12_000.0, entry=8_000.0, leverage=50, isolated_margin=0.03)]).positions[0]
    assert p.initial_margin == pytest.approx(0.03, rel=1e-12)


@pytest.mark.parametrize(("side", "expected"), [("long", 45_681.82), ("short", 55_277.78)])
def test_bybit_uta_v2026_example(side: str, expected: float) -> None:
    """UTA isolated (2026 page, MM at the LP, fee to close on both sides): 60,000 USD at 50,000,
    10x, MMR 0.5%: PV 1.2 BTC, IM 0.12 BTC, MM 0.006 BTC -> 45,681.82 (short 55,277.78)."""
    spec = inverse(side, q=60_000.0, entry=50_000.0, leverage=10, isolated_margin=0.12)
    p = assess(BYBIT, [spec]).positions[0]
    assert p.notional == pytest.approx(1.2, rel=1e-15)
    assert p.initial_margin == pytest.approx(0.12, rel=1e-12)
    assert p.maintenance_margin == pytest.approx(0.006, rel=1e-12)
    assert p.liquidation_price == pytest.approx(expected, abs=0.005)


@pytest.mark.parametrize(("side", "expected"), [("long", 45_662.10), ("short", 55_248.62)])
def test_bybit_uta_v2024_example(side: str, expected: float) -> None:
    """The other published version (2024 page, MM at entry): LP = Qty / [PV +/- (IM - MM)]."""
    spec = inverse(side, q=60_000.0, entry=50_000.0, leverage=10, isolated_margin=0.12)
    p = assess(BYBIT_2024, [spec]).positions[0]
    assert p.maintenance_margin == pytest.approx(0.006, rel=1e-12)
    assert p.liquidation_price == pytest.approx(expected, abs=0.005)


@pytest.mark.parametrize(("side", "expected"), [("long", 7_881.77), ("short", 8_121.83)])
def test_bybit_legacy_isolated_examples(side: str, expected: float) -> None:
    """Classic page, Trader A long / Trader B short @ 8,000, 50x, MMR 0.5% (MM at entry):
    LP = EP x lev / (lev +/- 1 -/+ MMR x lev) -> 7,881.77 / 8,121.83."""
    q = 10_000.0
    spec = inverse(side, q=q, entry=8_000.0, leverage=50, isolated_margin=q / 8_000.0 / 50)
    p = assess(BYBIT_2024, [spec]).positions[0]
    assert p.liquidation_price == pytest.approx(expected, abs=0.005)


def test_bybit_legacy_cross_example() -> None:
    """Classic cross: Qty 10,000, EP 8,000, AB 0.5 BTC, OM 0, MMR 0.5%, taker 0.075% reserved at
    the bankruptcy price BP = 1.00075 Qty / (Qty/EP + AB) = 5,718.57; raw LP 5,739.08 (shown
    5,739.50 after Bybit's round-up to the 0.5 tick). A lone position's collateral is AB - OM."""
    spec = inverse(q=10_000.0, entry=8_000.0, isolated_margin=0.5, fee_rate=0.00075)
    p = assess(BYBIT_2024, [spec]).positions[0]
    bp_with_fee = 1.00075 * 10_000 / (10_000 / 8_000 + 0.5)
    assert bp_with_fee == pytest.approx(5_718.57, abs=0.005)
    assert p.liquidation_fee == pytest.approx(0.00075 * 10_000 / bp_with_fee, rel=1e-12)
    assert p.liquidation_price == pytest.approx(5_739.0835, abs=5e-5)


def test_bybit_bankruptcy_price_example() -> None:
    """ADL page: BP_long = EP x lev / (lev + 1) = 7,890.08 x 50/51 = 7,735.37 (shown 7,735.50)."""
    q = 10_000.0
    spec = inverse(q=q, entry=7_890.08, leverage=50, isolated_margin=q / 7_890.08 / 50)
    for venue in (BYBIT, BYBIT_2024):
        assert assess(venue, [spec]).positions[0].bankruptcy_price == pytest.approx(7_735.37, abs=0.005)


# ---------------------------------------------------------------- OKX / Gate / Bitget (§1.0, §1.3, §1.5, §1.6)


@pytest.mark.parametrize("side", ["long", "short"])
def test_gate_help_formula(side: str) -> None:
    """Gate help 27724: LP = Size x EP x (1 +/- MMR +/- taker) / (Size +/- Margin x EP)."""
    s = 1 if side == "long" else -1
    size, ep, margin, mmr, taker = 25_000.0, 61_000.0, 0.05, 0.005, 0.00075
    spec = inverse(side, q=size, entry=ep, mark=60_000.0, table=flat_table(mmr, 0.0, 100), isolated_margin=margin)
    spec.fee_rate = taker
    p = assess(GATE, [spec]).positions[0]
    expected = size * ep * (1 + s * mmr + s * taker) / (size + s * margin * ep)
    assert p.liquidation_price == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("venue", [OKX, BITGET])
@pytest.mark.parametrize("side", ["long", "short"])
def test_okx_bitget_common_form_with_taker(venue: object, side: str) -> None:
    """§1.0 with f = the taker fee and no maintenance amount: LP = Q (s + MMR + f) / (M + s Q / EP)."""
    from liqwatch.core.venues import Venue

    assert isinstance(venue, Venue)
    s = 1 if side == "long" else -1
    q, ep, m = 40_000.0, 30_000.0, 0.2
    rows: list[dict[str, float | None]] = [
        {"min": 0, "max": 2000, "mmr": 0.004, "max_leverage": 125},
        {"min": 2000, "max": 4000, "mmr": 0.006, "max_leverage": 75},
    ]
    table = build_table(rows, basis="quantity", boundary="cap_inclusive", derive_maint_amount=False, quantity_scale=100)
    spec = inverse(side, q=q, entry=ep, mark=29_500.0, table=table, isolated_margin=m)
    spec.fee_rate = venue.default_fee_rate
    p = assess(venue, [spec]).positions[0]
    assert p.tier.index == 1  # 400 contracts of 100 USD: the first 2,000
    assert bracket_value(spec, 29_500.0) == q
    f = venue.default_fee_rate
    assert p.liquidation_price == pytest.approx(q * (s + 0.004 + f) / (m + s * q / ep), rel=1e-12)
    assert p.liquidation_fee == pytest.approx(f * q / 29_500.0, rel=1e-12)


@pytest.mark.parametrize("venue", [BINANCE, BYBIT, OKX, BITGET, GATE])
def test_one_x_long_liquidates_at_half_entry(venue: object) -> None:
    """inverse.md §1.0: with M = Q/EP and no amount, LP_long = EP x (1 + MMR + f) / 2."""
    from liqwatch.core.venues import Venue

    assert isinstance(venue, Venue)
    ep = 64_000.0
    spec = inverse(q=50_000.0, entry=ep, mark=70_000.0, table=flat_table(0.006, 0.0, 100), isolated_margin=50_000 / ep)
    spec.fee_rate = venue.default_fee_rate
    p = assess(venue, [spec]).positions[0]
    assert p.liquidation_price == pytest.approx(ep * (1 + 0.006 + venue.default_fee_rate) / 2, rel=1e-12)
    assert p.bankruptcy_price == pytest.approx(ep / 2, rel=1e-12)


@pytest.mark.parametrize("venue", [BINANCE, BYBIT, OKX, BITGET, GATE])
def test_one_x_short_has_no_liquidation_price(venue: object) -> None:
    """A 1x short (M = Q/EP) is never liquidated: Binance returns liquidationPrice "0" (shown --)."""
    from liqwatch.core.venues import Venue

    assert isinstance(venue, Venue)
    spec = inverse("short", q=400.0, entry=61_765.5, mark=60_000.0, isolated_margin=400 / 61_765.5)
    spec.fee_rate = venue.default_fee_rate
    p = assess(venue, [spec]).positions[0]
    assert p.liquidation_price is None and p.bankruptcy_price is None and p.distance_to_liquidation is None
    cross = inverse("short", q=400.0, entry=61_765.5, mark=60_000.0, margin_mode="cross")
    assert assess(venue, [cross], 400 / 61_765.5 * 1.001).positions[0].liquidation_price is None


def test_one_x_short_with_mm_fixed_at_entry() -> None:
    """The 2024 form keeps MM at its entry value while the short's coin equity Q/P shrinks: it
    liquidates where Q/P = MM_entry, i.e. at EP / MMR (Qty / [PV - (IM - MM)] with IM = PV)."""
    spec = inverse("short", q=400.0, entry=61_765.5, mark=60_000.0, isolated_margin=400 / 61_765.5)
    p = assess(BYBIT_2024, [spec]).positions[0]
    assert p.liquidation_price == pytest.approx(61_765.5 / 0.005, rel=1e-12)
    assert p.bankruptcy_price is None


def test_hyperliquid_refuses_inverse() -> None:
    with pytest.raises(InputError) as err:
        assess(HYPERLIQUID, [inverse(isolated_margin=0.1)])
    assert err.value.field == "inverse" and "hyperliquid" in str(err.value)


# ---------------------------------------------------------------- pools


def test_pools_are_per_settle_currency() -> None:
    linear = PositionSpec(
        "BTC/USDT:USDT", "long", 1.0, 60_000.0, 60_000.0, flat_table(0.004, 0.0, 125), margin_mode="cross"
    )
    inv = inverse(q=60_000.0, entry=60_000.0, margin_mode="cross")
    risk = assess(BINANCE, [linear, inv], {"USDT": 10_000.0, "btc": 0.5})
    assert risk.pools is not None and list(risk.pools) == ["USDT", "BTC"]
    assert risk.account is risk.pools["USDT"] and risk.account.settle == "USDT"
    btc = risk.pools["BTC"]
    assert btc.cross_wallet_balance == 0.5 and btc.settle == "BTC"
    assert btc.maintenance_margin == pytest.approx(1.0 * 0.005, rel=1e-12)
    alone_usdt = assess(BINANCE, [linear], 10_000.0)
    alone_btc = assess(BINANCE, [inv], 0.5)
    assert risk.positions[0] == alone_usdt.positions[0]
    assert risk.positions[1] == alone_btc.positions[0]
    assert alone_btc.pools is not None and list(alone_btc.pools) == ["BTC"]  # a number: the only pool's wallet
    assert alone_btc.account.cross_wallet_balance == 0.5


def test_a_number_is_the_default_pool_when_positions_mix() -> None:
    linear = PositionSpec(
        "BTC/USDT:USDT", "long", 1.0, 60_000.0, 60_000.0, flat_table(0.004, 0.0, 125), margin_mode="cross"
    )
    inv = inverse(q=60_000.0, entry=60_000.0, isolated_margin=0.2)
    risk = assess(BINANCE, [inv, linear], 5_000.0)
    assert risk.pools is not None
    assert risk.pools["USDT"].cross_wallet_balance == 5_000.0
    assert risk.pools["BTC"].cross_wallet_balance == 0.0 and risk.pools["BTC"].wallet_balance == 0.2
    assert risk.account.settle == "USDT"
    assert [p.spec for p in risk.positions] == [inv, linear]  # positions keep their order


def test_contracts_must_match_the_face_value() -> None:
    ok = inverse(q=10_000.0, isolated_margin=0.1, contracts=100.0, contract_size=100.0)
    assert assess(BINANCE, [ok]).positions[0].notional == pytest.approx(10_000 / 8_000)
    bad = inverse(q=10_000.0, isolated_margin=0.1, contracts=10.0, contract_size=100.0)
    with pytest.raises(InputError) as err:
        assess(BINANCE, [bad])
    assert err.value.field == "contracts" and "1,000 USD" in str(err.value)


def test_an_inverse_position_needs_a_settle_coin() -> None:
    spec = inverse(isolated_margin=0.1)
    spec.symbol = "BTCUSD"
    with pytest.raises(InputError) as err:
        assess(BINANCE, [spec])
    assert err.value.field == "settle"
    spec.settle = "btc"
    risk = assess(BINANCE, [spec])
    assert risk.pools is not None and list(risk.pools) == ["BTC"]
