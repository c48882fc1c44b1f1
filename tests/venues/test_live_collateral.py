"""Issue #21, live multi-assets accounts beyond Binance: every collateral coin's balance and the
venue's collateral rate tables read through real ccxt from the fake venue servers, the account
computed by liqwatch's core (:func:`liqwatch.core.collateral.assess_collateral`, the Binance path)
and compared with the venue's own ratio within the README's 1 % (``RATIO_DIFF``)."""

from __future__ import annotations

from typing import Any

import pytest

from liqwatch.feeds.events import AccountMode, Balance, Positions, Tiers
from liqwatch.feeds.rest import RestClient
from liqwatch.state import POOLED_NOTE, RATIO_DIFF, State, snapshot_record
from tests.fakes.rest_harness import run
from tests.fakes.rest_server import FakeRestServer


def _live(venue: str, fixture_mode: str, setup: Any = None) -> tuple[AccountMode, dict[str, Any], list[str]]:
    """Positions, balances, tiers and the account mode read as the feed does, applied to a state
    store: (the mode event, the snapshot record, the paths asked)."""

    def prepare(fake: FakeRestServer) -> None:
        fake.set_mode(fixture_mode)
        if setup is not None:
            setup(fake)

    async def body(
        fake: FakeRestServer, client: RestClient
    ) -> tuple[Positions, list[Balance], list[Tiers], AccountMode, list[str]]:
        positions, balances = await client.fetch_account_balances()
        tiers = await client.fetch_tiers(sorted({p.symbol for p in positions.positions}))
        mode = await client.fetch_account_mode()
        return positions, balances, tiers, mode, fake.paths()

    positions, balances, tiers, mode, paths = run(venue, body, setup=prepare)
    state = State(lambda: positions.ts)
    for event in (mode, *tiers, *balances, positions):
        state.apply(event)
    return mode, snapshot_record(state.snapshot()), paths


def _assert_ours_beside_the_venues(record: dict[str, Any]) -> dict[str, Any]:
    (acc,) = record["accounts"]
    assert acc["mode"] == "multi_assets" and acc["note"] == POOLED_NOTE
    assert acc["margin_ratio"] is not None and acc["margin_balance"] is not None
    assert acc["maintenance_margin"] is not None
    assert acc["margin_ratio"] == pytest.approx(acc["maintenance_margin"] / acc["margin_balance"], rel=1e-12)
    assert acc["margin_ratio_venue"] is not None
    assert abs(acc["margin_ratio_diff"]) <= RATIO_DIFF * acc["margin_ratio_venue"]
    cross = [p for p in record["positions"] if p["margin_mode"] == "cross"]
    assert cross and all(p["note"].startswith(POOLED_NOTE) for p in cross)
    assert any(p["liquidation_price"] is not None for p in cross)
    return acc


# --------------------------------------------------------------------------- Bybit UTA cross


def test_a_bybit_uta_cross_account_reads_every_coin_at_its_tiered_collateral_ratio() -> None:
    """REGULAR_MARGIN: the coins of the UNIFIED wallet-balance answer the balance came from (no
    second read) at usdValue / equity, each with its /v5/spot-margin-trade/collateral tiers."""
    mode, _, paths = _live("bybit", "multi_assets")
    rows = {r.asset: r for r in mode.collateral}
    assert set(rows) == {"USDT", "BTC"}
    assert rows["USDT"].amount == 10000.0 and rows["USDT"].price == pytest.approx(1.0, rel=1e-12)
    assert rows["BTC"].amount == 0.02 and rows["BTC"].price == pytest.approx(1234.5 / 0.02, rel=1e-12)
    assert [(t.min, t.max, t.ratio) for t in rows["BTC"].tiers] == [(0.0, 1000000.0, 0.85), (1000000.0, None, 0.0)]
    assert rows["BTC"].tier_basis == "quantity" and rows["BTC"].bid_buffer is None
    assert paths.count("/v5/account/wallet-balance") == 1  # reused, not read again
    assert paths.count("/v5/spot-margin-trade/collateral") == 1
    assert "collateral_error" not in mode.venue_inputs


