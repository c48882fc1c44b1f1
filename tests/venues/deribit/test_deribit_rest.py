"""deribit: what its REST adapter reads from which field, through the real ccxt client against the
fake JSON-RPC server (tests/fakes/rest_server.py ``FakeDeribit``; fixtures tests/fixtures/deribit,
synthetic: an account holding BTC_USDC-PERPETUAL long 25 @ 60,000 and SOL_USDC-PERPETUAL short
600 @ 150 on 200,000 USDC of equity, and a BTC-PERPETUAL short in the BTC account)."""

from __future__ import annotations

from typing import Any

import pytest

from liqwatch.core.venues.deribit import RAMPS
from liqwatch.feeds.ccxt_client import FeedError
from liqwatch.feeds.rest import RestClient
from liqwatch.state import State
from liqwatch.venues import get_home
from liqwatch.venues.deribit.rest import DeribitRest
from tests.fakes.rest_harness import DEFAULT_KEY, ERROR_KINDS, SECRET, error_of, fetch_all, run, through_core
from tests.fakes.rest_server import FakeRestServer

BTC, SOL = "BTC/USDC:USDC", "SOL/USDC:USDC"


def test_positions_are_the_usdc_linear_perpetuals_in_base_units() -> None:
    snapshot, tiers, wallet = fetch_all("deribit", lambda fake: None, wallet=True, inverse=False)
    by_symbol = {p.symbol: p for p in snapshot.positions}
    assert set(by_symbol) == {BTC, SOL}  # inverse = false: BTC-PERPETUAL (BTC account) is not read
    btc, sol = by_symbol[BTC], by_symbol[SOL]
    # size is the base coin as Deribit prints it for linear instruments, never x contract_size 0.001
    assert (btc.side, btc.size, btc.entry_price, btc.mark_price) == ("long", 25.0, 60000.0, 61000.0)
    assert (sol.side, sol.size, sol.entry_price, sol.mark_price) == ("short", 600.0, 150.0, 150.5)
    assert btc.margin_mode == sol.margin_mode == "cross"
    assert btc.exchange_liquidation_price == 53687.0  # estimated_liquidation_price
    assert (btc.tick_size, sol.tick_size) == (1.0, 0.01)
    assert btc.leverage == 50 and btc.adl_lights is None
    # equity 200,000 less the PnL at the rows' marks (+25,000 BTC, -300 SOL)
    assert wallet == pytest.approx(175_300.0, rel=1e-12)
    assert {t.symbol: (t.basis, t.tiers[0].mmr) for t in tiers} == {BTC: ("quantity", 0.01), SOL: ("quantity", 0.02)}


def test_through_the_state_store_the_ramp_matches_deribits_maintenance_margin() -> None:
    snapshot, tiers, wallet = fetch_all("deribit", lambda fake: None, wallet=True, inverse=False)
    risks, direct = through_core("deribit", snapshot, tiers, wallet)
    rows = {p["instrument_name"]: p for p in FakeRestServer("deribit").data["positions"]["USDC"]}
    by_symbol = {r.spec.symbol: r for r in risks}
    for symbol, native in ((BTC, "BTC_USDC-PERPETUAL"), (SOL, "SOL_USDC-PERPETUAL")):
        risk = by_symbol[symbol]
        assert risk.tier.mmr == pytest.approx(RAMPS[symbol].mmr(risk.spec.size), rel=1e-12)
        assert risk.maintenance_margin == pytest.approx(rows[native]["maintenance_margin"], rel=1e-9)
    assert [r.liquidation_price for r in risks] == [r.liquidation_price for r in direct]
    # the account: liqwatch's MM and equity are the summary's (200,000 equity; 19,233.15 MM)
    state = State(lambda: snapshot.ts)
    for t in tiers:
        state.apply(t)
    state.apply(snapshot)
    from liqwatch.feeds.events import Balance

    state.apply(Balance(account="main", exchange="deribit", ts=snapshot.ts, wallet_balance=wallet or 0.0))
    (view,) = state.snapshot().accounts
    assert view.risk is not None
    summary = FakeRestServer("deribit").data["account_summary"]["USDC"]
    assert view.risk.account.margin_balance == pytest.approx(summary["equity"], rel=1e-12)
    assert view.risk.account.maintenance_margin == pytest.approx(summary["maintenance_margin"], rel=1e-9)
    # BTC leg: equity = MM with SOL held at its mark; Deribit's (synthetic) estimate within its tick
    assert by_symbol[BTC].liquidation_price == pytest.approx(53687.055, abs=1.0)


