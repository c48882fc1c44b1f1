"""Issue #21, safety: every venue's account mode detected at connect and the venue's own account
ratio read beside ours, through real ccxt clients against the fake venue servers. The payloads are
the venues' published shapes (tests/fixtures/<venue>/modes.json cites each doc page)."""

from __future__ import annotations

import contextlib

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
    ("hyperliquid", "single", "single", "hyperliquid userAbstraction default", None),
    ("hyperliquid", "dex", "single", "hyperliquid userAbstraction dexAbstraction", None),
    ("hyperliquid", "multi_assets", "multi_assets", "hyperliquid userAbstraction unifiedAccount", None),
    ("hyperliquid", "portfolio", "portfolio", "hyperliquid userAbstraction portfolioMargin", None),
    ("deribit", "single", "single", "deribit margin_model segregated_sm", 19233.15 / 200000.0),
    ("deribit", "multi_assets", "multi_assets", "deribit margin_model cross_sm", 21500.0 / 430000.0),
    ("deribit", "portfolio", "portfolio", "deribit margin_model cross_pm", 12900.0 / 430000.0),
]


def _mode(venue: str, fixture_mode: str) -> tuple[AccountMode, list[str]]:
    def setup(fake: FakeRestServer) -> None:
        fake.set_mode(fixture_mode)

    async def body(fake: FakeRestServer, client: RestClient) -> tuple[AccountMode, list[str]]:
        if (venue, fixture_mode) == ("binance", "portfolio"):  # its key is refused on fapi (-2015)
            with pytest.raises(FeedError):
                await client.fetch_account_balances()
        else:
            await client.fetch_account_balances()
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


def test_a_binance_portfolio_margin_account_says_its_mode_when_fapi_refuses_its_positions() -> None:
    """The live feed's first cycle fails on /fapi/v3/positionRisk (-2015) for a portfolio-margin
    account: it still says the mode (from /sapi/v1/account/info) and papi's uniMMR before the error."""
    import asyncio

    from liqwatch.config import AccountConfig
    from liqwatch.feeds.events import Event, Status
    from liqwatch.feeds.live import VenueFeed

    async def body() -> list[Event]:
        async with FakeRestServer("binance") as rest:
            rest.set_mode("portfolio")
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
