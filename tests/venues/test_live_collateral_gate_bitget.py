"""Issue #21, live multi-assets accounts on Gate (unified ``multi_currency``) and Bitget (classic
USDT-M multi-asset mode, ``assetMode`` union): every collateral coin read through real ccxt from
the fake venue servers (payloads in the shapes of the venues' API docs), valued at the venue's
public discount tiers by USD value, computed by liqwatch's core and shown beside the venue's own
ratio (Gate ``total_maintenance_margin_rate`` inverted, Bitget ``crossedRiskRate``).

Payload shapes: Gate ``GET /unified/accounts`` (https://www.gate.com/docs/developers/apiv4/#get-unified-account-information,
stored copy rosssaunders/coincise docs/gateio/endpoints/private/get_unified_accounts.md) and
``GET /unified/currency_discount_tiers`` (tests/fixtures/gate/currency_discount_tiers.json); Bitget
``GET /api/v2/mix/account/accounts`` ``assetList`` (https://www.bitget.com/api-doc/contract/account/Get-Account-List)
and ``GET /api/v2/mix/market/discount-rate`` (tests/fixtures/bitget/discount_rate.json)."""

from __future__ import annotations

from typing import Any

import pytest

from liqwatch.state import MODE_NOTES
from tests.fakes.rest_server import FakeRestServer
from tests.venues.test_live_collateral import _assert_ours_beside_the_venues, _live

# --------------------------------------------------------------------------- Gate unified multi_currency

GATE_INDEX_BTC = 60990.1  # tests/fixtures/gate/tickers.json BTC_USDT index_price
# Doc tiers (USD value): 0-1,000 at 0.98, 1,000-10,000 at 0.95, 10,000-50,000 at 0.9
GATE_BTC_VALUE = 0.3 * GATE_INDEX_BTC
GATE_BTC_COUNTS = 1_000 * 0.98 + 9_000 * 0.95 + (GATE_BTC_VALUE - 10_000) * 0.9
GATE_UPL = 0.5 * (61_000 - 60_000) + 0.2 * (62_000 - 61_000)  # the two BTC legs at the 61,000 mark
GATE_EQUITY = 10_000 + GATE_UPL + GATE_BTC_COUNTS
# risk_limit_tiers BTC_USDT tier 1: maintenance_rate 0.003, deduction 0; Gate's 0.075 % taker fee
GATE_MM = (0.5 + 0.2) * 61_000 * (0.003 + 0.00075)


def _gate_balance(equity: str, enabled: bool = True) -> dict[str, Any]:
    return {
        "available": equity,
        "freeze": "0",
        "borrowed": "0",
        "negative_liab": "0",
        "futures_pos_liab": "0",
        "equity": equity,
        "total_freeze": "0",
        "total_liab": "0",
        "spot_in_use": "0",
        "enabled_collateral": enabled,
    }


def _gate_account(fake: FakeRestServer, **balances: dict[str, Any]) -> None:
    """The two BTC cross legs of the positions fixture alone, the futures account's unrealised_pnl
    theirs, and a unified multi-currency account of 10,000 USDT (+ that PnL) and 0.3 BTC whose
    totals are the venue's own (margin balance / MM)."""
    fake.set("positions", [p for p in fake.data["positions"] if p["contract"] == "BTC_USDT"])
    fake.set("accounts", {**fake.data["accounts"], "unrealised_pnl": str(GATE_UPL), "isolated_position_margin": "0"})
    rows = balances or {"USDT": _gate_balance(str(10_000 + GATE_UPL)), "BTC": _gate_balance("0.3")}
    balance, mm = round(GATE_EQUITY, 2), round(GATE_MM, 2)
    fake.set(
        "unified_accounts",
        {
            **fake.data["unified_accounts"],
            "balances": rows,
            "total_margin_balance": str(balance),
            "total_maintenance_margin": str(mm),
            "total_maintenance_margin_rate": str(round(balance / mm, 6)),
        },
    )


def test_a_gate_multi_currency_account_reads_every_currency_at_its_discount_tiers() -> None:
    """Each currency of /unified/accounts balances: its equity (USDT less the futures account's
    unrealised_pnl: liqwatch adds the PnL at its marks) at the index_price of its USDT perpetual,
    with its /unified/currency_discount_tiers tiers by USD value; one accounts read a cycle."""
    mode, _, paths = _live("gate", "multi_assets", _gate_account)
    rows = {r.asset: r for r in mode.collateral}
    assert set(rows) == {"USDT", "BTC"}
    assert rows["USDT"].amount == pytest.approx(10_000.0, rel=1e-12) and rows["USDT"].price == 1.0
    assert rows["BTC"].amount == 0.3 and rows["BTC"].price == GATE_INDEX_BTC
    assert [(t.min, t.max, t.ratio) for t in rows["BTC"].tiers] == [
        (0.0, 1_000.0, 0.98),
        (1_000.0, 10_000.0, 0.95),
        (10_000.0, 50_000.0, 0.9),
        (50_000.0, None, 0.85),
    ]
    assert rows["BTC"].tier_basis == "value"
    assert paths.count("/api/v4/unified/accounts") == 1  # the venue ratio's answer, reused
    assert paths.count("/api/v4/unified/currency_discount_tiers") == 1
    assert "collateral_error" not in mode.venue_inputs