def test_account_summary_per_currency_and_its_margin_ratio() -> None:
    adapter = get_home("deribit").rest
    assert isinstance(adapter, DeribitRest)

    async def body(fake: FakeRestServer, client: RestClient) -> Any:
        ex = await client._client()
        return await adapter.account_summary(ex, "BTC")

    summary = run("deribit", body)
    assert (summary.currency, summary.equity, summary.maintenance_margin) == ("BTC", 1.5, 0.0032787)
    assert summary.margin_ratio == pytest.approx(0.0032787 / 1.5, rel=1e-12)


def test_marks_from_the_book_summary_mark_price() -> None:
    async def body(fake: FakeRestServer, client: RestClient) -> Any:
        return await client.fetch_marks([BTC, SOL])

    marks = {m.symbol: m.price for m in run("deribit", body)}
    assert marks == {BTC: 61000.0, SOL: 150.5}  # not last (61,003) nor mid

    async def inverse(fake: FakeRestServer, client: RestClient) -> Any:
        return await client.fetch_marks(["BTC/USD:BTC", BTC])

    assert {m.symbol: m.price for m in run("deribit", inverse)} == {"BTC/USD:BTC": 61000.0, BTC: 61000.0}


def test_private_calls_are_signed_with_the_client_id_and_read_only() -> None:
    async def body(fake: FakeRestServer, client: RestClient) -> list[str]:
        await client.fetch_account()
        return fake.paths()

    paths = run("deribit", body)
    assert "/api/v2/private/get_positions" in paths and "/api/v2/private/get_account_summary" in paths
    assert all(p.startswith(("/api/v2/public/", "/api/v2/private/get_")) for p in paths)


def test_a_wrong_client_id_is_an_auth_error_without_the_secret() -> None:
    async def body(fake: FakeRestServer, client: RestClient) -> FeedError:
        with pytest.raises(FeedError) as info:
            await client.fetch_positions()
        return info.value

    error = run("deribit", body, key="wrong-client-id")
    assert error.kind == "auth"
    assert SECRET not in str(error) and DEFAULT_KEY not in str(error) and "wrong-client-id" not in str(error)


@pytest.mark.parametrize(("failure", "kind"), ERROR_KINDS)
def test_transient_failures_are_classified(failure: str, kind: str) -> None:
    async def call(client: RestClient) -> Any:
        return await client.fetch_positions()

    assert error_of("deribit", call, failure).kind == kind


def test_inverse_positions_are_the_venues_estimate_beside_the_account_ratio() -> None:
    adapter = get_home("deribit").rest
    assert isinstance(adapter, DeribitRest)

    async def body(fake: FakeRestServer, client: RestClient) -> Any:
        ex = await client._client()
        return await adapter.inverse_accounts(ex)

    (account,) = run("deribit", body)  # the ETH account holds nothing: not listed
    assert account.summary.currency == "BTC"
    assert account.summary.margin_ratio == pytest.approx(0.0032787 / 1.5, rel=1e-12)
    (p,) = account.positions
    assert (p.symbol, p.side, p.size_usd, p.contracts, p.entry_price) == (
        "BTC/USD:BTC",
        "short",
        20000.0,
        2000.0,
        58000.0,
    )
    assert p.venue_liquidation_price == 74523.5 and p.settle == "BTC"
    assert p.liquidation_price is None and "account-level" in p.reason


def test_tiers_update_keeps_the_ramp_symbols_only() -> None:
    import asyncio

    from liqwatch.tiers_update import download_venue

    async def body() -> Any:
        async with FakeRestServer("deribit") as fake:
            return await download_venue("deribit", rest_url=fake.url), fake.paths()

    result, paths = asyncio.run(body())
    assert set(result.symbols) == set(RAMPS)  # no tier endpoint: the published ramps, size-0 rows
    assert {"ETH/USDC:USDC", "BTC/USD:BTC"} <= set(result.failures)
    assert paths == ["/api/v2/public/get_instruments"]


@pytest.mark.parametrize(
    ("fields", "mode"),
    [
        ({"margin_model": "cross_pm"}, "portfolio"),
        ({"margin_model": "cross_sm"}, "multi_assets"),
        ({"margin_model": None, "portfolio_margining_enabled": True}, "portfolio"),
    ],
)
def test_other_margin_models_are_read_as_their_mode(fields: dict[str, Any], mode: str) -> None:
    """Issue #21: an account on another margin model is no longer refused as a feed error: its mode
    says it (the state store then shows no liqwatch figure for it, the venue's ratio instead)."""

    def setup(fake: FakeRestServer) -> None:
        summary = fake.data["account_summary"]
        fake.set("account_summary", {**summary, "USDC": {**summary["USDC"], **fields}})

    async def body(fake: FakeRestServer, client: RestClient) -> Any:
        await client.fetch_account()
        return await client.fetch_account_mode()

    event = run("deribit", body, setup=setup)
    assert event.mode == mode and "deribit margin_model" in event.mode_detail