def test_a_bybit_uta_cross_account_is_computed_beside_account_mm_rate() -> None:
    _, record, _ = _live("bybit", "multi_assets")
    acc = _assert_ours_beside_the_venues(record)
    # by hand: the USDT equity 10,000 + the perp UPL at the marks; BTC 0.02 x 61,725 x 0.85
    upl = 0.5 * (61000 - 60000) + 0.2 * (62000 - 61000) + 2 * (3025 - 3000) - 10 * (150.5 - 150)
    assert acc["margin_balance"] == pytest.approx(10000 + upl + 0.02 * 61725 * 0.85, rel=1e-12)
    btc = next(p for p in record["positions"] if p["symbol"] == "BTC/USDT:USDT")
    assert btc["liquidation_price"] is not None and btc["bankruptcy_price"] is None


def test_a_bybit_coin_switched_off_as_collateral_counts_nothing() -> None:
    """collateralSwitch false: the BTC balance counts 0 (ratio 0), the account still computed."""

    def off(fake: FakeRestServer) -> None:
        wallet = fake.data["wallet_balance"]
        coins = [{**c, "collateralSwitch": False} if c["coin"] == "BTC" else c for c in wallet["coin"]]
        fake.set("wallet_balance", {**wallet, "coin": coins})

    mode, record, _ = _live("bybit", "multi_assets", off)
    btc = next(r for r in mode.collateral if r.asset == "BTC")
    assert btc.ratio == 0.0 and btc.tiers == []
    (acc,) = record["accounts"]
    upl = 0.5 * (61000 - 60000) + 0.2 * (62000 - 61000) + 2 * (3025 - 3000) - 10 * (150.5 - 150)
    assert acc["margin_balance"] == pytest.approx(10000 + upl, rel=1e-12)  # BTC counts nothing


def test_a_bybit_coin_without_a_tier_table_is_refused_in_one_line() -> None:
    def no_btc(fake: FakeRestServer) -> None:
        table = fake.data["collateral_ratio"]
        fake.set("collateral_ratio", {**table, "list": [r for r in table["list"] if r["currency"] != "BTC"]})

    mode, record, _ = _live("bybit", "multi_assets", no_btc)
    assert mode.collateral == []
    reason = str(mode.venue_inputs["collateral_error"])
    assert "no /v5/spot-margin-trade/collateral tiers for BTC" in reason and "\n" not in reason
    (acc,) = record["accounts"]
    assert acc["margin_ratio"] is None and acc["margin_ratio_venue"] is not None


def test_a_bybit_portfolio_account_reads_the_coins_as_the_venues_only() -> None:
    """PORTFOLIO_MARGIN: the same coins and tiers, with the venue's PnL in each, shown as the
    venue's (tests/venues/test_portfolio_collateral.py): nothing of ours is computed from them."""
    mode, record, _ = _live("bybit", "portfolio")
    assert {r.asset: r.pnl for r in mode.collateral} == {"USDT": 745.0, "BTC": 0.0}
    (acc,) = record["accounts"]
    assert acc["margin_ratio"] is None and acc["margin_balance"] is None
    assert {c["source"] for c in acc["collateral"]} == {"venue"}


# --------------------------------------------------------------------------- OKX multi-currency margin


def test_an_okx_multi_currency_account_reads_every_currency_at_its_discount_rate_tiers() -> None:
    """acctLv 3: each details[] currency of /api/v5/account/balance at eqUsd / eq, with its
    /api/v5/public/discount-rate-interest-free-quota tiers (the doc's BTC example: 0.98 to 20 BTC,
    0.9775 to 25, then minDiscountRate 0)."""
    mode, _, paths = _live("okx", "multi_assets")
    rows = {r.asset: r for r in mode.collateral}
    assert set(rows) == {"USDT", "BTC"}
    # USDT: eq 11,495 - isoEq 795 - (upl 745 - isoUpl 45): the cross equity less its cross upl
    assert rows["USDT"].amount == pytest.approx(10000.0, rel=1e-12) and rows["USDT"].price == 1.0
    assert rows["BTC"].amount == 0.3 and rows["BTC"].price == pytest.approx(61000.0, rel=1e-12)
    assert [(t.min, t.max, t.ratio) for t in rows["BTC"].tiers] == [
        (0.0, 20.0, 0.98),
        (20.0, 25.0, 0.9775),
        (25.0, None, 0.0),
    ]
    assert paths.count("/api/v5/public/discount-rate-interest-free-quota") == 1
    assert "collateral_error" not in mode.venue_inputs


def test_an_okx_multi_currency_account_is_computed_beside_mgn_ratio() -> None:
    _, record, _ = _live("okx", "multi_assets")
    acc = _assert_ours_beside_the_venues(record)
    assert acc["margin_balance"] == pytest.approx(10000 + 0.5 * 1000 + 0.2 * 1000 + 0.3 * 61000 * 0.98, rel=1e-12)
    isolated = [p for p in record["positions"] if p["margin_mode"] == "isolated"]
    assert isolated and all(p["liquidation_price"] is not None for p in isolated)  # their own margin


