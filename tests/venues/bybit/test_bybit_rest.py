"""bybit: what its REST adapter reads from which field, on recorded and fake payloads."""

from __future__ import annotations

from typing import Any

import pytest

from liqwatch.feeds.events import Positions, Tiers
from liqwatch.feeds.rest import RestClient
from tests.fakes.rest_harness import (
    _bybit_isolated,
    as_row,
    assert_within_a_tick,
    fetch_all,
    run,
    through_core,
)
from tests.fakes.rest_server import FakeRestServer


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


def test_bybit_reads_every_page_of_positions() -> None:
    def setup(fake: FakeRestServer) -> None:
        template = fake.data["positions"][2]
        fake.set_positions([{**template, "size": str(i + 1)} for i in range(450)])

    async def body(fake: FakeRestServer, client: RestClient) -> Any:
        snapshot = await client.fetch_positions()
        linear = [q for _, path, q in fake.requests if path == "/v5/position/list" and q.get("category") == "linear"]
        return snapshot, linear  # (the inverse category, read by default, is one more request)

    snapshot, queries = run("bybit", body, setup=setup)
    assert [p.size for p in snapshot.positions] == [float(i + 1) for i in range(450)]
    assert len(queries) == 3 and "cursor" in queries[1]


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
