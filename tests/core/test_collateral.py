"""Multi-collateral accounts: each venue's collateral valuation against its own published examples,
the account figures, and the liquidation price with co-moving collateral (liqwatch.core.collateral)."""

from __future__ import annotations

import pytest

from liqwatch.core import InputError, PositionSpec, flat_table, get_venue
from liqwatch.core.collateral import (
    CollateralAsset,
    CollateralTier,
    account_margin_ratio,
    assess_collateral,
    collateral_value,
    moved,
    shocked,
    value_asset,
)
from liqwatch.core.tiers import build_table

BINANCE = get_venue("binance")


def cross(symbol: str, side: str, size: float, entry: float, mark: float, mmr: float, **kw: object) -> PositionSpec:
    return PositionSpec(symbol, side, size, entry, mark, flat_table(mmr, 0.0, 1 / (2 * mmr)), margin_mode="cross", **kw)  # type: ignore[arg-type]


def tiers(*rows: tuple[float, float | None, float]) -> tuple[CollateralTier, ...]:
    return tuple(CollateralTier(lo, hi, r) for lo, hi, r in rows)


# --- Binance -----------------------------------------------------------------------------------


def test_binance_asset_index_rates() -> None:
    """https://developers.binance.com/docs/derivatives/usds-margined-futures/market-data/rest-api/Multi-Assets-Mode-Asset-Index
    ADAUSD index 1.92957370, bid/ask buffer 0.10 -> bidRate 1.73661633, askRate 2.12253107; the
    auto-exchange buffers 0.05 -> 1.83309501 / 2.02605238 (printed truncated to 8 places). A positive balance
    counts at the bid rate, a negative one at the ask rate."""
    ada = CollateralAsset("ADA", 1.0, 1.92957370, bid_buffer=0.10, ask_buffer=0.10)
    assert collateral_value(ada, 1.0, ada.price) == pytest.approx(1.73661633, abs=1e-12)
    assert collateral_value(ada, -1.0, ada.price) == pytest.approx(-2.12253107, abs=1e-12)
    auto = CollateralAsset("ADA", 1.0, 1.92957370, bid_buffer=0.05, ask_buffer=0.05)
    assert collateral_value(auto, 1.0, auto.price) == pytest.approx(1.83309501, abs=1e-8)
    assert collateral_value(auto, -1.0, auto.price) == pytest.approx(-2.02605238, abs=1e-8)
    usdt = CollateralAsset("USDT", 1.0, 0.99, bid_buffer=0.01, ask_buffer=0.005)
    assert collateral_value(usdt, 1.0, usdt.price) == pytest.approx(0.9801, abs=1e-15)
    assert usdt.conversion == pytest.approx(0.99495, abs=1e-15)  # the ask rate: what MM is counted at
    valued = value_asset(ada, pnl=-2.0)  # equity -1 ADA: a liability at the ask rate
    assert (valued.equity, valued.value_usd) == (-1.0, pytest.approx(-1.92957370))
    assert valued.ratio == pytest.approx(1.1)


def test_binance_multi_assets_haircuts() -> None:
    """https://www.binance.com/en-NG/futures/trading-rules/perpetual/multi-asset-info : "BNB with a
    market value of $1000 will be valued at $950 and ADA with a market value of $1,000 will be
    valued at $900"."""
    bnb = value_asset(CollateralAsset("BNB", 2.0, 500.0, ratio=0.95))
    ada = value_asset(CollateralAsset("ADA", 2000.0, 0.5, bid_buffer=0.10, ask_buffer=0.10))
    assert (bnb.value_usd, bnb.collateral_value_usd) == (1000.0, pytest.approx(950.0))
    assert (ada.value_usd, ada.collateral_value_usd) == (1000.0, pytest.approx(900.0))