def test_okx_reads_every_currency_in_the_balance_once_the_mode_is_known() -> None:
    """After the mode is read (acctLv 3), the cycle's balance read asks for every currency and the
    collateral reuses it: one /api/v5/account/balance per cycle."""

    def prepare(fake: FakeRestServer) -> None:
        fake.set_mode("multi_assets")

    async def body(fake: FakeRestServer, client: RestClient) -> tuple[AccountMode, list[str]]:
        await client.fetch_account_balances()
        await client.fetch_account_mode()
        before = len(fake.paths())
        await client.fetch_account_balances()
        mode = await client.fetch_account_mode()
        return mode, fake.paths()[before:]

    mode, paths = run("okx", body, setup=prepare)
    assert paths.count("/api/v5/account/balance") == 1
    assert {r.asset for r in mode.collateral} == {"USDT", "BTC"}


def test_an_okx_currency_without_discount_tiers_is_refused_in_one_line() -> None:
    def no_btc(fake: FakeRestServer) -> None:
        table = fake.data["discount_rate"]
        fake.set("discount_rate", {**table, "data": [r for r in table["data"] if r["ccy"] != "BTC"]})

    mode, record, _ = _live("okx", "multi_assets", no_btc)
    assert mode.collateral == []
    reason = str(mode.venue_inputs["collateral_error"])
    assert "no /api/v5/public/discount-rate-interest-free-quota tiers for BTC" in reason and "\n" not in reason
    assert record["accounts"][0]["margin_ratio"] is None


def test_an_okx_single_currency_account_reads_one_currency_and_no_tiers() -> None:
    mode, _, paths = _live("okx", "single")
    assert mode.collateral == [] and "/api/v5/public/discount-rate-interest-free-quota" not in paths


# --------------------------------------------------------------------------- the tables are reused


@pytest.mark.parametrize(
    ("venue", "table"),
    [("bybit", "/v5/spot-margin-trade/collateral"), ("okx", "/api/v5/public/discount-rate-interest-free-quota")],
)
def test_the_public_table_is_read_once_then_reused_until_its_ttl(
    venue: str, table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every REST cycle reads the balances; the collateral-rate table is read once and reused for
    COLLATERAL_TABLE_TTL seconds (read again once it is older)."""

    def prepare(fake: FakeRestServer) -> None:
        fake.set_mode("multi_assets")

    async def body(fake: FakeRestServer, client: RestClient) -> tuple[int, int, int]:
        for _ in range(3):
            await client.fetch_account_balances()
            await client.fetch_account_mode()
        reused = fake.paths().count(table)
        monkeypatch.setattr("liqwatch.feeds.venue_rest.COLLATERAL_TABLE_TTL", 0.0)
        await client.fetch_account_balances()
        mode = await client.fetch_account_mode()
        return reused, fake.paths().count(table), len(mode.collateral)

    reused, after_ttl, rows = run(venue, body, setup=prepare)
    assert (reused, after_ttl, rows) == (1, 2, 2)


def test_a_coin_new_to_the_kept_table_reads_it_again() -> None:
    """A held coin the kept table lacks (listed since): the table is read again at once."""

    def prepare(fake: FakeRestServer) -> None:
        fake.set_mode("multi_assets")

    async def body(fake: FakeRestServer, client: RestClient) -> tuple[int, set[str]]:
        await client.fetch_account_balances()
        await client.fetch_account_mode()
        wallet = fake.data["wallet_balance"]
        sol = {**wallet["coin"][1], "coin": "SOL", "walletBalance": "10", "equity": "10", "usdValue": "1500"}
        fake.set("wallet_balance", {**wallet, "coin": [*wallet["coin"], sol]})
        table = fake.data["collateral_ratio"]
        listed = {"currency": "SOL", "collateralRatioList": [{"minQty": "0", "maxQty": "", "collateralRatio": "0.8"}]}
        fake.set("collateral_ratio", {**table, "list": [*table["list"], listed]})
        await client.fetch_account_balances()
        mode = await client.fetch_account_mode()
        return fake.paths().count("/v5/spot-margin-trade/collateral"), {r.asset for r in mode.collateral}

    count, assets = run("bybit", body, setup=prepare)
    assert count == 2 and assets == {"USDT", "BTC", "SOL"}
