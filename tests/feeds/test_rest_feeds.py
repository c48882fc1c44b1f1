"""RestClient (real ccxt clients) against the fake venue REST servers in tests/fakes.

Everything runs on 127.0.0.1. ccxt's rate limiter is stubbed out (autouse fixture) so the suite
stays fast; one test checks that the client still asks ccxt to rate-limit.
"""

from __future__ import annotations

import ast
import asyncio
import copy
import re
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from liqwatch.config import AccountConfig, Secrets
from liqwatch.core.engine import assess
from liqwatch.core.model import PositionRisk
from liqwatch.core.venues import get_venue
from liqwatch.feeds.ccxt_client import FeedError, override_urls
from liqwatch.feeds.events import Balance, PositionData, Positions, Tiers
from liqwatch.feeds.rest import RestClient
from liqwatch.state import State, position_record
from tests.fakes.rest_server import DEFAULT_KEY, FakeRestServer

ROOT = Path(__file__).resolve().parent.parent
VENUES = ["binance", "bybit", "okx", "hyperliquid", "gate", "bitget"]
KEYED = [v for v in VENUES if v != "hyperliquid"]
SECRET = "s3cr3t-SIGNING-secret-value"
PASSPHRASE = "pass-PHRASE-9876"
WALLET = "0x" + "ab" * 20
USDT = {v: ("BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT") for v in KEYED}
SYMBOLS = {**USDT, "hyperliquid": ("BTC/USDC:USDC", "ETH/USDC:USDC", "SOL/USDC:USDC")}

T = TypeVar("T")