def binance_faq_account() -> tuple[list[PositionSpec], list[CollateralAsset]]:
    usdt = CollateralAsset("USDT", 200.0, 0.99, bid_buffer=0.01, ask_buffer=0.005)
    usdc = CollateralAsset("USDC", 220.0, 1.0, bid_buffer=0.0, ask_buffer=0.0)
    specs = [
        cross("BTC/USDT:USDT", "long", 0.5, 20_000.0, 20_000.0, 0.008),
        cross("ETH/USDC:USDC", "long", 20.0, 600.0, 600.0, 0.01),
    ]
    return specs, [usdt, usdc]


def test_binance_multi_assets_worked_example() -> None:
    """https://www.binance.com/en/support/faq/how-to-calculate-margin-in-multi-assets-mode-c983a9268cfa4e70a4916c276bb3b7bc
    USDTUSD 0.99 (bid buffer 0.01, ask 0.005), USDCUSD 1; 200 USDT + 220 USDC: "Account Equity =
    200 * 0.9801 + 220 * 1 = 416.02"; BTCUSDT 0.5 @ 20,000 (MMR 0.8 %) and ETHUSDC 20 @ 600 (1 %):
    "Margin Ratio = 199.596 / 416.02 = 0.47977", the BTCUSDT MM counted at the USDT ask rate."""
    specs, assets = binance_faq_account()
    risk = assess_collateral(BINANCE, specs, assets)
    assert risk.effective_equity == pytest.approx(416.02, rel=1e-12)
    assert risk.maintenance_margin_usd == pytest.approx(0.5 * 20_000 * 0.008 * 0.99495 + 20 * 600 * 0.01, rel=1e-12)
    assert risk.maintenance_margin_usd == pytest.approx(199.596, rel=1e-12)
    assert risk.margin_ratio == pytest.approx(199.596 / 416.02, rel=1e-12)
    assert risk.margin_ratio == pytest.approx(0.47977, abs=1e-5)  # printed truncated to 5 places
    assert risk.margin_ratio_native is None  # Binance Multi-Assets reads MM / equity like liqwatch
    assert risk.status == "ok"
    assert [p.requirement_usd for p in risk.positions] == [pytest.approx(79.596), pytest.approx(120.0)]
    assert [a.collateral_value_usd for a in risk.assets] == [pytest.approx(196.02), pytest.approx(220.0)]
    for p in risk.positions:  # each liquidation price brings the account ratio to exactly 1
        assert p.liquidation_price is not None
        specs_at, assets_at = moved(specs, assets, p.spec.symbol, p.liquidation_price)
        assert account_margin_ratio(BINANCE, specs_at, assets_at) == pytest.approx(1.0, rel=1e-12)


def test_binance_portfolio_margin_trigger() -> None:
    """Binance PM (https://www.binance.com/en/support/faq/174861644e7049aaa64845f1db2e4376): uniMMR
    = adjusted equity / MM, liquidation at uniMMR 1.05. liqwatch's ratio is 1.05 x MM / equity, so
    its 1.0 is the venue's trigger; the venue's own uniMMR is the native figure."""
    specs, assets = binance_faq_account()
    multi = assess_collateral(BINANCE, specs, assets)
    pm = assess_collateral(BINANCE, specs, assets, mode="portfolio")
    assert multi.margin_ratio is not None and pm.margin_ratio is not None
    assert pm.margin_ratio == pytest.approx(1.05 * multi.margin_ratio)
    assert (pm.native_name, pm.margin_ratio_native) == ("uniMMR", pytest.approx(416.02 / 199.596))
    btc_multi, btc_pm = multi.positions[0].liquidation_price, pm.positions[0].liquidation_price
    assert btc_multi is not None and btc_pm is not None and btc_pm > btc_multi  # the long goes earlier
    specs_at, assets_at = moved(specs, assets, "BTC/USDT:USDT", btc_pm)
    at = assess_collateral(BINANCE, specs_at, assets_at, mode="portfolio")
    assert at.margin_ratio_native == pytest.approx(1.05, rel=1e-12)


# --- Bybit -------------------------------------------------------------------------------------

BYBIT_BTC = tiers((0, 10, 0.98), (10, 20, 0.95), (20, 30, 0.9), (30, 40, 0.85), (40, 50, 0.8), (50, None, 0.0))


