"""Issue #21, safety: every venue's account mode detected at connect and the venue's own account
ratio read beside ours, through real ccxt clients against the fake venue servers. The payloads are
the venues' published shapes (tests/fixtures/<venue>/modes.json cites each doc page)."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

from liqwatch.feeds.ccxt_client import FeedError
from liqwatch.feeds.events import AccountMode
from liqwatch.feeds.rest import RestClient
from tests.fakes.rest_harness import run
from tests.fakes.rest_server import DEFAULT_KEY, FakeRestServer

CASES = [
    # venue, fixture mode, detected mode, words in mode_detail, venue ratio (liqwatch's convention)
    ("binance", "single", "single", "multiAssetsMargin false", 202.525 / 11495.0),
    ("binance", "multi_assets", "multi_assets", "multiAssetsMargin true", 262.575 / 26252.5),
    ("binance", "bnfcr", "multi_assets", "BNFCR", 202.525 / 26200.0),
    ("binance", "portfolio", "portfolio", "isPortfolioMarginRetailEnabled true", 1 / 5167.92171923),
    ("bybit", "single", "single", "bybit marginMode ISOLATED_MARGIN (unified)", None),
    ("bybit", "classic", "single", "unifiedMarginStatus 1", None),
    ("bybit", "multi_assets", "multi_assets", "bybit marginMode REGULAR_MARGIN (unified)", 0.0219),
    ("bybit", "portfolio", "portfolio", "bybit marginMode PORTFOLIO_MARGIN (unified)", 0.0412),
    ("okx", "single", "single", "okx acctLv 2", None),
    ("okx", "single_ratio", "single", "okx acctLv 2", 1 / 62.67),
    ("okx", "multi_assets", "multi_assets", "okx acctLv 3 (multi-currency margin)", 1 / 149.019),
    ("okx", "portfolio", "portfolio", "okx acctLv 4 (portfolio margin)", 1 / 12.5),
    ("gate", "single", "single", "gate unified_mode classic", None),
    ("gate", "single_currency", "single", "gate unified_mode single_currency", None),
    ("gate", "multi_assets", "multi_assets", "gate unified_mode multi_currency", 1 / 16499.135678363399),
    ("gate", "portfolio", "portfolio", "gate unified_mode portfolio", 1 / 8.0),
    ("bitget", "single", "single", "bitget assetMode single", None),
    ("bitget", "multi_assets", "multi_assets", "bitget assetMode union", 0.0321),
    # crossMaintenanceMarginUsed / crossMarginSummary.accountValue; unified: / (spot USDC - isolated marginUsed)
    ("hyperliquid", "single", "single", "hyperliquid userAbstraction default", 800.25 / 10495.0),
    ("hyperliquid", "dex", "single", "hyperliquid userAbstraction dexAbstraction", 800.25 / 10495.0),
    ("hyperliquid", "multi_assets", "multi_assets", "hyperliquid userAbstraction unifiedAccount", 800.25 / 11350.0),
    ("hyperliquid", "portfolio", "portfolio", "hyperliquid userAbstraction portfolioMargin", None),
    ("deribit", "single", "single", "deribit margin_model segregated_sm", 19233.15 / 200000.0),
    ("deribit", "multi_assets", "multi_assets", "deribit margin_model cross_sm", 21500.0 / 430000.0),
    ("deribit", "portfolio", "portfolio", "deribit margin_model cross_pm", 12900.0 / 430000.0),
]


def _mode(venue: str, fixture_mode: str) -> tuple[AccountMode, list[str]]:
    def setup(fake: FakeRestServer) -> None:
        fake.set_mode(fixture_mode)

    async def body(fake: FakeRestServer, client: RestClient) -> tuple[AccountMode, list[str]]:
        await client.fetch_account_balances()  # Binance portfolio margin: through papi (fapi refuses its key)
        return await client.fetch_account_mode(), fake.paths()

    return run(venue, body, setup=setup)


@pytest.mark.parametrize(("venue", "fixture", "mode", "detail", "ratio"), CASES)
def test_each_venue_mode_is_detected_and_its_ratio_read(
    venue: str, fixture: str, mode: str, detail: str, ratio: float | None
) -> None:
    event, _ = _mode(venue, fixture)
    assert event.mode == mode
    assert detail in event.mode_detail and "\n" not in event.mode_detail
    if ratio is None:
        assert event.margin_ratio_venue is None
    else:
        assert event.margin_ratio_venue == pytest.approx(ratio, rel=1e-12)
    assert "error" not in event.venue_inputs


def test_the_binance_ratio_reuses_the_balance_read() -> None:
    """The venue ratio comes from the same /fapi/v3/account answer the balance was read from."""
    event, paths = _mode("binance", "multi_assets")
    assert event.venue_inputs == {"totalMaintMargin": 262.575, "totalMarginBalance": 26252.5}
    assert paths.count("/fapi/v3/account") == 1  # the balance's read only (multiAssetsMargin true: no BNFCR look)


def test_the_hyperliquid_ratio_reuses_the_balance_read_and_reads_a_unified_account_from_spot() -> None:
    """One clearinghouseState read per cycle: the venue ratio uses the one the balance came from. A
    unifiedAccount's balances are reported in the spot clearinghouse: its ratio is Hyperliquid's
    Unified Account Ratio (cross maintenance margin / (spot USDC total - isolated marginUsed))."""
    from tests.fakes.rest_server import FakeHyperliquid

    async def body(fake: FakeRestServer, client: RestClient) -> tuple[AccountMode, list[str]]:
        await client.fetch_account_balances()
        assert isinstance(fake.venue, FakeHyperliquid)
        fake.venue.kinds.clear()
        return await client.fetch_account_mode(), fake.venue.kinds

    event, kinds = run("hyperliquid", body)
    assert event.venue_inputs == {"crossMaintenanceMarginUsed": 800.25, "crossMarginSummary.accountValue": 10495.0}
    assert kinds == ["userAbstraction"]  # the ratio: the balance's clearinghouseState, not read again
    unified, _ = _mode("hyperliquid", "multi_assets")
    assert unified.venue_inputs == {
        "crossMaintenanceMarginUsed": 800.25,
        "spot USDC total": 12000.0,
        "isolated marginUsed": 650.0,
    }


def test_a_mode_the_venue_refuses_to_tell_is_unknown_with_the_reason() -> None:
    """A permission refusal of the mode endpoint makes the mode ``unknown``, the reason in one line;
    a passing failure (network, rate limit) is raised for the feed to retry instead."""

    async def body(fake: FakeRestServer, client: RestClient) -> tuple[AccountMode, str]:
        await client.fetch_account_balances()
        fake.fail_next("permission")
        refused = await client.fetch_account_mode()
        other = RestClient(client.account, client._secrets)  # a fresh connect
        await other.open()
        fake.fail_next("rate_limit")
        try:
            with pytest.raises(FeedError) as info:
                await other.fetch_account_mode()
        finally:
            await other.close()
        return refused, info.value.kind

    event, kind = run("okx", body)
    assert event.mode == "unknown"
    assert event.mode_detail.startswith("the account mode could not be read:") and "\n" not in event.mode_detail
    assert "permission" in event.mode_detail
    assert kind == "rate_limit"


def test_a_mode_endpoint_the_venue_does_not_have_is_unknown_not_retried_forever() -> None:
    """A bare 404 (an endpoint a testnet or proxy lacks) makes the mode ``unknown`` with the HTTP
    status in the reason: the account's feed goes on (its figures withheld), it does not fail."""

    def setup(fake: FakeRestServer) -> None:
        fake.set("account_config_status", 404)

    async def body(fake: FakeRestServer, client: RestClient) -> AccountMode:
        await client.fetch_account_balances()
        return await client.fetch_account_mode()

    event = run("okx", body, setup=setup)
    assert event.mode == "unknown" and "404" in event.mode_detail and "\n" not in event.mode_detail


