"""Issue #21 points 4 and 5: a portfolio-margin account's collateral, every coin the venue reports,
read through real ccxt from the fake venue servers (the venues' published shapes; each fixture
cites its source): the balance net of borrow, the PnL the venue settles in it, the USD index price,
the venue's collateral rate, value and collateral value, and the venue's own effective equity, in
``watch``'s account record as ``collateral`` rows with ``"source": "venue"`` — and no figure of ours
(the account's ratio stays the venue's)."""

from __future__ import annotations

from typing import Any

import pytest

from liqwatch.feeds.events import AccountMode, Event
from liqwatch.feeds.rest import RestClient
from liqwatch.records import snapshot_record
from liqwatch.state import State
from tests.fakes.rest_harness import run
from tests.fakes.rest_server import FakeRestServer
from tests.venues.test_live_collateral_gate_bitget import (
    GATE_BTC_COUNTS,
    GATE_BTC_VALUE,
    GATE_INDEX_BTC,
    GATE_UPL,
    _gate_account,
)

T = 1_764_000_000.0
ACCOUNT_OURS = ("margin_balance", "maintenance_margin", "margin_ratio", "cross_margin_ratio", "margin_ratio_diff")
KEYS = {"asset", "amount", "price", "value_usd", "collateral_value_usd", "ratio", "equity", "source"}


def _cycles(venue: str, setup: Any = None, n: int = 1) -> tuple[list[Event], list[str]]:
    """``n`` REST cycles of a portfolio-margin account as the live feed reads them: (the last
    cycle's events, every path asked)."""

    def prepare(fake: FakeRestServer) -> None:
        fake.set_mode("portfolio")
        if setup is not None:
            setup(fake)

    async def body(fake: FakeRestServer, client: RestClient) -> tuple[list[Event], list[str]]:
        events: list[Event] = []
        for _ in range(n):
            positions, balances = await client.fetch_account_balances()
            mode = await client.fetch_account_mode()
            events = [mode, *balances, positions]
        return events, fake.paths()

    return run(venue, body, setup=prepare, inverse=False)


def _account(events: list[Event]) -> tuple[AccountMode, dict[str, Any]]:
    state = State(clock=lambda: T)
    for event in events:
        state.apply(event)
    (acc,) = snapshot_record(state.snapshot())["accounts"]
    mode = events[0]
    assert isinstance(mode, AccountMode)
    assert acc["mode"] == "portfolio" and acc["status"] == "ok"
    for key in ACCOUNT_OURS:  # the coins are the venue's: no account figure of ours from them
        assert acc[key] is None, key
    assert all(set(row) == KEYS and row["source"] == "venue" for row in acc["collateral"])
    assert "collateral_error" not in mode.venue_inputs
    return mode, acc


def _rows(acc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["asset"]: row for row in acc["collateral"]}


def _check(row: dict[str, Any], amount: float, equity: float, price: float, ratio: float) -> None:
    """A coin's figures: value = equity x price, collateral value = value x the venue's rate."""
    assert row["amount"] == pytest.approx(amount, rel=1e-12)
    assert row["equity"] == pytest.approx(equity, rel=1e-12)
    assert row["price"] == pytest.approx(price, rel=1e-12)
    assert row["value_usd"] == pytest.approx(equity * price, rel=1e-12)
    assert row["collateral_value_usd"] == pytest.approx(equity * price * ratio, rel=1e-12)
    assert row["ratio"] == pytest.approx(ratio, rel=1e-12)


# --------------------------------------------------------------------------- Binance PM (papi)


def test_a_binance_pm_account_lists_every_papi_asset_at_the_venues_index_and_collateral_rate() -> None:
    """GET /papi/v1/balance, per the uniMMR FAQ X = MarginAsset - MarginLoan + futuresAsset +
    futuresUnrealPnL: USDT 92.27530794 - 10 + 12,000 (+ 650 uPnL) at its assetIndexPrice 0.9998
    and collateralRate 1; BTC 0.25 + 0.01 (COIN-M wallet) at 28,251.9136906 and 0.95; the venue's
    accountEquity beside them."""
    mode, acc = _account(_cycles("binance")[0])
    rows = _rows(acc)
    assert list(rows) == ["USDT", "BTC"]  # the venue's order
    _check(rows["USDT"], 92.27530794 - 10 + 12_000, 92.27530794 - 10 + 12_000 + 650, 0.9998, 1.0)
    _check(rows["BTC"], 0.26, 0.26, 28_251.9136906, 0.95)
    assert mode.collateral[0].pnl == 650.0
    assert acc["effective_equity_venue"] == 122_607.35137903
    assert acc["effective_equity_venue_name"] == "accountEquity"
    assert acc["margin_ratio_venue"] == pytest.approx(1 / 5167.92171923, rel=1e-12)  # still the venue's