def test_bybit_tiered_collateral_value_ratio() -> None:
    """https://testnet.bytick.com/en/help-center/article/Assets-Collateral-Value-Ratio-List-UTA
    (Bybit testnet mirror, updated 2025-09-18): BTC tiers by quantity 0-10 0.98, >10-20 0.95, >20-30
    0.9, >30-40 0.85, >40-50 0.8, >50 0; USDT 1. "The Collateral Value Ratio only applies to assets
    with a positive balance ... negative balance default to a 100% collateral value ratio." The
    page's Trader A figures are not in the stored text: these are derived from its table, each
    slice of the quantity at its own tier's ratio."""
    btc = CollateralAsset("BTC", 35.0, 100_000.0, tiers=BYBIT_BTC)
    assert collateral_value(btc, 35.0, 100_000.0) == pytest.approx((9.8 + 9.5 + 9.0 + 5 * 0.85) * 100_000)
    assert collateral_value(btc, 60.0, 100_000.0) == pytest.approx((9.8 + 9.5 + 9.0 + 8.5 + 8.0) * 100_000)
    assert collateral_value(btc, 10.0, 100_000.0) == pytest.approx(980_000.0)
    assert collateral_value(btc, -2.0, 100_000.0) == -200_000.0
    assert value_asset(btc).ratio == pytest.approx(32.55 / 35)
    usdt = CollateralAsset("USDT", 1_000.0, 1.0, ratio=1.0)
    risk = assess_collateral(get_venue("bybit"), [], [usdt, btc])
    assert risk.effective_equity == pytest.approx(1_000.0 + 3_255_000.0)
    assert risk.margin_ratio_native is None  # accountMMRate is MM / margin balance, as liqwatch


# --- OKX ---------------------------------------------------------------------------------------


def test_okx_discount_rate_tiers() -> None:
    """OKX discount rates. BETH after 2024-07-18, tiers in USD: 0-2M 0.95, 2M-4M 0.85, 4M-8M 0.5,
    > 8M 0 (OKX release,
    https://www.globenewswire.com/news-release/2024/07/18/2915393/0/en/OKX-Adjusts-Discount-Rates-for-BETH.html ):
    5M USD of BETH counts 2M x 0.95 + 2M x 0.85 + 1M x 0.5 = 4.1M (arithmetic on the table). USDT
    example restated from OKX's LUNA announcement (https://ukcamo.com/6126.html , third party):
    11M USDT with tiers 0-5M 1, 5M-10M 0.9, > 10M 0.8 -> 5M + 4.5M + 0.8M = 10.3M."""
    beth = CollateralAsset(
        "BETH",
        2_000.0,
        2_500.0,
        tiers=tiers((0, 2e6, 0.95), (2e6, 4e6, 0.85), (4e6, 8e6, 0.5), (8e6, None, 0.0)),
        tier_basis="value",
    )
    assert value_asset(beth).collateral_value_usd == pytest.approx(4_100_000.0)
    usdt = CollateralAsset("USDT", 11e6, 1.0, tiers=tiers((0, 5e6, 1.0), (5e6, 10e6, 0.9), (10e6, None, 0.8)))
    assert value_asset(usdt).collateral_value_usd == pytest.approx(10_300_000.0)
    okx = get_venue("okx")
    spec = PositionSpec(
        "BTC/USDT:USDT", "long", 10.0, 50_000.0, 50_000.0, flat_table(0.004, 0.0, 100), margin_mode="cross"
    )
    risk = assess_collateral(okx, [spec], [usdt])
    assert risk.native_name == "mgnRatio"  # adjEq / mmr, liquidation at <= 100 %
    assert risk.margin_ratio_native == pytest.approx(10_300_000.0 / 2_000.0)
    assert risk.margin_ratio == pytest.approx(2_000.0 / 10_300_000.0)


# --- Bitget ------------------------------------------------------------------------------------