def test_the_mode_is_read_once_at_connect_the_ratio_every_cycle() -> None:
    def setup(fake: FakeRestServer) -> None:
        fake.set_mode("multi_assets")

    async def body(fake: FakeRestServer, client: RestClient) -> list[str]:
        for _ in range(3):
            await client.fetch_account_balances()
            await client.fetch_account_mode()
        return fake.paths()

    paths = run("gate", body, setup=setup)
    assert paths.count("/api/v4/unified/unified_mode") == 1
    assert paths.count("/api/v4/unified/accounts") == 3


def test_a_binance_portfolio_margin_account_says_its_mode_when_its_positions_cannot_be_read() -> None:
    """The live feed's first cycle fails on /papi/v1/um/positionRisk for a portfolio-margin
    account: it still says the mode (from /sapi/v1/account/info) and papi's uniMMR before the error."""
    import asyncio

    from liqwatch.config import AccountConfig
    from liqwatch.feeds.events import Event, Status
    from liqwatch.feeds.live import VenueFeed

    async def body() -> list[Event]:
        async with FakeRestServer("binance") as rest:
            rest.set_mode("portfolio")
            rest.set("papi_um_positionRisk_status", 400)
            account = AccountConfig(
                name="main", exchange="binance", api_key_env="K", api_secret_env="S", rest_url=rest.url
            )
            seen: list[Event] = []
            task = asyncio.create_task(VenueFeed(account, environ={"K": DEFAULT_KEY, "S": "s"}).run(seen.append))
            try:
                while not any(isinstance(e, Status) and e.state == "error" for e in seen):
                    await asyncio.sleep(0.02)
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            return seen

    seen = asyncio.run(asyncio.wait_for(body(), 20))
    (mode,) = [e for e in seen if isinstance(e, AccountMode)]
    error = next(i for i, e in enumerate(seen) if isinstance(e, Status) and e.state == "error")
    assert seen.index(mode) < error
    assert mode.mode == "portfolio" and mode.margin_ratio_venue == pytest.approx(1 / 5167.92171923, rel=1e-12)
    assert mode.venue_inputs["accountStatus"] == "NORMAL"