def test_binance_pm_reads_the_balance_once_a_cycle_and_the_rates_once_per_ttl() -> None:
    """Two cycles: /papi/v1/balance once each (the balance's read reused), the index price of each
    held asset each cycle, the collateral rates once (kept COLLATERAL_TABLE_TTL seconds)."""
    _, paths = _cycles("binance", n=2)
    assert paths.count("/papi/v1/balance") == 2
    assert paths.count("/sapi/v1/portfolio/asset-index-price") == 4  # USDT and BTC, twice
    assert paths.count("/sapi/v1/portfolio/collateralRate") == 1


def test_a_binance_pm_loan_counts_at_full_value() -> None:
    """min(X x price x rate, X x price): a negative X (a BTC loan larger than the BTC held) counts at
    its whole value, not at the 0.95 rate."""

    def borrow(fake: FakeRestServer) -> None:
        rows = fake.data["papi"]["balance"]
        fake.data["papi"]["balance"] = [
            {**r, "crossMarginBorrowed": "0.5", "crossMarginInterest": "0.001"} if r["asset"] == "BTC" else r
            for r in rows
        ]

    _, acc = _account(_cycles("binance", borrow)[0])
    btc = _rows(acc)["BTC"]
    _check(btc, 0.26 - 0.501, 0.26 - 0.501, 28_251.9136906, 1.0)
    assert btc["collateral_value_usd"] < 0


def test_a_binance_pm_asset_without_a_collateral_rate_is_refused_in_one_line() -> None:
    def no_btc_rate(fake: FakeRestServer) -> None:
        papi = fake.data["papi"]
        papi["collateralRate"] = [r for r in papi["collateralRate"] if r["asset"] != "BTC"]

    events, _ = _cycles("binance", no_btc_rate)
    mode = events[0]
    assert isinstance(mode, AccountMode) and mode.collateral == []
    reason = str(mode.venue_inputs["collateral_error"])
    assert "no /sapi/v1/portfolio/collateralRate for BTC" in reason and "\n" not in reason
    state = State(clock=lambda: T)
    for event in events:
        state.apply(event)
    (acc,) = snapshot_record(state.snapshot())["accounts"]
    assert acc["collateral"] == [] and acc["margin_ratio_venue"] is not None  # the venue's ratio stands


# --------------------------------------------------------------------------- Bybit PORTFOLIO_MARGIN


def test_a_bybit_portfolio_account_lists_the_wallet_coins_at_their_tiered_collateral_ratios() -> None:
    """The UNIFIED wallet-balance coins (the REGULAR_MARGIN reader): USDT walletBalance 10,000 with
    its unrealisedPnl 745 at usdValue / equity 1 and ratio 1; BTC 0.02 at 1,234.5 / 0.02 and the
    /v5/spot-margin-trade/collateral tier 0.85; the venue's totalMarginBalance beside them."""
    _, acc = _account(_cycles("bybit")[0])
    rows = _rows(acc)
    assert set(rows) == {"USDT", "BTC"}
    _check(rows["USDT"], 10_000, 10_745, 1.0, 1.0)
    _check(rows["BTC"], 0.02, 0.02, 1_234.5 / 0.02, 0.85)
    assert (acc["effective_equity_venue"], acc["effective_equity_venue_name"]) == (10_745.0, "totalMarginBalance")
    assert acc["margin_ratio_venue"] == 0.0412


# --------------------------------------------------------------------------- OKX acctLv 4