def test_bitget_multi_asset_haircut_tiers() -> None:
    """Bitget "Introduction to USDT-M Futures in Multi-Asset Mode" (support article 12560603817279,
    mirror https://www.bjxnyj.com/support/articles/12560603817279 ): BTC tiers by USDT value
    0-100,000 0.975, 100,000-500,000 0.97, then 0.965; 10 BTC at 60,000 = 600,000 USDT counts
    97,500 + 388,000 + 96,500 = 582,000. Glossary
    (https://www.bjxnyj.com/academy/bitget-unified-margin-mode-terminology-explained ):
    0.1 BTC at 20,000 + 1,000 USDT -> 2,000 x 0.975 + 1,000 = 2,950."""
    table = tiers((0, 100_000, 0.975), (100_000, 500_000, 0.97), (500_000, None, 0.965))
    btc = CollateralAsset("BTC", 10.0, 60_000.0, tiers=table, tier_basis="value")
    assert value_asset(btc).collateral_value_usd == pytest.approx(582_000.0)
    small = CollateralAsset("BTC", 0.1, 20_000.0, tiers=table, tier_basis="value")
    usdt = CollateralAsset("USDT", 1_000.0, 1.0, ratio=1.0)
    assert assess_collateral(get_venue("bitget"), [], [small, usdt]).effective_equity == pytest.approx(2_950.0)


def test_bitget_cross_margin_collateral_ratios() -> None:
    """Bitget cross-margin collateral ratios
    (mirror https://www.bgportable.com/en/spot/introduction/margininfo/cross-discount ):
    1 BTC at 50,000 (ratio 1 up to 5,000,000 USD) + 60,000 APT at 1 (0.8 for the first 50,000 APT,
    0 above) = 90,000 USD; 11,000,000 USDT: 5M x 1 + 5M x 0.98 + 1M x 0.975 = 10,875,000."""
    btc = CollateralAsset("BTC", 1.0, 50_000.0, tiers=tiers((0, 5e6, 1.0), (5e6, None, 0.9)), tier_basis="value")
    apt = CollateralAsset("APT", 60_000.0, 1.0, tiers=tiers((0, 50_000, 0.8), (50_000, None, 0.0)))
    assert assess_collateral(get_venue("bitget"), [], [btc, apt]).effective_equity == pytest.approx(90_000.0)
    usdt = CollateralAsset(
        "USDT", 11e6, 1.0, tiers=tiers((0, 5e6, 1.0), (5e6, 10e6, 0.98), (10e6, 20e6, 0.975), (20e6, None, 0.9))
    )
    assert value_asset(usdt).collateral_value_usd == pytest.approx(10_875_000.0)


# --- Gate --------------------------------------------------------------------------------------


def test_gate_total_maintenance_margin_rate() -> None:
    """Gate ``GET /unified/accounts`` example
    (rosssaunders/coincise docs/gateio/endpoints/private/get_unified_accounts.md):
    total_margin_balance 3382495.944473949183 / total_maintenance_margin 205.01049330176 =
    total_maintenance_margin_rate 16499.135678363399 (margin balance / MM, as a multiple)."""
    usdt = CollateralAsset("USDT", 3382495.944473949183, 1.0, ratio=1.0)
    spec = cross("BTC/USDT:USDT", "long", 1.0, 41_002.098660352, 41_002.098660352, 0.005)
    risk = assess_collateral(get_venue("gate"), [spec], [usdt])
    assert risk.maintenance_margin_usd == pytest.approx(205.01049330176, rel=1e-12)
    assert risk.native_name == "total_maintenance_margin_rate"
    assert risk.margin_ratio_native == pytest.approx(16499.135678363399, rel=1e-9)


# --- Liquidation with co-moving collateral -----------------------------------------------------


def usdt(amount: float) -> CollateralAsset:
    return CollateralAsset("USDT", amount, 1.0, ratio=1.0)