def test_a_bnfcr_account_has_no_collateral_rate_so_no_figure_of_ours() -> None:
    """Credits Trading Mode: the BNFCR credit has no /fapi/v1/assetIndex row, so the collateral
    cannot be valued: no rows (the state store then shows no figure of ours), the reason said."""
    event, _ = _mode("binance", "bnfcr")
    assert event.mode == "multi_assets" and event.collateral == []
    reason = str(event.venue_inputs["collateral_error"])
    assert "no /fapi/v1/assetIndex rate for BNFCRUSD" in reason and "\n" not in reason


def test_a_multi_assets_binance_account_reads_its_collateral() -> None:
    event, paths = _mode("binance", "multi_assets")
    assert [(r.asset, r.amount, r.price, r.bid_buffer, r.ask_buffer) for r in event.collateral] == [
        ("USDT", 10750.0, 0.99, 0.01, 0.005),
        ("USDC", 0.0, 1.0, 0.01, 0.005),
        ("BTC", 0.25, 61000.0, 0.05, 0.05),
    ]
    assert paths.count("/fapi/v1/assetIndex") == 1


# ---------------------------------------------------------------- Binance portfolio margin (papi)

PAPI_POSITIONS = [
    # symbol, side, size, entry, margin mode, leverage, mark, the venue's liquidationPrice, ADL lights
    ("BTC/USDT:USDT", "long", 0.5, 60_000.0, "cross", 20.0, 61_000.0, 38_007.16308568, 4),
    ("ETH/USDT:USDT", "short", 2.0, 3_100.0, "cross", 10.0, 3_025.0, 4_512.8, 2),
]
FAPI_PRIVATE = ("/fapi/v3/positionRisk", "/fapi/v3/account", "/fapi/v1/symbolConfig", "/fapi/v1/leverageBracket")