@pytest.fixture(autouse=True)
def _no_throttle(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from ccxt.async_support.base.exchange import Exchange

    async def throttle(self: Any, cost: Any = None) -> None:
        return None

    monkeypatch.setattr(Exchange, "throttle", throttle)
    monkeypatch.setattr(Exchange, "timeout_on_exit", 0)  # close() sleeps 250 ms for TLS; no TLS here
    yield


def account(venue: str, url: str | None, **extra: Any) -> AccountConfig:
    if venue == "hyperliquid":
        return AccountConfig(name="main", exchange=venue, wallet=WALLET, rest_url=url, **extra)
    return AccountConfig(
        name="main",
        exchange=venue,
        api_key_env="LW_KEY",
        api_secret_env="LW_SECRET",
        passphrase_env="LW_PASS",
        rest_url=url,
        **extra,
    )


def secrets(venue: str, key: str = DEFAULT_KEY) -> Secrets:
    if venue == "hyperliquid":
        return Secrets(None, None)
    return Secrets(key, SECRET, PASSPHRASE)


def run(
    venue: str,
    body: Callable[[FakeRestServer, RestClient], Awaitable[T]],
    *,
    key: str = DEFAULT_KEY,
    setup: Callable[[FakeRestServer], None] | None = None,
    open_client: bool = True,
) -> T:
    async def main() -> T:
        async with FakeRestServer(venue) as fake:
            if setup is not None:
                setup(fake)
            client = RestClient(account(venue, fake.url), secrets(venue, key))
            try:
                if open_client:
                    await client.open()
                return await body(fake, client)
            finally:
                await client.close()

    return asyncio.run(main())


def error_of(venue: str, call: Callable[[RestClient], Awaitable[Any]], kind: str, **kw: Any) -> FeedError:
    async def body(fake: FakeRestServer, client: RestClient) -> FeedError:
        fake.fail_next(kind)
        with pytest.raises(FeedError) as info:
            await call(client)
        await call(client)  # the failure was transient: the next call goes through
        return info.value

    return run(venue, body, **kw)


# --------------------------------------------------------------------------- positions

# (symbol, side, size, entry, margin_mode, position_side, isolated_margin, mark, liq, adl_lights, leverage)
Row = tuple[str, str, float, float, str, str, float | None, float, float | None, int | None, float | None]
EXPECTED: dict[str, list[Row]] = {
    "binance": [
        ("BTC/USDT:USDT", "long", 0.5, 60000, "cross", "long", None, 61000, 48213.52, 3, 10),
        ("BTC/USDT:USDT", "short", 0.2, 62000, "cross", "short", None, 61000, 48213.52, 1, 10),
        ("ETH/USDT:USDT", "long", 2, 3000, "isolated", "long", 600, 3025, 2712.4, 2, 10),
        ("SOL/USDT:USDT", "short", 10, 150, "isolated", "short", 150, 150.5, 164.2, 5, 10),
    ],
    "bybit": [
        ("BTC/USDT:USDT", "long", 0.5, 60000, "cross", "long", None, 61000, None, 2, 10),
        ("BTC/USDT:USDT", "short", 0.2, 62000, "cross", "short", None, 61000, None, 1, 10),
        ("ETH/USDT:USDT", "long", 2, 3000, "cross", "both", None, 3025, None, 3, 10),
        ("SOL/USDT:USDT", "short", 10, 150, "cross", "both", None, 150.5, None, 5, 10),
    ],
    "okx": [
        ("BTC/USDT:USDT", "long", 0.5, 60000, "cross", "long", None, 61000, None, 2, 10),
        ("BTC/USDT:USDT", "short", 0.2, 62000, "cross", "short", None, 61000, None, 1, 10),
        ("ETH/USDT:USDT", "long", 2, 3000, "isolated", "long", 600, 3025, 2712.4, 3, 10),
        ("SOL/USDT:USDT", "short", 10, 150, "isolated", "short", 150, 150.5, 164.2, 5, 10),
    ],
    "hyperliquid": [
        ("BTC/USDC:USDC", "long", 0.5, 60000, "cross", "both", None, 61000, None, None, 10),
        ("ETH/USDC:USDC", "long", 2, 3000, "isolated", "both", 600, 3025, 2712.4, None, 10),
        ("SOL/USDC:USDC", "short", 10, 150, "cross", "both", None, 150.5, 1021.9, None, 10),
    ],
    "gate": [
        ("BTC/USDT:USDT", "long", 0.5, 60000, "cross", "long", None, 61000, 48213.5, 2, 10),
        ("BTC/USDT:USDT", "short", 0.2, 62000, "cross", "short", None, 61000, 48213.5, 1, 10),
        ("ETH/USDT:USDT", "long", 2, 3000, "isolated", "long", 600, 3025, 2712.4, 3, 10),
        ("SOL/USDT:USDT", "short", 10, 150, "isolated", "short", 150, 150.5, 164.2, 5, 10),
    ],
    "bitget": [
        ("BTC/USDT:USDT", "long", 0.5, 60000, "cross", "long", None, 61000, None, None, 10),
        ("BTC/USDT:USDT", "short", 0.2, 62000, "cross", "short", None, 61000, None, None, 10),
        ("ETH/USDT:USDT", "long", 2, 3000, "isolated", "long", 600, 3025, 2712.4, None, 10),
        ("SOL/USDT:USDT", "short", 10, 150, "isolated", "short", 150, 150.5, 164.2, None, 10),
    ],
}
CONTRACT_SIZE = {"okx": (0.01, 0.1, 1.0), "gate": (0.0001, 0.01, 1.0)}


def as_row(p: PositionData) -> Row:
    return (
        p.symbol,
        p.side,
        round(p.size, 10),
        p.entry_price,
        p.margin_mode,
        p.position_side,
        None if p.isolated_margin is None else round(p.isolated_margin, 8),
        p.mark_price or 0.0,
        p.exchange_liquidation_price,
        p.adl_lights,
        p.leverage,
    )


@pytest.mark.parametrize("venue", VENUES)
def test_positions_snapshot(venue: str) -> None:
    async def body(fake: FakeRestServer, client: RestClient) -> Any:
        return await client.fetch_positions()

    snapshot = run(venue, body)
    assert snapshot.account == "main" and snapshot.exchange == venue and snapshot.complete
    assert [as_row(p) for p in snapshot.positions] == EXPECTED[venue]
    if venue in CONTRACT_SIZE:  # sizes came from contracts x contract size
        by_symbol = {p.symbol: p.contract_size for p in snapshot.positions}
        assert tuple(by_symbol[s] for s in SYMBOLS[venue]) == CONTRACT_SIZE[venue]


def test_bybit_isolated_account() -> None:
    """UTA 2.0 in ISOLATED_MARGIN: margin = size x |entry - bustPrice| (positionBalance less its
    fee to close), venue liq prices come through."""

    def setup(fake: FakeRestServer) -> None:
        fake.set_positions(fake.data["positions_isolated"])
        fake.set("account_info", {**fake.data["account_info"], "marginMode": "ISOLATED_MARGIN"})
        fake.set_balance(
            {
                **fake.data["wallet_balance"],
                "coin": [{**fake.data["wallet_balance"]["coin"][0], "walletBalance": "10750.45"}],
            }
        )

    async def body(fake: FakeRestServer, client: RestClient) -> Any:
        return await client.fetch_positions(), await client.fetch_balance()

    snapshot, balance = run("bybit", body, setup=setup)
    assert [as_row(p) for p in snapshot.positions] == [
        ("ETH/USDT:USDT", "long", 2, 3000, "isolated", "both", 600.0, 3025, 2715.0, 3, 10),
        ("SOL/USDT:USDT", "short", 10, 150, "isolated", "both", 150.0, 150.5, 163.5, 4, 10),
    ]
    # the wallet holds each positionBalance whole: cross collateral = 10750.45 - 600.36 - 150.09
    assert balance.wallet_balance == pytest.approx(10000.0)


LIQ_FIELD = {
    "binance": "liquidationPrice",
    "bybit": "liqPrice",
    "okx": "liqPx",
    "gate": "liq_price",
    "bitget": "liquidationPrice",
}


def _with_liq(venue: str, row: dict[str, Any], value: Any) -> dict[str, Any]:
    row = copy.deepcopy(row)
    if venue == "hyperliquid":
        row["position"]["liquidationPx"] = value
    else:
        row[LIQ_FIELD[venue]] = value
    return row


@pytest.mark.parametrize("venue", VENUES)
def test_missing_or_zero_venue_liquidation_price_is_none(venue: str) -> None:
    values: list[Any] = [None, "", "0", 0, "0.0", "-1"] if venue != "gate" else ["", "0", 0, "0.0"]
    if venue == "hyperliquid":
        values = [None, "0.0"]

    liq, margin = (2715.0, 600.0) if venue == "bybit" else (2712.4, 600.0)

    def setup(fake: FakeRestServer) -> None:
        if venue == "hyperliquid":
            rows = fake.data["clearinghouseState"]["assetPositions"]
        elif venue == "bybit":
            rows = fake.data["positions_isolated"]
            fake.set("account_info", {**fake.data["account_info"], "marginMode": "ISOLATED_MARGIN"})
        else:
            rows = fake.data[fake.venue.positions_fixture]
        isolated = next(r for r in rows if str(liq) in str(r) or f"{liq:.2f}" in str(r))  # the ETH isolated long
        fake.set_positions([_with_liq(venue, isolated, v) for v in values] + [isolated])

    async def body(fake: FakeRestServer, client: RestClient) -> Any:
        return await client.fetch_positions()

    positions = run(venue, body, setup=setup).positions
    assert [p.exchange_liquidation_price for p in positions] == [None] * len(values) + [liq]
    # ccxt derives a Bitget isolated liquidation price when the venue sends none; liqwatch must not.
    assert all(p.isolated_margin == pytest.approx(margin) for p in positions)


def test_binance_adl_quantile_mapping_and_fallback() -> None:
    def setup(fake: FakeRestServer) -> None:
        template = fake.data["positionRisk"][2]  # ETH isolated long
        rows = [{**template, "adl": q} for q in (0, 1, 2, 3, 4)]
        legacy = {k: v for k, v in template.items() if k != "adl"}  # no adl: ask /fapi/v1/adlQuantile
        fake.set_positions([*rows, legacy])

    async def body(fake: FakeRestServer, client: RestClient) -> Any:
        return await client.fetch_positions(), fake.paths()

    snapshot, paths = run("binance", body, setup=setup)
    assert [p.adl_lights for p in snapshot.positions] == [1, 2, 3, 4, 5, 2]  # ETH LONG quantile 1 -> 2 lights
    assert "/fapi/v1/adlQuantile" in paths


@pytest.mark.parametrize(
    ("venue", "field", "values", "lights"),
    [
        ("bybit", "adlRankIndicator", [0, 1, 5, 7], [0, 1, 5, None]),
        ("okx", "adl", ["", "1", "5"], [None, 1, 5]),
        ("gate", "adl_ranking", [1, 5, 6], [1, 5, None]),
    ],
)
def test_adl_indicators_as_is(venue: str, field: str, values: list[Any], lights: list[int | None]) -> None:
    def setup(fake: FakeRestServer) -> None:
        template = fake.data[fake.venue.positions_fixture][2]
        fake.set_positions([{**template, field: v} for v in values])

    async def body(fake: FakeRestServer, client: RestClient) -> Any:
        return await client.fetch_positions()

    assert [p.adl_lights for p in run(venue, body, setup=setup).positions] == lights


def test_bybit_reads_every_page_of_positions() -> None:
    def setup(fake: FakeRestServer) -> None:
        template = fake.data["positions"][2]
        fake.set_positions([{**template, "size": str(i + 1)} for i in range(450)])

    async def body(fake: FakeRestServer, client: RestClient) -> Any:
        return await client.fetch_positions(), [q for _, path, q in fake.requests if path == "/v5/position/list"]

    snapshot, queries = run("bybit", body, setup=setup)
    assert [p.size for p in snapshot.positions] == [float(i + 1) for i in range(450)]
    assert len(queries) == 3 and "cursor" in queries[1]


def test_empty_account_and_restart() -> None:
    async def body(fake: FakeRestServer, client: RestClient) -> Any:
        first = await client.fetch_positions()
        fake.set_positions([])
        await fake.restart()  # same port, state kept: the client reconnects transparently
        second = await client.fetch_positions()
        return first, second

    first, second = run("okx", body)
    assert len(first.positions) == 4
    assert second.positions == []


# --------------------------------------------------------------------------- the margin each venue's formula uses
#
# Recorded payloads (and, where no recorded one exists, the example laid out in the venue's
# format) through the fake server, RestClient, the state store and the risk core: the venue's own
# liquidation price must come out within one tick of ours.


def through_core(
    venue: str, snapshot: Positions, tiers: list[Tiers], wallet: float | None = None
) -> tuple[list[PositionRisk], list[PositionRisk]]:
    """(risks via the state store, risks of ``assess`` called directly on the state's specs)."""
    state = State(lambda: snapshot.ts)
    for table in tiers:
        state.apply(table)
    if wallet is not None:
        state.apply(Balance(account=snapshot.account, exchange=venue, ts=snapshot.ts, wallet_balance=wallet))
    state.apply(snapshot)
    views = state.snapshot().positions
    assert all(v.risk is not None for v in views), [v.note for v in views]
    specs = state.accounts[snapshot.account].last_specs
    direct = assess(get_venue(venue), specs, wallet or 0.0).positions
    return [v.risk for v in views if v.risk is not None], direct


def fetch_all(
    venue: str, setup: Callable[[FakeRestServer], None], wallet: bool = False
) -> tuple[Positions, list[Tiers], float | None]:
    async def body(fake: FakeRestServer, client: RestClient) -> tuple[Positions, list[Tiers], float | None]:
        snapshot = await client.fetch_positions()
        tiers = await client.fetch_tiers(sorted({p.symbol for p in snapshot.positions}))
        balance = (await client.fetch_balance()).wallet_balance if wallet else None
        return snapshot, tiers, balance

    return run(venue, body, setup=setup)


def assert_within_a_tick(risk: PositionRisk, data: PositionData, tick: float) -> None:
    assert data.exchange_liquidation_price is not None and risk.liquidation_price is not None
    assert abs(risk.liquidation_price - data.exchange_liquidation_price) <= tick * (1 + 1e-9), (
        risk.liquidation_price,
        data.exchange_liquidation_price,
    )


def _bybit_isolated(fake: FakeRestServer, rows: list[dict[str, Any]]) -> None:
    fake.set_positions(rows)
    fake.set("account_info", {**fake.data["account_info"], "marginMode": "ISOLATED_MARGIN"})


def test_bybit_margin_excludes_the_reserved_fee_to_close() -> None:
    """Issue #9.2: 0.5 BTC 20x long at 60,000 -> LP 57,300.0 and BP 57,000, as Bybit shows them.
    positionBalance (1,515.675) holds the fee to close; the margin is Q x (EP - bustPrice)."""
    snapshot, tiers, _ = fetch_all("bybit", lambda f: f.set_positions(f.data["positions_example"]["classic"]))
    (data,) = snapshot.positions
    assert data.margin_mode == "isolated"
    assert data.isolated_margin == pytest.approx(1500.0, abs=1e-9)
    (risk,), (direct,) = through_core("bybit", snapshot, tiers)
    for r in (risk, direct):
        assert r.liquidation_price == pytest.approx(57_300.0, abs=1e-6)
        assert r.bankruptcy_price == pytest.approx(57_000.0, abs=1e-6)
    assert_within_a_tick(risk, data, 0.1)


def test_bybit_recorded_classic_isolated_payload() -> None:
    """The real ETHUSDT 0.15 @ 3,851.73 3x position: positionBalance 192.79835 = IM 192.5865 + fee
    to close 0.21185; bustPrice 2,567.82 gives the margin, and the venue's 2,587.08 within a tick."""
    snapshot, tiers, _ = fetch_all("bybit", lambda f: f.set_positions(f.data["positions_recorded"]["rows"]))
    (data,) = snapshot.positions
    assert (data.symbol, data.margin_mode, data.leverage) == ("ETH/USDT:USDT", "isolated", 3.0)
    assert data.isolated_margin == pytest.approx(0.15 * (3851.73 - 2567.82), abs=1e-9)  # 192.5865
    assert data.isolated_margin == pytest.approx(192.5865, abs=1e-9)
    assert data.tick_size == 0.01
    (risk,), _ = through_core("bybit", snapshot, tiers)
    assert risk.liquidation_price == pytest.approx(2587.0787, abs=1e-4)
    assert risk.bankruptcy_price == pytest.approx(2567.82, abs=1e-9)
    assert_within_a_tick(risk, data, 0.01)


def test_bybit_margin_without_a_bankruptcy_price_removes_the_fee_at_the_accounts_taker_rate() -> None:
    """UTA accounts send bustPrice "": the fee to close is solved out of positionBalance with the
    account's own taker rate (GET /v5/account/fee-rate, 0.04% here)."""

    def setup(fake: FakeRestServer) -> None:
        _bybit_isolated(fake, fake.data["positions_example"]["uta"])

    async def body(fake: FakeRestServer, client: RestClient) -> tuple[Positions, list[Tiers], list[dict[str, str]]]:
        snapshot = await client.fetch_positions()
        tiers = await client.fetch_tiers(["BTC/USDT:USDT"])
        return snapshot, tiers, [q for _, path, q in fake.requests if path == "/v5/account/fee-rate"]

    snapshot, tiers, queries = run("bybit", body, setup=setup)
    (data,) = snapshot.positions
    assert queries and all(q.get("category") == "linear" for q in queries)
    assert data.isolated_margin == pytest.approx(1500.0, abs=1e-9)
    assert "0.04%" in data.margin_note and "account" in data.margin_note
    (risk,), _ = through_core("bybit", snapshot, tiers)
    assert risk.liquidation_price == pytest.approx(57_300.0, abs=1e-6)
    assert risk.bankruptcy_price == pytest.approx(57_000.0, abs=1e-6)


def test_bybit_margin_falls_back_to_the_base_taker_rate_when_the_fee_rate_is_unavailable() -> None:
    def setup(fake: FakeRestServer) -> None:
        _bybit_isolated(fake, fake.data["positions_example"]["uta"])
        fake.set("fee_rate", [])  # no row for the symbol

    snapshot, _, _ = fetch_all("bybit", setup)
    (data,) = snapshot.positions
    # positionBalance 1,511.4 less a fee to close at Bybit's base 0.055%: not exact, and it says so
    expected = (1511.4 - 0.5 * 60000 * 0.00055) / (1 - 0.00055)
    assert data.isolated_margin == pytest.approx(expected, abs=1e-9)
    assert "0.055%" in data.margin_note and "assumed" in data.margin_note


def test_bybit_bankruptcy_price_pinned_to_the_price_limit_is_not_used() -> None:
    """A 1x long's bankruptcy price is 0: Bybit prints the market's minimum price (0.10) there.
    That is no margin figure; the fee to close comes out of positionBalance instead."""

    def setup(fake: FakeRestServer) -> None:
        (row,) = fake.data["positions_example"]["classic"]
        fake.set_positions([{**row, "leverage": "1", "bustPrice": "0.10", "liqPrice": "", "positionBalance": "30000"}])

    snapshot, _, _ = fetch_all("bybit", setup)
    (data,) = snapshot.positions
    # 30,000 = M + 0.5 x BP x 0.04% with BP = 60,000 - M / 0.5 gives M = 30,000: BP 0, no fee
    assert data.isolated_margin == pytest.approx(30000.0, abs=1e-9)
    assert "taker rate" in data.margin_note


def test_bybit_cross_wallet_excludes_the_whole_isolated_position_balance() -> None:
    """The wallet holds each isolated positionBalance in full (fee reserve included): cross
    collateral is walletBalance less all of it, while the formula's margin excludes the fee."""

    def setup(fake: FakeRestServer) -> None:
        _bybit_isolated(fake, fake.data["positions_example"]["classic"])
        coin = {**fake.data["wallet_balance"]["coin"][0], "walletBalance": "11515.675"}
        fake.set_balance({**fake.data["wallet_balance"], "coin": [coin]})

    snapshot, _, wallet = fetch_all("bybit", setup, wallet=True)
    assert snapshot.positions[0].isolated_margin == pytest.approx(1500.0)
    assert wallet == pytest.approx(10000.0)


def test_binance_recorded_isolated_payload() -> None:
    """A real positionRisk row: isolatedWallet 3.4362 (isolatedMargin 4.10449107 adds the PnL);
    the venue's 65,827.10843373 to 1e-8."""
    snapshot, tiers, _ = fetch_all("binance", lambda f: f.set_positions(f.data["positionRisk_recorded"]["rows"]))
    (data,) = snapshot.positions
    assert (data.margin_mode, data.leverage, data.adl_lights, data.tick_size) == ("isolated", 20.0, 3, 0.1)
    assert data.isolated_margin == pytest.approx(3.4362, abs=1e-12)
    (risk,), _ = through_core("binance", snapshot, tiers)
    assert risk.liquidation_price == pytest.approx(65_827.10843373, abs=1e-8)
    assert_within_a_tick(risk, data, 0.1)


OKX_FEE = "/api/v5/account/trade-fee"
BITGET_FEE = "/api/v2/common/trade-rate"
GATE_FEE = "/api/v4/futures/usdt/fee"


def _okx_fee_row(fake: FakeRestServer, **fields: Any) -> None:
    (row,) = fake.data["trade_fee"]["data"]
    fake.set("trade_fee", {"data": [{**row, **fields}]})


def test_okx_recorded_isolated_payload() -> None:
    """A real ETH-USDT-SWAP row: margin 30.11 = 0.1 ETH x 3,011 / 10, no fee reserve; with tier 1
    (0.4%) and the account's 0.05% liquidation fee (GET /api/v5/account/trade-fee ``takerU``, and
    what the row paid to open) the formula gives 2,722.1497, OKX prints one tick more."""
    snapshot, tiers, _ = fetch_all("okx", lambda f: f.set_positions(f.data["positions_recorded"]["rows"]))
    (data,) = snapshot.positions
    assert (data.symbol, data.size, data.margin_mode, data.tick_size) == ("ETH/USDT:USDT", 0.1, "isolated", 0.01)
    assert data.isolated_margin == pytest.approx(30.11, abs=1e-12)
    assert (data.fee_rate, data.fee_note) == (0.0005, "")
    (risk,), _ = through_core("okx", snapshot, tiers)
    assert risk.spec.fee_rate == 0.0005
    assert risk.liquidation_price == pytest.approx((3011 - 301.1) / (1 - 0.0045), abs=1e-9)
    assert_within_a_tick(risk, data, 0.01)


def test_okx_taker_rate_is_the_usdt_margined_one_not_the_crypto_margined_one() -> None:
    """``taker`` is the crypto-margined contracts' rate (ccxt's fetch_trading_fee reads it first);
    a USDT swap's is ``takerU``. At 0.07% the recorded row would be 55 ticks off, at 0.05% one."""

    def setup(fake: FakeRestServer) -> None:
        fake.set_positions(fake.data["positions_recorded"]["rows"])
        _okx_fee_row(fake, taker="-0.0007", feeGroup=[])

    snapshot, tiers, _ = fetch_all("okx", setup)
    (data,) = snapshot.positions
    assert data.fee_rate == 0.0005
    (risk,), _ = through_core("okx", snapshot, tiers)
    assert_within_a_tick(risk, data, 0.01)


def test_okx_taker_rate_of_the_markets_fee_group() -> None:
    """Current OKX: the rate is the ``feeGroup`` entry of the instrument's ``groupId``; the
    account's 0.03% there, not the 0.05% default, goes into the liquidation price."""

    def setup(fake: FakeRestServer) -> None:
        fake.set_positions(fake.data["positions_recorded"]["rows"])
        fake.set("instruments", [{**row, "groupId": "5"} for row in fake.data["instruments"]])
        (row,) = fake.data["trade_fee"]["data"]
        _okx_fee_row(fake, feeGroup=[*row["feeGroup"], {"groupId": "5", "maker": "-0.0001", "taker": "-0.0003"}])

    snapshot, tiers, _ = fetch_all("okx", setup)
    (data,) = snapshot.positions
    assert data.fee_rate == pytest.approx(0.0003)
    (risk,), _ = through_core("okx", snapshot, tiers)
    assert risk.liquidation_price == pytest.approx((3011 - 301.1) / (1 - 0.004 - 0.0003), abs=1e-9)


def test_bitget_recorded_isolated_payload_at_the_accounts_taker_rate() -> None:
    """A real (demo) isolated long: marginSize 161.56128 = Q x EP / 10 is Bitget's positionMargin.
    Its 91,279.8513 is exact at the account's 0.04% taker rate (GET /api/v2/common/trade-rate); at
    the default 0.06% it was 183 ticks off."""

    def setup(fake: FakeRestServer) -> None:
        fake.set_positions(fake.data["positions_recorded"]["rows"])

    async def body(fake: FakeRestServer, client: RestClient) -> tuple[Positions, list[Tiers], list[dict[str, str]]]:
        snapshot = await client.fetch_positions()
        tiers = await client.fetch_tiers(["BTC/USDT:USDT"])
        return snapshot, tiers, [q for _, path, q in fake.requests if path == BITGET_FEE]

    snapshot, tiers, queries = run("bitget", body, setup=setup)
    assert queries == [{"symbol": "BTCUSDT", "businessType": "mix"}]
    (data,) = snapshot.positions
    assert (data.margin_mode, data.leverage, data.tick_size) == ("isolated", 10.0, 0.1)
    assert data.isolated_margin == pytest.approx(161.56128, abs=1e-12)
    assert (data.fee_rate, data.fee_note) == (0.0004, "")
    (risk,), (direct,) = through_core("bitget", snapshot, tiers)
    for r in (risk, direct):
        assert r.spec.fee_rate == 0.0004
        assert r.liquidation_price == pytest.approx(91_279.851345922058, abs=1e-6)
    assert_within_a_tick(risk, data, 0.1)
    state = State(lambda: snapshot.ts)
    for table in tiers:
        state.apply(table)
    state.apply(snapshot)
    assert state.mismatches(state.snapshot()) == []


@pytest.mark.parametrize("status", [500, 404])
def test_bitget_falls_back_to_the_default_rate_and_says_so(status: int) -> None:
    """The fee endpoint failing (500) or missing (404) costs the exact price, never the snapshot:
    the default 0.06% stands in, the position says so and the mismatch record names the rate."""

    def setup(fake: FakeRestServer) -> None:
        fake.set_positions(fake.data["positions_recorded"]["rows"])
        fake.set("trade_rate_status", status)

    snapshot, tiers, _ = fetch_all("bitget", setup)
    (data,) = snapshot.positions
    assert data.fee_rate is None
    assert f"HTTP {status}" in data.fee_note and "default 0.06% is assumed" in data.fee_note
    state = State(lambda: snapshot.ts)
    for table in tiers:
        state.apply(table)
    state.apply(snapshot)
    snap = state.snapshot()
    (view,) = snap.positions
    assert view.risk is not None and view.risk.spec.fee_rate == 0.0006
    assert view.risk.liquidation_price == pytest.approx(91_298.19168, abs=1e-4)  # 183 ticks off
    assert "default 0.06% is assumed" in position_record(view)["note"]
    (event,) = state.mismatches(snap)
    assert event["inputs"]["fee_rate"] == 0.0006 and event["inputs"]["fee_rate_source"] == "default"
    assert f"HTTP {status}" in event["inputs"]["fee_note"]
    assert event["implied"]["fee_rate"] == pytest.approx(0.0004, abs=1e-9)
    assert "0.04% gives the venue's price" in event["detail"]


@pytest.mark.parametrize("status", [500, 404])
def test_okx_falls_back_to_the_default_rate_and_says_so(status: int) -> None:
    def setup(fake: FakeRestServer) -> None:
        fake.set_positions(fake.data["positions_recorded"]["rows"])
        fake.set("trade_fee_status", status)

    snapshot, tiers, _ = fetch_all("okx", setup)
    (data,) = snapshot.positions
    assert data.fee_rate is None
    assert f"HTTP {status}" in data.fee_note and "default 0.05% is assumed" in data.fee_note
    (risk,), _ = through_core("okx", snapshot, tiers)
    assert risk.spec.fee_rate == 0.0005  # this account's own rate is the default: still one tick
    assert_within_a_tick(risk, data, 0.01)


def test_a_market_the_fee_answer_leaves_out_falls_back() -> None:
    def setup(fake: FakeRestServer) -> None:
        fake.set_positions(fake.data["positions_recorded"]["rows"])
        _okx_fee_row(fake, takerU="", feeGroup=[])

    snapshot, _, _ = fetch_all("okx", setup)
    (data,) = snapshot.positions
    assert data.fee_rate is None and "the venue gave no rate for this market" in data.fee_note


@pytest.mark.parametrize(("venue", "path", "per_symbol"), [("okx", OKX_FEE, False), ("bitget", BITGET_FEE, True)])
def test_the_taker_rate_is_read_once_not_per_reconcile(
    venue: str, path: str, per_symbol: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fee tiers change rarely: one lookup (per symbol where the venue answers per symbol) when the
    client first sees positions, none on the reconciles after it; a symbol that appears later is
    looked up alone; after FEE_REFRESH seconds everything is read again."""
    from liqwatch.feeds.venue_rest import FEE_REFRESH
    from liqwatch.venues import get_home

    now = [0.0]
    monkeypatch.setattr(get_home(venue).rest, "clock", lambda: now[0])

    async def body(fake: FakeRestServer, client: RestClient) -> tuple[int, int, int, list[float | None]]:
        rows = fake.data[fake.venue.positions_fixture]
        fake.set_positions(rows[:2])  # BTC long and short
        for _ in range(3):
            await client.fetch_positions()
        first = fake.paths().count(path)
        fake.set_positions(rows)  # ETH and SOL appear
        for _ in range(3):
            snapshot = await client.fetch_positions()
        second = fake.paths().count(path)
        now[0] += FEE_REFRESH - 1
        await client.fetch_positions()
        assert fake.paths().count(path) == second
        now[0] += 1
        await client.fetch_positions()
        return first, second, fake.paths().count(path), [p.fee_rate for p in snapshot.positions]

    first, second, third, rates = run(venue, body)
    assert rates == [0.0005 if venue == "okx" else 0.0004] * 4
    assert first == 1
    assert second == (3 if per_symbol else 2)  # only the new symbols
    assert third == second + (3 if per_symbol else 1)  # refreshed: BTC, ETH and SOL


def test_a_failed_lookup_is_retried_after_a_while_not_per_reconcile(monkeypatch: pytest.MonkeyPatch) -> None:
    from liqwatch.feeds.venue_rest import FEE_RETRY
    from liqwatch.venues import get_home

    now = [0.0]
    monkeypatch.setattr(get_home("bitget").rest, "clock", lambda: now[0])

    async def body(fake: FakeRestServer, client: RestClient) -> tuple[int, list[float | None], list[float | None]]:
        fake.set_positions(fake.data["positions_recorded"]["rows"])
        fake.set("trade_rate_status", 500)
        for _ in range(3):
            failed = await client.fetch_positions()
        calls = fake.paths().count(BITGET_FEE)
        fake.data.pop("trade_rate_status")
        now[0] += FEE_RETRY
        recovered = await client.fetch_positions()
        return calls, [p.fee_rate for p in failed.positions], [p.fee_rate for p in recovered.positions]

    calls, failed, recovered = run("bitget", body)
    assert calls == 1
    assert failed == [None] and recovered == [0.0004]


def test_gate_prints_at_its_default_rate_so_the_accounts_is_not_read() -> None:
    """Gate's printed price (and the fee reserve in ``margin``) use its 0.075% default whatever the
    tier: no fee lookup, no note, the default in the formula."""

    async def body(fake: FakeRestServer, client: RestClient) -> tuple[Positions, list[str]]:
        return await client.fetch_positions(), fake.paths()

    snapshot, paths = run("gate", body)
    assert GATE_FEE not in paths
    assert all(p.fee_rate is None and p.fee_note == "" for p in snapshot.positions)
    state = State(lambda: snapshot.ts)
    state.apply(snapshot)
    state.snapshot()
    assert {spec.fee_rate for spec in state.accounts["main"].last_specs} == {0.00075}


def test_gate_taker_rate_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ready for a recorded Gate position that shows the account's rate: GET /futures/usdt/fee."""
    from liqwatch.venues import get_home

    monkeypatch.setattr(type(get_home("gate").rest), "account_taker_rate", True)

    async def body(fake: FakeRestServer, client: RestClient) -> tuple[Positions, list[str]]:
        return await client.fetch_positions(), fake.paths()

    snapshot, paths = run("gate", body)
    assert paths.count(GATE_FEE) == 1
    assert [p.fee_rate for p in snapshot.positions] == [0.0005] * 4


def test_bybit_binance_and_hyperliquid_positions_carry_no_fee_rate() -> None:
    for venue in ("bybit", "binance", "hyperliquid"):

        async def body(fake: FakeRestServer, client: RestClient) -> Positions:
            return await client.fetch_positions()

        assert all(p.fee_rate is None and p.fee_note == "" for p in run(venue, body).positions)


def test_hyperliquid_recorded_isolated_payload() -> None:
    """The docs' clearinghouseState: rawUsd + szi x entryPx = 4.981226 (marginUsed 4.967826 holds
    the PnL); the venue's 2,866.26936529 within 2e-5."""

    def setup(fake: FakeRestServer) -> None:
        fake.set("clearinghouseState", fake.data["clearinghouseState_doc"]["state"])
        universe = [
            {**a, "maxLeverage": 50, "marginTableId": 50} if a["name"] == "ETH" else a
            for a in fake.data["meta"]["universe"]
        ]
        fake.set("meta", {**fake.data["meta"], "universe": universe})  # the payload's maxLeverage 50

    snapshot, tiers, wallet = fetch_all("hyperliquid", setup, wallet=True)
    (data,) = snapshot.positions
    assert (data.margin_mode, data.leverage, data.mark_price) == ("isolated", 20.0, pytest.approx(2985.9))
    assert data.isolated_margin == pytest.approx(4.981226, abs=1e-9)
    assert wallet == pytest.approx(13104.514502)  # crossMarginSummary: no cross position, no PnL
    (risk,), _ = through_core("hyperliquid", snapshot, tiers)
    assert risk.liquidation_price == pytest.approx(2866.26936529, abs=2e-5)
    assert data.tick_size is not None
    assert_within_a_tick(risk, data, data.tick_size)


def test_gate_margin_mode_and_leverage_from_the_current_position_schema() -> None:
    """Gate's docs example: leverage "0" (once: cross) with pos_margin_mode "isolated", lever "30".
    The position is isolated and its ``margin`` is the margin; reading leverage "0" as cross would
    hang it on the cross wallet instead."""

    def setup(fake: FakeRestServer) -> None:
        (row,) = fake.data["positions_doc"]["rows"]
        # the same field the other way round: a cross position whose old leverage field is set
        crossed = {**row, "contract": "ETH_USDT", "leverage": "10", "pos_margin_mode": "cross", "lever": "10"}
        fake.set_positions([row, crossed])

    snapshot, _, _ = fetch_all("gate", setup)
    data, crossed = snapshot.positions
    assert (data.side, data.margin_mode, data.leverage) == ("short", "isolated", 30.0)
    assert data.size == pytest.approx(0.944)  # 9,440 contracts x 0.0001
    assert data.isolated_margin == pytest.approx(4.431548146258)
    assert data.tick_size == 0.1
    assert (crossed.margin_mode, crossed.isolated_margin, crossed.leverage) == ("cross", None, 10.0)


# --------------------------------------------------------------------------- balance, tiers, marks


@pytest.mark.parametrize("venue", VENUES)
def test_cross_wallet_balance(venue: str) -> None:
    """Every fixture holds 10,000 of cross wallet next to 750 of isolated margin and open PnL."""

    async def body(fake: FakeRestServer, client: RestClient) -> Any:
        return await client.fetch_balance()

    balance = run(venue, body)
    assert balance.wallet_balance == pytest.approx(10000.0)
    assert balance.currency == ("USDC" if venue == "hyperliquid" else "USDT")
    assert (balance.account, balance.exchange) == ("main", venue)


POSITION_PATHS = {"bybit": "/v5/position/list", "gate": "/api/v4/futures/usdt/positions"}


@pytest.mark.parametrize("venue", VENUES)
def test_account_read_fetches_positions_once(venue: str) -> None:
    """Positions and the balance from one read: the balance takes the positions already fetched
    (Bybit and Gate used to fetch them again), with the same figures as two separate reads."""

    async def body(fake: FakeRestServer, client: RestClient) -> Any:
        before = len(fake.paths())
        positions, balance = await client.fetch_account()
        return positions, balance, fake.paths()[before:], await client.fetch_positions(), await client.fetch_balance()

    positions, balance, paths, alone, alone_balance = run(venue, body)
    assert balance.wallet_balance == pytest.approx(10000.0)
    assert balance.wallet_balance == alone_balance.wallet_balance
    assert [as_row(p) for p in positions.positions] == [as_row(p) for p in alone.positions]
    if venue in POSITION_PATHS:
        assert paths.count(POSITION_PATHS[venue]) == 1


# first two rows per venue: (min, max, mmr, max_leverage, maint_amount)
TIERS: dict[str, list[tuple[float, float | None, float, float, float | None]]] = {
    "binance": [(0, 50000, 0.004, 125, 0.0), (50000, 600000, 0.005, 100, 50.0)],
    "bybit": [(0, 2000000, 0.005, 100, 0.0), (2000000, 2600000, 0.0056, 90, 1200.0)],
    "okx": [(0, 10.0, 0.004, 100, None), (10.0, 50.0, 0.005, 66.66, None)],  # base units: contracts x 0.01
    "hyperliquid": [(0, 150000000, 0.0125, 40, None), (150000000, None, 0.025, 20, None)],
    "gate": [(0, 500000, 0.003, 200, 0.0), (500000, 1000000, 0.0035, 150.01, 250.0)],
    "bitget": [(0, 200000, 0.004, 150, None), (200000, 1000000, 0.005, 100, None)],
}


@pytest.mark.parametrize("venue", VENUES)
def test_tiers(venue: str) -> None:
    btc, eth, _ = SYMBOLS[venue]

    async def body(fake: FakeRestServer, client: RestClient) -> Any:
        return await client.fetch_tiers([btc, eth, "NOPE/USDT:USDT"])

    tiers = run(venue, body)
    assert [t.symbol for t in tiers] == [btc, eth]
    assert all(t.source == "exchange" for t in tiers)
    assert tiers[0].basis == ("quantity" if venue == "okx" else "notional")
    rows = [(r.min_notional, r.max_notional, r.mmr, r.max_leverage, r.maint_amount) for r in tiers[0].tiers[:2]]
    assert rows == [pytest.approx(r) if None not in r else r for r in TIERS[venue]]
    for table in tiers:  # contiguous brackets
        assert all(a.max_notional == b.min_notional for a, b in zip(table.tiers, table.tiers[1:], strict=False))


def test_tiers_fall_back_to_bundled_when_unavailable() -> None:
    async def without_keys() -> tuple[list[Any], list[str]]:
        async with FakeRestServer("binance") as fake:
            client = RestClient(account("binance", fake.url), Secrets(None, None))
            try:
                return await client.fetch_tiers(["BTC/USDT:USDT"]), fake.paths()
            finally:
                await client.close()

    tiers, paths = asyncio.run(without_keys())
    assert tiers == []
    assert "/fapi/v1/leverageBracket" not in paths  # private: never asked for without keys

    async def failing(fake: FakeRestServer, client: RestClient) -> Any:
        fake.fail_next("server_error")
        return await client.fetch_tiers(["BTC/USDT:USDT"])

    assert run("bybit", failing) == []


@pytest.mark.parametrize("venue", VENUES)
def test_marks_are_mark_prices(venue: str) -> None:
    """The fixtures' last, bid, ask and mid prices all differ from the mark."""

    async def body(fake: FakeRestServer, client: RestClient) -> Any:
        return await client.fetch_marks([*SYMBOLS[venue], "NOPE/USDT:USDT"])

    marks = run(venue, body)
    assert [(m.symbol, m.price) for m in marks] == list(zip(SYMBOLS[venue], (61000.0, 3025.0, 150.5), strict=True))
    assert all(m.ts > 0 and m.account == "main" for m in marks)


# --------------------------------------------------------------------------- errors


ERROR_KINDS = [
    ("rate_limit", "rate_limit"),
    ("http_429", "rate_limit"),
    ("server_error", "maintenance"),
    ("maintenance", "maintenance"),
]


@pytest.mark.parametrize("venue", VENUES)
@pytest.mark.parametrize(("failure", "kind"), ERROR_KINDS)
def test_error_mapping(venue: str, failure: str, kind: str) -> None:
    err = error_of(venue, lambda c: c.fetch_positions(), failure)
    assert err.kind == kind
    assert str(err).startswith(f"{venue} account 'main': ")
    assert "\n" not in str(err)


@pytest.mark.parametrize("venue", KEYED)
def test_auth_error(venue: str) -> None:
    err = error_of(venue, lambda c: c.fetch_balance(), "auth")
    assert err.kind == "auth"
    assert str(err) == f"{venue} account 'main': authentication failed: check the API key, secret and IP whitelist"


@pytest.mark.parametrize("venue", KEYED)
def test_wrong_api_key_is_an_auth_error(venue: str) -> None:
    async def body(fake: FakeRestServer, client: RestClient) -> FeedError:
        with pytest.raises(FeedError) as info:
            await client.fetch_positions()
        return info.value

    err = run(venue, body, key="not-the-key-at-all")
    assert err.kind == "auth"


@pytest.mark.parametrize("venue", ["bybit", "okx", "gate", "bitget"])
def test_permission_error(venue: str) -> None:
    err = error_of(venue, lambda c: c.fetch_positions(), "permission")
    assert err.kind == "permission"
    assert str(err).startswith(f"{venue} account 'main': permission denied")


def test_network_error_when_the_venue_is_unreachable() -> None:
    async def body(fake: FakeRestServer, client: RestClient) -> Any:
        await fake.stop()
        with pytest.raises(FeedError) as info:
            await client.fetch_marks(["BTC/USDT:USDT"])
        await fake.start()  # same port again
        return info.value, await client.fetch_marks(["BTC/USDT:USDT"])

    err, marks = run("binance", body)
    assert err.kind == "network"
    assert marks[0].price == 61000.0


def test_open_maps_errors_and_can_be_retried() -> None:
    async def body(fake: FakeRestServer, client: RestClient) -> Any:
        fake.fail_next("maintenance")
        with pytest.raises(FeedError) as info:
            await client.open()
        await client.open()
        return info.value, await client.fetch_balance()

    err, balance = run("okx", body, open_client=False)
    assert err.kind == "maintenance" and "loading markets" in str(err)
    assert balance.wallet_balance == pytest.approx(10000.0)


@pytest.mark.parametrize("venue", KEYED)
def test_secrets_never_reach_messages(venue: str) -> None:
    """Even a venue that echoes the credentials back cannot leak them into a FeedError."""
    leak = f"upstream failed for key {DEFAULT_KEY} secret {SECRET} passphrase {PASSPHRASE}"

    async def body(fake: FakeRestServer, client: RestClient) -> list[str]:
        errors = fake.data["errors"]
        fake.set(
            "errors",
            {
                **errors,
                "server_error": {"status": 500, "text": leak},
                "rate_limit": {"status": 429, "text": leak},
                "auth": {"status": 401, "text": leak},
                "maintenance": {"status": 503, "text": leak},
                "permission": {"status": 403, "text": leak},
            },
        )
        messages = [repr(client), str(client.__dict__)]
        for kind in ("server_error", "rate_limit", "auth", "maintenance", "permission"):
            for call in (client.fetch_positions, client.fetch_balance):
                fake.fail_next(kind)
                try:
                    await call()
                except FeedError as exc:
                    messages.append(str(exc))
                    messages.append(repr(exc))
                else:  # pragma: no cover - every call above fails
                    raise AssertionError(kind)
        return messages

    messages = run(venue, body)
    assert len(messages) == 22
    for text in messages:
        for secret in (DEFAULT_KEY, SECRET, PASSPHRASE):
            assert secret not in text
    assert any("***" in m for m in messages)  # the echo was there, and redacted


def test_binance_revoked_key_mid_session_is_auth() -> None:
    """ccxt turns -2015 into DDoSProtection once a session has authenticated; it is still auth."""
    import ccxt.async_support as ccxt_async

    client = RestClient(account("binance", "http://127.0.0.1:9"), secrets("binance"))
    body = '{"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."}'
    err = client._errors.translate(ccxt_async.DDoSProtection("binanceusdm " + body), "fetching positions")
    assert err.kind == "auth"
    assert client._errors.translate(ccxt_async.DDoSProtection("binanceusdm 418 banned"), "x").kind == "rate_limit"
    assert client._errors.translate(ccxt_async.ExchangeError("binanceusdm bad"), "x").kind == "exchange"
    assert client._errors.translate(ValueError("garbage"), "x").kind == "exchange"


def test_concurrent_open_makes_one_client() -> None:
    async def body(fake: FakeRestServer, client: RestClient) -> Any:
        await asyncio.gather(client.open(), client.open(), client.fetch_marks(["BTC/USDT:USDT"]))
        return fake.paths().count("/fapi/v1/exchangeInfo")

    assert run("binance", body, open_client=False) == 1


def test_feed_error_kinds() -> None:
    with pytest.raises(ValueError, match="unknown FeedError kind"):
        FeedError("oops", "x")
    err = FeedError("config", "binance account 'a': line one\nline two")
    assert str(err) == "binance account 'a': line one line two" and err.kind == "config"


# --------------------------------------------------------------------------- construction


def test_rest_url_override() -> None:
    urls = {
        "fapiPublic": "https://fapi.binance.com/fapi/v1",
        "public": "https://api.{hostname}",
        "rest": "https://{hostname}",
        "nested": {"futures": "https://api.gateio.ws/api/v4"},
        "ws": {"public": "wss://stream.example.com/ws"},
        "other": 5,
    }
    assert override_urls(urls, "http://127.0.0.1:9/") == {
        "fapiPublic": "http://127.0.0.1:9/fapi/v1",
        "public": "http://127.0.0.1:9",
        "rest": "http://127.0.0.1:9",
        "nested": {"futures": "http://127.0.0.1:9/api/v4"},
        "ws": {"public": "wss://stream.example.com/ws"},
        "other": 5,
    }


@pytest.mark.parametrize("venue", VENUES)
def test_client_options_and_read_only_traffic(venue: str) -> None:
    async def body(fake: FakeRestServer, client: RestClient) -> Any:
        await client.fetch_positions()
        await client.fetch_balance()
        await client.fetch_tiers(list(SYMBOLS[venue]))
        await client.fetch_marks(list(SYMBOLS[venue]))
        ex = client._ex
        return ex.enableRateLimit, dict(ex.options), fake.requests

    rate_limited, options, requests = run(venue, body)
    assert rate_limited is True
    # only reads: GETs, plus Hyperliquid's read API (POST /info with a read type)
    for method, path, query in requests:
        assert method == "GET" or (venue == "hyperliquid" and path == "/info"), (method, path)
        if method == "POST":
            assert query["type"] in {"meta", "metaAndAssetCtxs", "clearinghouseState"}
    paths = {path for _, path, _ in requests}
    assert not any("sapi" in p or "asset" in p or "currencies" in p for p in paths), paths
    if venue == "binance":
        assert options["fetchCurrencies"] is False
    if venue == "hyperliquid":
        assert options["fetchMarkets"]["types"] == ["swap"]


def test_testnet_uses_the_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    from ccxt.async_support.base.exchange import Exchange

    async def no_markets(self: Any, reload: bool = False, params: Any = None) -> dict[str, Any]:
        return {}

    monkeypatch.setattr(Exchange, "load_markets", no_markets)

    async def main() -> str:
        client = RestClient(account("binance", None, testnet=True), secrets("binance"))
        await client.open()
        try:
            return str(client._ex.urls["api"]["fapiPublic"])
        finally:
            await client.close()

    assert "testnet" in asyncio.run(main())


def test_rest_module_does_not_import_ccxt() -> None:
    code = "import sys, liqwatch.feeds.rest, liqwatch.venues; print('ccxt' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "False"


# --------------------------------------------------------------------------- read-only by construction

FORBIDDEN = {
    "create_order",
    "create_orders",
    "create_market_order",
    "create_limit_order",
    "create_stop_order",
    "create_reduce_only_order",
    "create_trailing_amount_order",
    "create_twap_order",
    "edit_order",
    "edit_orders",
    "cancel_order",
    "cancel_orders",
    "cancel_all_orders",
    "cancel_all_orders_after",
    "cancel_orders_for_symbols",
    "close_position",
    "close_all_positions",
    "transfer",
    "transfer_in",
    "transfer_out",
    "withdraw",
    "set_leverage",
    "set_margin_mode",
    "set_position_mode",
    "set_margin",
    "add_margin",
    "reduce_margin",
    "borrow_margin",
    "repay_margin",
    "create_deposit_address",
}
# ccxt's implicit API: any write endpoint (xxxPostYyy / xxxPutYyy / xxxDeleteYyy), bar Hyperliquid's
# read-only POST /info.
IMPLICIT_WRITE = re.compile(r"^[a-z][A-Za-z0-9]*(Post|Put|Delete|Patch)[A-Z0-9]")
ALLOWED_WRITE_NAMES = {"publicPostInfo"}


def _liqwatch_aliases(tree: ast.AST) -> set[str]:
    """Local names bound to liqwatch's own modules (``from liqwatch.core import whatif as wi``): the
    what-if maths has functions such as ``add_margin`` that only compute, so calls on them are fine."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "liqwatch":
                    names.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and (node.level > 0 or (node.module or "").startswith("liqwatch")):
            names.update(alias.asname or alias.name for alias in node.names)
    return names


def _is_write(name: str) -> bool:
    return name in FORBIDDEN or (IMPLICIT_WRITE.match(name) is not None and name not in ALLOWED_WRITE_NAMES)


def _write_calls(tree: ast.AST) -> list[str]:
    """Attribute calls (``exchange.create_order(...)``) and ``getattr(obj, "create_order")`` that
    reach an order, transfer or account-setting method, or a write endpoint of ccxt's implicit API."""
    own = _liqwatch_aliases(tree)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute):
            receiver = func.value.id if isinstance(func.value, ast.Name) else None
            if _is_write(func.attr) and receiver not in own:
                found.append(f"{func.attr} (line {node.lineno})")
        elif isinstance(func, ast.Name) and func.id == "getattr" and len(node.args) >= 2:
            arg = node.args[1]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and _is_write(arg.value):
                found.append(f"getattr {arg.value!r} (line {node.lineno})")
    return found


def test_no_module_calls_an_order_transfer_or_leverage_method() -> None:
    offenders = []
    for path in sorted((ROOT / "liqwatch").rglob("*.py")):
        for hit in _write_calls(ast.parse(path.read_text(), filename=str(path))):
            offenders.append(f"{path.relative_to(ROOT)}: {hit}")
    assert offenders == []


def test_the_read_only_scan_catches_write_calls() -> None:
    sample = (
        "from liqwatch.core import whatif as wi\n"
        "async def f(ex, client):\n"
        "    await ex.create_order('BTC/USDT:USDT', 'market', 'buy', 1)\n"
        "    await ex.privatePostV5PositionSetLeverage({})\n"
        "    await client._ex.set_leverage(5)\n"
        "    await getattr(ex, 'withdraw')('USDT', 1, 'addr')\n"
        "    await ex.publicPostInfo({'type': 'meta'})\n"  # Hyperliquid's read API
        "    wi.add_margin(None, [], 0.0, 0, 10.0)\n"  # liqwatch's own what-if maths
    )
    hits = _write_calls(ast.parse(sample))
    assert [h.split(" (")[0] for h in hits] == [
        "create_order",
        "privatePostV5PositionSetLeverage",
        "set_leverage",
        "getattr 'withdraw'",
    ], hits
