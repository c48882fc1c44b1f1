"""Shared harness of the REST adapter tests (tests/feeds, tests/venues): accounts, secrets, a fake
server per venue, the expected rows and the path through the risk core."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest

from liqwatch.config import AccountConfig, Secrets
from liqwatch.core.engine import assess
from liqwatch.core.model import PositionRisk
from liqwatch.core.venues import get_venue
from liqwatch.feeds.ccxt_client import FeedError
from liqwatch.feeds.events import Balance, PositionData, Positions, Tiers
from liqwatch.feeds.rest import RestClient
from liqwatch.state import State
from tests.fakes.rest_server import DEFAULT_KEY, FakeRestServer

VENUES = ["binance", "bybit", "okx", "hyperliquid", "gate", "bitget"]
KEYED = [v for v in VENUES if v != "hyperliquid"]
SECRET = "s3cr3t-SIGNING-secret-value"
PASSPHRASE = "pass-PHRASE-9876"
WALLET = "0x" + "ab" * 20
USDT = {v: ("BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT") for v in KEYED}
SYMBOLS = {**USDT, "hyperliquid": ("BTC/USDC:USDC", "ETH/USDC:USDC", "SOL/USDC:USDC")}

T = TypeVar("T")


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
    inverse: bool | None = None,
) -> T:
    async def main() -> T:
        async with FakeRestServer(venue) as fake:
            if setup is not None:
                setup(fake)
            client = RestClient(account(venue, fake.url, inverse=inverse), secrets(venue, key))
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
    venue: str, setup: Callable[[FakeRestServer], None], wallet: bool = False, inverse: bool | None = None
) -> tuple[Positions, list[Tiers], float | None]:
    async def body(fake: FakeRestServer, client: RestClient) -> tuple[Positions, list[Tiers], float | None]:
        snapshot = await client.fetch_positions()
        tiers = await client.fetch_tiers(sorted({p.symbol for p in snapshot.positions}))
        balance = (await client.fetch_balance()).wallet_balance if wallet else None
        return snapshot, tiers, balance

    return run(venue, body, setup=setup, inverse=inverse)


def assert_within_a_tick(risk: PositionRisk, data: PositionData, tick: float) -> None:
    assert data.exchange_liquidation_price is not None and risk.liquidation_price is not None
    assert abs(risk.liquidation_price - data.exchange_liquidation_price) <= tick * (1 + 1e-9), (
        risk.liquidation_price,
        data.exchange_liquidation_price,
    )


def _bybit_isolated(fake: FakeRestServer, rows: list[dict[str, Any]]) -> None:
    fake.set_positions(rows)
    fake.set("account_info", {**fake.data["account_info"], "marginMode": "ISOLATED_MARGIN"})


OKX_FEE = "/api/v5/account/trade-fee"
BITGET_FEE = "/api/v2/common/trade-rate"
GATE_FEE = "/api/v4/futures/usdt/fee"


def _okx_fee_row(fake: FakeRestServer, **fields: Any) -> None:
    (row,) = fake.data["trade_fee"]["data"]
    fake.set("trade_fee", {"data": [{**row, **fields}]})


# --------------------------------------------------------------------------- errors


ERROR_KINDS = [
    ("rate_limit", "rate_limit"),
    ("http_429", "rate_limit"),
    ("server_error", "maintenance"),
    ("maintenance", "maintenance"),
]