def test_a_gate_multi_currency_account_is_computed_beside_total_maintenance_margin_rate() -> None:
    """Ours (by hand: 10,000 USDT + the legs' PnL + 0.3 BTC at 60,990.1 counted slice by slice)
    beside the venue's total_maintenance_margin_rate (margin balance / MM, WE-9: inverted)."""
    _, record, _ = _live("gate", "multi_assets", _gate_account)
    acc = _assert_ours_beside_the_venues(record)
    assert acc["margin_balance"] == pytest.approx(GATE_EQUITY, rel=1e-12)
    assert acc["maintenance_margin"] == pytest.approx(GATE_MM, rel=1e-12)
    assert acc["margin_ratio"] == pytest.approx(GATE_MM / GATE_EQUITY, rel=1e-12)
    assert acc["margin_ratio_venue"] == pytest.approx(1 / round(round(GATE_EQUITY, 2) / round(GATE_MM, 2), 6))


def test_a_gate_currency_not_enabled_as_collateral_counts_nothing() -> None:
    def off(fake: FakeRestServer) -> None:
        _gate_account(fake, USDT=_gate_balance(str(10_000 + GATE_UPL)), BTC=_gate_balance("0.3", enabled=False))

    mode, record, _ = _live("gate", "multi_assets", off)
    btc = next(r for r in mode.collateral if r.asset == "BTC")
    assert btc.ratio == 0.0 and btc.tiers == []
    assert record["accounts"][0]["margin_balance"] == pytest.approx(10_000 + GATE_UPL, rel=1e-12)


def test_a_gate_currency_without_an_index_price_is_refused_in_one_line() -> None:
    def doge(fake: FakeRestServer) -> None:
        _gate_account(fake, USDT=_gate_balance(str(10_000 + GATE_UPL)), DOGE=_gate_balance("1000"))

    mode, record, _ = _live("gate", "multi_assets", doge)
    assert mode.collateral == []
    reason = str(mode.venue_inputs["collateral_error"])
    assert "no index_price of a DOGE_USDT perpetual for DOGE" in reason and "\n" not in reason
    (acc,) = record["accounts"]
    assert acc["margin_ratio"] is None and acc["margin_ratio_venue"] is not None


def test_a_gate_portfolio_account_without_balances_reads_no_table() -> None:
    # its coins, where it holds some: tests/venues/test_portfolio_collateral.py
    mode, _, paths = _live("gate", "portfolio")
    assert mode.collateral == [] and "/api/v4/unified/currency_discount_tiers" not in paths


# --------------------------------------------------------------------------- Bitget multi-asset mode

BITGET_INDEX_BTC = 60990.1  # tests/fixtures/bitget/tickers.json BTCUSDT indexPrice
# Doc tiers (USDT value): 0-10,000 at 0.99, 10,000-100,000 at 0.95
BITGET_BTC_COUNTS = 10_000 * 0.99 + (0.3 * BITGET_INDEX_BTC - 10_000) * 0.95
BITGET_EQUITY = 10_000 + 0.5 * (61_000 - 60_000) + BITGET_BTC_COUNTS
# query-position-lever BTCUSDT level 1 keepMarginRate 0.004 + the account's 0.04 % taker rate
# (trade-rate): Bitget's "(MMR of the corresponding tier + liquidation fee rate)"
BITGET_MM = 0.5 * 61_000 * (0.004 + 0.0004)