def test_closed_form_with_own_coin_behind_a_long() -> None:
    """collateral.md §10.3: P* = (M - c - K + s E) / (q_A r_A + s - m |s|) with q_A units of the
    underlying held at ratio r_A, K the other collateral, M the other MM."""
    btc = CollateralAsset("BTC", 0.1, 20_000.0, ratio=0.95)
    spec = cross("BTC/USDT:USDT", "long", 0.5, 20_000.0, 20_000.0, 0.008)
    risk = assess_collateral(BINANCE, [spec], [usdt(1_000.0), btc])
    expected = (0.0 - 0.0 - 1_000.0 + 0.5 * 20_000.0) / (0.1 * 0.95 + 0.5 - 0.008 * 0.5)
    assert risk.positions[0].liquidation_price == pytest.approx(expected, rel=1e-12)
    assert risk.positions[0].co_moving


def test_own_coin_brings_a_long_nearer_than_the_same_usd_in_usdt() -> None:
    spec = cross("BTC/USDT:USDT", "long", 0.5, 20_000.0, 20_000.0, 0.008)
    in_btc = assess_collateral(BINANCE, [spec], [usdt(0.0), CollateralAsset("BTC", 0.1, 20_000.0, ratio=1.0)])
    in_usdt = assess_collateral(BINANCE, [spec], [usdt(2_000.0)])
    lp_btc, lp_usdt = in_btc.positions[0].liquidation_price, in_usdt.positions[0].liquidation_price
    assert lp_btc is not None and lp_usdt is not None
    assert in_btc.effective_equity == in_usdt.effective_equity == 2_000.0
    assert lp_btc > lp_usdt


def test_short_outweighed_by_collateral_liquidates_on_a_fall() -> None:
    """0.2 BTC of collateral behind a 0.05 BTC short and a USDT debt: net long, so a fall liquidates."""
    spec = cross("BTC/USDT:USDT", "short", 0.05, 20_000.0, 20_000.0, 0.008)
    risk = assess_collateral(BINANCE, [spec], [usdt(-3_000.0), CollateralAsset("BTC", 0.2, 20_000.0, ratio=0.9)])
    p = risk.positions[0]
    assert p.liquidation_price is not None and p.liquidation_price < 20_000.0
    assert p.liquidation_price_above is None
    assert p.distance_to_liquidation is not None and p.distance_to_liquidation < 0  # on the short's winning side
    # (0.2 x 0.9 - 0.05 - 0.05 x 0.008) P = 3,000 - 0.05 x 20,000: the USDT debt counts in full
    assert p.liquidation_price == pytest.approx(2_000.0 / (0.18 - 0.05 - 0.0004), rel=1e-12)


def test_short_fully_hedged_by_collateral_has_no_liquidation_price() -> None:
    """Collateral x ratio = size x (1 + MMR): equity and requirement move together at every price."""
    size = 0.1 / 1.008
    spec = cross("BTC/USDT:USDT", "short", size, 20_000.0, 20_000.0, 0.008)
    risk = assess_collateral(BINANCE, [spec], [usdt(0.0), CollateralAsset("BTC", 0.1, 20_000.0, ratio=1.0)])
    p = risk.positions[0]
    assert (p.liquidation_price, p.liquidation_price_below, p.liquidation_price_above) == (None, None, None)


def test_haircut_tiers_crossed_on_the_way() -> None:
    """A value-tiered underlying: the root lies in a lower tier than the one at the mark, and the
    ratio recomputed there is exactly 1."""
    table = tiers((0, 100_000, 0.975), (100_000, 500_000, 0.97), (500_000, None, 0.965))
    btc = CollateralAsset("BTC", 10.0, 60_000.0, tiers=table, tier_basis="value")
    spec = cross("BTC/USDT:USDT", "long", 50.0, 60_000.0, 60_000.0, 0.01)
    specs, assets = [spec], [usdt(500_000.0), btc]
    lp = assess_collateral(BINANCE, specs, assets).positions[0].liquidation_price
    assert lp is not None and 100_000.0 < 10 * lp < 500_000.0  # the BTC collateral left the 0.965 tier
    # 500,000 + 97,500 + 0.97 (10 P - 100,000) + 50 (P - 60,000) - 0.01 x 50 P = 0
    assert lp == pytest.approx((3_000_000.0 - 500_000.0 - 97_500.0 + 97_000.0) / (9.7 + 50.0 - 0.5), rel=1e-12)
    assert account_margin_ratio(BINANCE, *moved(specs, assets, spec.symbol, lp)) == pytest.approx(1.0, rel=1e-12)