def test_a_binance_portfolio_margin_account_reads_its_positions_through_papi() -> None:
    """Binance refuses a PM key on fapi (-2015): positions from GET /papi/v1/um/positionRisk (ccxt
    ``portfolioMargin``), each with the venue's liquidationPrice, leverage and mark as sent, ADL from
    /papi/v1/um/adlQuantile; the USDT wallet is /papi/v1/balance ``umWalletBalance``; brackets from
    /papi/v1/um/leverageBracket; the venue's accountStatus said. /sapi/v1/account/info asked once."""

    def setup(fake: FakeRestServer) -> None:
        fake.set_mode("portfolio")

    async def body(fake: FakeRestServer, client: RestClient) -> tuple[Any, ...]:
        positions, balances = await client.fetch_account_balances()
        mode = await client.fetch_account_mode()
        tiers = await client.fetch_tiers(sorted({p.symbol for p in positions.positions}))
        return positions, balances, mode, tiers, fake.paths()

    positions, balances, mode, tiers, paths = run("binance", body, setup=setup, inverse=False)
    got = [
        (p.symbol, p.side, p.size, p.entry_price, p.margin_mode, p.leverage, p.mark_price,
         p.exchange_liquidation_price, p.adl_lights)
        for p in positions.positions
    ]  # fmt: skip
    assert got == PAPI_POSITIONS
    assert [(b.currency, b.wallet_balance) for b in balances] == [("USDT", 12_000.0)]
    assert mode.mode == "portfolio" and mode.account_status_venue == "NORMAL"
    assert mode.margin_ratio_venue == pytest.approx(1 / 5167.92171923, rel=1e-12)
    assert {t.symbol for t in tiers} == {"BTC/USDT:USDT", "ETH/USDT:USDT"}
    assert not [p for p in paths if p in FAPI_PRIVATE or p == "/fapi/v1/multiAssetsMargin"]
    assert paths.count("/sapi/v1/account/info") == 1
    assert {"/papi/v1/um/positionRisk", "/papi/v1/balance", "/papi/v1/um/leverageBracket"} <= set(paths)


def test_a_binance_portfolio_margin_account_reads_its_coin_m_positions_through_papi() -> None:
    """With the inverse perpetuals read, COIN-M positions come from GET /papi/v1/cm/positionRisk
    (contracts x 100 USD, the venue's liquidationPrice) and their coin wallet from /papi/v1/balance
    ``cmWalletBalance``; dapi's private endpoints are never asked."""

    def setup(fake: FakeRestServer) -> None:
        fake.set_mode("portfolio")
        fake.add_inverse()
        fake.data["papi"]["cm_positionRisk"] = [
            {"symbol": "BTCUSD_PERP", "positionAmt": "3", "entryPrice": "60000.0", "markPrice": "61000.0",
             "unRealizedProfit": "0.00008196", "liquidationPrice": "41000.5", "leverage": "20",
             "positionSide": "BOTH", "updateTime": 1764064790000, "maxQty": "100",
             "notionalValue": "0.00491803", "breakEvenPrice": "60010.0"},
        ]  # fmt: skip

    async def body(fake: FakeRestServer, client: RestClient) -> tuple[Any, ...]:
        positions, balances = await client.fetch_account_balances()
        tiers = await client.fetch_tiers(sorted({p.symbol for p in positions.positions}))
        return positions, balances, tiers, fake.paths()

    positions, balances, tiers, paths = run("binance", body, setup=setup, inverse=True)
    # brackets from /papi/v1/um/leverageBracket and /papi/v1/cm/leverageBracket (coin notional)
    assert {t.symbol for t in tiers} == {"BTC/USDT:USDT", "ETH/USDT:USDT", "BTC/USD:BTC"}
    assert {"/papi/v1/um/leverageBracket", "/papi/v1/cm/leverageBracket"} <= set(paths)
    (coin,) = [p for p in positions.positions if p.inverse]
    got = (coin.symbol, coin.side, coin.contracts, coin.size, coin.settle)
    assert got == ("BTC/USD:BTC", "long", 3.0, 300.0, "BTC")
    assert coin.exchange_liquidation_price == 41_000.5 and coin.leverage == 20.0
    assert len(positions.positions) == 3
    assert [(b.currency, b.wallet_balance) for b in balances] == [("USDT", 12_000.0), ("BTC", 0.01)]
    assert "/papi/v1/cm/positionRisk" in paths
    assert not [p for p in paths if p.startswith("/dapi/") and p not in ("/dapi/v1/exchangeInfo", "/dapi/v1/time")]


