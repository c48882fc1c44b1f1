"""Every venue's REST adapter against its fake server and recorded payloads (parametrised by venue)."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest

from liqwatch.feeds.events import Positions
from liqwatch.feeds.rest import RestClient
from tests.fakes.rest_harness import (
    CONTRACT_SIZE,
    EXPECTED,
    SYMBOLS,
    VENUES,
    as_row,
    run,
)
from tests.fakes.rest_server import FakeRestServer


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


def test_bybit_binance_and_hyperliquid_positions_carry_no_fee_rate() -> None:
    for venue in ("bybit", "binance", "hyperliquid"):

        async def body(fake: FakeRestServer, client: RestClient) -> Positions:
            return await client.fetch_positions()

        assert all(p.fee_rate is None and p.fee_note == "" for p in run(venue, body).positions)


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


@pytest.mark.parametrize("venue", VENUES)
def test_marks_are_mark_prices(venue: str) -> None:
    """The fixtures' last, bid, ask and mid prices all differ from the mark."""

    async def body(fake: FakeRestServer, client: RestClient) -> Any:
        return await client.fetch_marks([*SYMBOLS[venue], "NOPE/USDT:USDT"])

    marks = run(venue, body)
    assert [(m.symbol, m.price) for m in marks] == list(zip(SYMBOLS[venue], (61000.0, 3025.0, 150.5), strict=True))
    assert all(m.ts > 0 and m.account == "main" for m in marks)


@pytest.mark.parametrize("venue", VENUES)
def test_live_tiers_are_written_to_the_tier_cache(venue: str) -> None:
    """What live mode reads lands in the same cache `liqwatch tiers update` writes (merged, with
    the fetch time and source per table); the feed does not wait for the write."""
    from liqwatch import tiercache

    btc, eth, _ = SYMBOLS[venue]
    tiercache.write_cache(
        venue, {"OLD/USDT:USDT": {"tiers": [{"min": 0, "max": None, "mmr": 0.01, "max_leverage": 50}]}}
    )

    async def body(fake: FakeRestServer, client: RestClient) -> Any:
        tiers = await client.fetch_tiers([btc, eth])
        await asyncio.gather(*client.cache_writes)
        return tiers, fake.url

    tiers, url = run(venue, body)
    cached = tiercache.read_cache(venue)
    assert cached is not None
    assert {btc, eth, "OLD/USDT:USDT"} <= set(cached["symbols"])  # merged: the old table stays
    entry = cached["symbols"][btc]
    assert entry["source_url"].startswith(url) and entry["fetched_at"].endswith("Z")
    first = entry["tiers"][0]
    live = tiers[0].tiers[0]
    scale = entry["contract_size"] if cached["basis"] == "contracts" else 1.0
    assert first["mmr"] == live.mmr and first["max"] * scale == pytest.approx(live.max_notional)