def test_bracket_jump_on_a_table_without_maintenance_amounts() -> None:
    """OKX-style brackets (value x MMR of the bracket, no amount) make the requirement jump: the
    first crossing in the direction of loss can be that jump."""
    table = build_table(
        [
            {"min": 0, "max": 100_000, "mmr": 0.01, "max_leverage": 50},
            {"min": 100_000, "max": None, "mmr": 0.30, "max_leverage": 2},
        ],
        derive_maint_amount=False,
    )
    spec = PositionSpec("BTC/USDT:USDT", "short", 1.0, 90_000.0, 90_000.0, table, margin_mode="cross")
    risk = assess_collateral(get_venue("okx"), [spec], [usdt(20_000.0)])
    # below 100,000: 20,000 - (P - 90,000) - 0.01 P > 0; at 100,000 the requirement jumps to 30,000
    assert risk.positions[0].liquidation_price_above == 100_000.0


def test_shock_moves_one_asset() -> None:
    btc = CollateralAsset("BTC", 1.0, 50_000.0, ratio=0.95)
    assert shocked(btc, -20.0).price == 40_000.0
    spec = cross("ETH/USDT:USDT", "long", 10.0, 3_000.0, 3_000.0, 0.01)
    before = assess_collateral(BINANCE, [spec], [usdt(-37_800.0), btc])
    after = assess_collateral(BINANCE, [spec], [usdt(-37_800.0), shocked(btc, -20.0)])
    assert (before.effective_equity, after.effective_equity) == (pytest.approx(9_700.0), pytest.approx(200.0))
    assert (before.status, after.status) == ("ok", "liquidatable")  # MM 300 > 200
    # the USDT debt at full value: 47,500 or 38,000 - 37,800 + 10 (P - 3,000) - 0.1 P = 0
    assert before.positions[0].liquidation_price == pytest.approx((30_000.0 - 9_700.0) / 9.9, rel=1e-12)
    assert after.positions[0].liquidation_price == pytest.approx((30_000.0 - 200.0) / 9.9, rel=1e-12)
    with pytest.raises(InputError, match=r"collateral-shock\.BTC"):
        shocked(btc, -100.0)


# --- Refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"price": 0.0, "ratio": 1.0}, "collateral.BTC.price"),
        ({"price": 1.0}, "collateral.BTC"),
        ({"price": 1.0, "ratio": 0.9, "bid_buffer": 0.1, "ask_buffer": 0.1}, "collateral.BTC"),
        ({"price": 1.0, "ratio": 1.2}, "collateral.BTC.ratio"),
        ({"price": 1.0, "bid_buffer": 0.1}, "collateral.BTC.ask_buffer"),
        ({"price": 1.0, "tiers": tiers((1, None, 0.9))}, "collateral.BTC.tiers[0].min"),
        ({"price": 1.0, "tiers": tiers((0, 10, 0.9), (12, None, 0.8))}, "collateral.BTC.tiers[1].min"),
        ({"price": 1.0, "tiers": tiers((0, 10, 0.9))}, "collateral.BTC.tiers[0].max"),
        ({"price": 1.0, "tiers": tiers((0, None, 0.9), (10, None, 0.8))}, "collateral.BTC.tiers[0].max"),
    ],
)
def test_bad_collateral_names_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InputError) as err:
        CollateralAsset("btc", 1.0, **kwargs)  # type: ignore[arg-type]
    assert err.value.field == field
    assert "\n" not in str(err.value)