@pytest.mark.parametrize(
    "status",
    ["NORMAL", "MARGIN_CALL", "SUPPLY_MARGIN", "REDUCE_ONLY", "ACTIVE_LIQUIDATION", "FORCE_LIQUIDATION", "BANKRUPTED"],
)
def test_the_binance_portfolio_margin_account_status_is_the_venues(status: str) -> None:
    def setup(fake: FakeRestServer) -> None:
        fake.set_mode("portfolio")
        fake.data["papi_account"] = {**fake.data["papi_account"], "accountStatus": status, "uniMMR": "1.08"}

    event, _ = _mode_with("binance", setup)
    assert event.account_status_venue == status
    assert event.margin_ratio_venue == pytest.approx(1 / 1.08, rel=1e-12)


def test_no_status_where_the_venue_gives_none() -> None:
    for venue in ("bybit", "okx", "gate", "deribit", "hyperliquid"):
        event, _ = _mode(venue, "portfolio")
        assert event.account_status_venue is None, venue


def _mode_with(venue: str, setup: Any) -> tuple[AccountMode, list[str]]:
    async def body(fake: FakeRestServer, client: RestClient) -> tuple[AccountMode, list[str]]:
        await client.fetch_account_balances()
        return await client.fetch_account_mode(), fake.paths()

    return run(venue, body, setup=setup)


def test_a_passing_failure_of_the_binance_pm_question_is_raised_and_asked_again() -> None:
    """A rate limit on /sapi/v1/account/info fails the read (the feed retries it): it must not read
    as "not portfolio margin", which would send a PM key to fapi (-2015, a lasting permission error)."""

    def setup(fake: FakeRestServer) -> None:
        fake.set_mode("portfolio")

    async def body(fake: FakeRestServer, client: RestClient) -> tuple[str, int, list[str]]:
        fake.fail_next("rate_limit")
        with pytest.raises(FeedError) as info:
            await client.fetch_account_balances()
        positions, _ = await client.fetch_account_balances()
        return info.value.kind, len(positions.positions), fake.paths()

    kind, n, paths = run("binance", body, setup=setup, inverse=False)
    assert kind == "rate_limit" and n == 2
    assert paths.count("/sapi/v1/account/info") == 2
    assert not [p for p in paths if p in FAPI_PRIVATE]


def test_a_binance_endpoint_without_sapi_reads_as_not_portfolio_margin() -> None:
    """A bare 404 on /sapi/v1/account/info (a testnet or a proxy without sapi): not portfolio
    margin, asked once per client; the fapi positions are read."""

    def setup(fake: FakeRestServer) -> None:
        fake.set("sapi_account_info_status", 404)

    async def body(fake: FakeRestServer, client: RestClient) -> tuple[int, AccountMode, list[str]]:
        for _ in range(2):
            positions, _ = await client.fetch_account_balances()
        return len(positions.positions), await client.fetch_account_mode(), fake.paths()

    n, mode, paths = run("binance", body, inverse=False)
    assert n == 4 and mode.mode == "single"
    assert paths.count("/sapi/v1/account/info") == 1 and "/fapi/v3/positionRisk" in paths


def test_a_binance_pm_account_without_usdt_has_an_empty_usdt_wallet() -> None:
    """/papi/v1/balance without a USDT row (collateral held in other assets): the USDⓈ-M wallet is
    0, not a failed read (the venue's ratio and positions still come)."""

    def setup(fake: FakeRestServer) -> None:
        fake.set_mode("portfolio")
        fake.data["papi"]["balance"] = [r for r in fake.data["papi"]["balance"] if r["asset"] != "USDT"]

    async def body(fake: FakeRestServer, client: RestClient) -> tuple[Any, ...]:
        positions, balances = await client.fetch_account_balances()
        return len(positions.positions), [(b.currency, b.wallet_balance) for b in balances]

    assert run("binance", body, setup=setup, inverse=False) == (2, [("USDT", 0.0)])