def _bitget_account(fake: FakeRestServer, assets: list[dict[str, str]] | None = None, hedged: bool = False) -> None:
    """The BTC long of the positions fixture (and its short leg with ``hedged``) in cross, and a
    union account of 10,000 USDT and 0.3 BTC with the venue's crossedRiskRate."""
    keep = [p for p in fake.data["positions"] if p["symbol"] == "BTCUSDT" and (hedged or p["holdSide"] == "long")]
    fake.set("positions", keep)
    rows = fake.data["accounts"]
    assets = (
        assets
        if assets is not None
        else [
            {"coin": "USDT", "balance": "10000", "available": "10000"},
            {"coin": "BTC", "balance": "0.3", "available": "0.3"},
        ]
    )
    usdt = {
        "assetList": assets,
        "unrealizedPL": "500",
        "crossedUnrealizedPL": "500",
        "isolatedMargin": "0",
        "isolatedUnrealizedPL": "0",
        "accountEquity": "10500",
        "crossedRiskRate": str(round(BITGET_MM / BITGET_EQUITY, 6)),
        "unionMm": str(round(BITGET_MM, 2)),
        "unionTotalMargin": str(round(BITGET_EQUITY, 2)),
    }
    fake.set("accounts", [{**r, **usdt} if r["marginCoin"] == "USDT" else r for r in rows])


def test_a_bitget_union_account_reads_every_coin_at_its_haircut_tiers() -> None:
    mode, _, paths = _live("bitget", "multi_assets", _bitget_account)
    rows = {r.asset: r for r in mode.collateral}
    assert set(rows) == {"USDT", "BTC"}
    assert rows["USDT"].amount == 10_000.0 and rows["USDT"].price == 1.0
    assert [(t.min, t.max, t.ratio) for t in rows["USDT"].tiers] == [(0.0, None, 1.0)]  # not in the list: whole
    assert rows["BTC"].amount == 0.3 and rows["BTC"].price == BITGET_INDEX_BTC
    assert [(t.min, t.max, t.ratio) for t in rows["BTC"].tiers] == [
        (0.0, 10_000.0, 0.99),
        (10_000.0, 100_000.0, 0.95),
        (100_000.0, 200_000.0, 0.9),
        (200_000.0, None, 0.8),
    ]
    assert rows["BTC"].tier_basis == "value"
    assert paths.count("/api/v2/mix/market/discount-rate") == 1
    assert "collateral_error" not in mode.venue_inputs


def test_a_bitget_union_account_is_computed_beside_crossed_risk_rate() -> None:
    _, record, _ = _live("bitget", "multi_assets", _bitget_account)
    acc = _assert_ours_beside_the_venues(record)
    assert acc["margin_balance"] == pytest.approx(BITGET_EQUITY, rel=1e-12)
    assert acc["maintenance_margin"] == pytest.approx(BITGET_MM, rel=1e-12)
    (btc,) = record["positions"]
    assert btc["liquidation_price"] is not None and btc["bankruptcy_price"] is None
    # 10,000 USDT + 0.5 x (P - 60,000) < 0 there: a liability, whose MM Bitget adds (not modelled)
    assert 10_000 + 0.5 * (btc["liquidation_price"] - 60_000) < 0
    assert "; bitget: a negative equity is a liability (USDT equity -" in btc["note"]
    assert "the maintenance margin is understated there" in btc["note"]


def test_a_bitget_usdt_wallet_without_an_asset_row_is_the_single_asset_wallet() -> None:
    """No USDT row in assetList: accountEquity - unrealizedPL - isolatedMargin (10,500 - 500)."""

    def btc_only(fake: FakeRestServer) -> None:
        _bitget_account(fake, [{"coin": "BTC", "balance": "0.3", "available": "0.3"}])

    mode, record, _ = _live("bitget", "multi_assets", btc_only)
    assert {r.asset: r.amount for r in mode.collateral} == {"USDT": 10_000.0, "BTC": 0.3}
    assert record["accounts"][0]["margin_balance"] == pytest.approx(BITGET_EQUITY, rel=1e-12)


def test_a_bitget_hedged_symbol_is_not_computed_and_says_why() -> None:
    """Bitget's multi-asset MM counts "(larger position value + order value)" in hedge mode
    (support 12560603812664): not the per-leg sum, so no figure of ours, and the note says so."""

    def hedged(fake: FakeRestServer) -> None:
        _bitget_account(fake, hedged=True)

    _, record, _ = _live("bitget", "multi_assets", hedged)
    (acc,) = record["accounts"]
    assert acc["margin_ratio"] is None and acc["margin_ratio_venue"] is not None
    cross = [p for p in record["positions"] if p["margin_mode"] == "cross"]
    assert len(cross) == 2 and all(p["liquidation_price"] is None for p in cross)
    assert all(p["note"].startswith(MODE_NOTES["multi_assets"] + " (not computed: ") for p in cross)
    assert all("larger hedge leg" in p["note"] for p in cross)


def test_a_bitget_single_asset_account_reads_no_haircut_table() -> None:
    mode, _, paths = _live("bitget", "single")
    assert mode.collateral == [] and "/api/v2/mix/market/discount-rate" not in paths