def _okx_btc(fake: FakeRestServer) -> None:
    # a BTC currency as GET /api/v5/account/balance details[] sends it
    # (https://www.okx.com/docs-v5/en/#trading-account-rest-api-get-balance): eq, eqUsd, disEq, upl
    balance = fake.data["balance"]
    usdt = balance["details"][0]
    btc = {
        **usdt,
        "ccy": "BTC",
        "eq": "0.3",
        "eqUsd": "18300",
        "disEq": "17934",
        "upl": "0",
        "isoEq": "0",
        "isoUpl": "0",
    }
    fake.set("balance", {**balance, "details": [usdt, btc]})


def test_an_okx_portfolio_account_lists_each_currency_at_the_venues_discounted_equity() -> None:
    """acctLv 4: each details[] currency as OKX values it, eqUsd and disEq as sent (no discount-rate
    table read): USDT eq 11,495 (upl 745), BTC 0.3 at 18,300 counting 17,934; adjEq beside them."""
    events, paths = _cycles("okx", _okx_btc)
    _, acc = _account(events)
    rows = _rows(acc)
    _check(rows["USDT"], 11_495 - 745, 11_495, 1.0, 1.0)
    _check(rows["BTC"], 0.3, 0.3, 61_000, 17_934 / 18_300)
    assert rows["BTC"]["collateral_value_usd"] == 17_934.0 and rows["BTC"]["value_usd"] == 18_300.0  # as sent
    assert (acc["effective_equity_venue"], acc["effective_equity_venue_name"]) == (11_380.05, "adjEq")
    assert "/api/v5/public/discount-rate-interest-free-quota" not in paths


# --------------------------------------------------------------------------- Gate unified portfolio


def test_a_gate_portfolio_account_lists_the_unified_balances_at_their_discount_tiers() -> None:
    """/unified/accounts balances as multi_currency reads them: USDT (its equity, the futures PnL
    the venue settles in it) at 1; BTC 0.3 at its perpetual's index_price, counted slice by slice
    at /unified/currency_discount_tiers; the venue's total_margin_balance beside them."""
    mode, acc = _account(_cycles("gate", _gate_account)[0])
    rows = _rows(acc)
    _check(rows["USDT"], 10_000, 10_000 + GATE_UPL, 1.0, 1.0)
    btc = rows["BTC"]
    assert btc["amount"] == 0.3 and btc["price"] == GATE_INDEX_BTC
    assert btc["value_usd"] == pytest.approx(GATE_BTC_VALUE, rel=1e-12)
    assert btc["collateral_value_usd"] == pytest.approx(GATE_BTC_COUNTS, rel=1e-12)
    assert acc["effective_equity_venue_name"] == "total_margin_balance"
    assert acc["effective_equity_venue"] == mode.venue_inputs["total_margin_balance"]


# --------------------------------------------------------------------------- where the venue gives none


@pytest.mark.parametrize("venue", ["deribit", "hyperliquid"])
def test_venues_without_per_coin_collateral_figures_list_none(venue: str) -> None:
    """Deribit cross_pm and Hyperliquid portfolioMargin give no per-coin collateral rate liqwatch
    reads (README): no rows, no effective equity, the venue's ratio alone."""
    _, acc = _account(_cycles(venue)[0])
    assert acc["collateral"] == [] and acc["effective_equity_venue"] is None


def test_a_portfolio_accounts_collateral_read_back_from_the_bus_is_the_same() -> None:
    """A dashboard on the bus rebuilds the account from watch's record: the same venue rows and
    effective equity (its card and Collateral block say the same)."""
    from liqwatch.bus.feed import snapshot_events

    events, _ = _cycles("binance")
    state = State(clock=lambda: T)
    for event in events:
        state.apply(event)
    sent = snapshot_record(state.snapshot()) | {"group": "g1", "ts": T}
    back = State(clock=lambda: T)
    for event in snapshot_events(sent):
        back.apply(event)
    (acc,) = snapshot_record(back.snapshot())["accounts"]
    (was,) = sent["accounts"]
    assert acc["effective_equity_venue"] == was["effective_equity_venue"] == 122_607.35137903
    assert acc["effective_equity_venue_name"] == "accountEquity"
    assert len(acc["collateral"]) == len(was["collateral"]) == 2
    for got, want in zip(acc["collateral"], was["collateral"], strict=True):
        assert got.keys() == want.keys()
        for key, value in want.items():
            assert got[key] == (pytest.approx(value, rel=1e-12) if isinstance(value, float) else value), key