def test_account_refusals_name_the_field() -> None:
    spec = cross("BTC/USDT:USDT", "long", 1.0, 100.0, 100.0, 0.01)
    with pytest.raises(InputError, match="no row for USDT") as err:
        assess_collateral(BINANCE, [spec], [CollateralAsset("BTC", 1.0, 100.0, ratio=1.0)])
    assert err.value.field == "collateral"
    with pytest.raises(InputError, match="listed twice"):
        assess_collateral(BINANCE, [spec], [usdt(1.0), usdt(2.0)])
    iso = PositionSpec("BTC/USDT:USDT", "long", 1.0, 100.0, 100.0, flat_table(0.01, 0.0, 50), isolated_margin=10.0)
    with pytest.raises(InputError) as err:
        assess_collateral(BINANCE, [iso], [usdt(1.0)])
    assert err.value.field == "positions[0].margin_mode"
    inverse = cross("BTC/USD:BTC", "long", 100.0, 100.0, 100.0, 0.01, inverse=True)
    with pytest.raises(InputError) as err:
        assess_collateral(BINANCE, [inverse], [usdt(1.0)])
    assert err.value.field == "positions[0].inverse"
    for name in ("okx", "bybit", "gate", "deribit", "hyperliquid", "bitget"):
        with pytest.raises(InputError, match="stress scenarios") as err:
            assess_collateral(get_venue(name), [], [usdt(1.0)], mode="portfolio")
        assert err.value.field == "account_mode"
    with pytest.raises(InputError, match="engine"):
        assess_collateral(BINANCE, [], [usdt(1.0)], mode="single")


def test_crossing_past_an_incomplete_table_is_refused() -> None:
    """As in the engine: past the last cap of a truncated table the requirement is unknown."""
    table = build_table(
        [
            {"min": 0, "max": 60_000, "mmr": 0.01, "max_leverage": 50},
            {"min": 60_000, "max": 100_000, "mmr": 0.02, "max_leverage": 25},
        ],
        complete=False,
    )
    spec = PositionSpec("BTC/USDT:USDT", "short", 1.0, 50_000.0, 50_000.0, table, margin_mode="cross")
    with pytest.raises(InputError, match="incomplete") as err:
        assess_collateral(BINANCE, [spec], [usdt(100_000.0)])  # the short would liquidate near 147,000
    assert err.value.field == "size"
    assert assess_collateral(BINANCE, [spec], [usdt(30_000.0)]).positions[0].liquidation_price is not None


def test_asset_record_carries_the_issue_json_keys() -> None:
    """Issue #21: ``account.collateral`` entries are {asset, amount, price, value_usd,
    collateral_value_usd, ratio}; the core's record holds each under that name."""
    from dataclasses import asdict

    row = asdict(value_asset(CollateralAsset("BTC", 2.0, 50_000.0, ratio=0.95)))
    assert {k: row[k] for k in ("asset", "amount", "price", "value_usd", "collateral_value_usd", "ratio")} == {
        "asset": "BTC",
        "amount": 2.0,
        "price": 50_000.0,
        "value_usd": 100_000.0,
        "collateral_value_usd": pytest.approx(95_000.0),
        "ratio": pytest.approx(0.95),
    }


def test_target_marks_at_one_are_the_liquidation_prices_and_reach_the_ratio() -> None:
    from liqwatch.core.collateral import target_marks

    specs, assets = binance_faq_account()
    risk = assess_collateral(BINANCE, specs, assets)
    assert target_marks(BINANCE, specs, assets, 1.0) == [p.liquidation_price for p in risk.positions]
    for spec, mark in zip(specs, target_marks(BINANCE, specs, assets, 0.8), strict=True):
        assert mark is not None
        specs_at, assets_at = moved(specs, assets, spec.symbol, mark)
        assert account_margin_ratio(BINANCE, specs_at, assets_at) == pytest.approx(0.8, rel=1e-12)
    with pytest.raises(InputError, match="target_margin_ratio"):
        target_marks(BINANCE, specs, assets, 0.0)
