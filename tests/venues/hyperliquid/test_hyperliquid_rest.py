"""hyperliquid: what its REST adapter reads from which field, on recorded and fake payloads."""

from __future__ import annotations

from typing import Any

import pytest

from liqwatch.feeds.events import Balance, Positions
from liqwatch.feeds.rest import RestClient
from tests.fakes.rest_harness import (
    as_row,
    assert_within_a_tick,
    fetch_all,
    run,
    through_core,
)
from tests.fakes.rest_server import FakeRestServer


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


def _state_reads(fake: FakeRestServer) -> int:
    return sum(1 for _, _, seen in fake.requests if seen.get("type") == "clearinghouseState")


@pytest.mark.parametrize(("state", "wallet"), [("clearinghouseState", 10000.0), ("docs", 13104.514502)])
def test_hyperliquid_reads_clearinghouse_state_once_per_reconcile(state: str, wallet: float) -> None:
    """A reconcile (``fetch_account``) takes the positions and the balance from one
    clearinghouseState read, with the figures of the separate reads."""

    def setup(fake: FakeRestServer) -> None:
        if state == "docs":
            fake.set("clearinghouseState", fake.data["clearinghouseState_doc"]["state"])

    async def body(fake: FakeRestServer, client: RestClient) -> Any:
        reads: list[int] = []
        accounts: list[tuple[Positions, Balance]] = []
        for _ in range(3):
            before = _state_reads(fake)
            accounts.append(await client.fetch_account())
            reads.append(_state_reads(fake) - before)
        before = _state_reads(fake)
        alone = await client.fetch_positions()
        alone_balance = await client.fetch_balance()
        return reads, accounts, alone, alone_balance, _state_reads(fake) - before

    reads, accounts, alone, alone_balance, alone_reads = run("hyperliquid", body, setup=setup)
    assert reads == [1, 1, 1]
    assert alone_reads == 2  # fetch_positions and fetch_balance alone: one read each
    for positions, balance in accounts:
        assert balance.wallet_balance == pytest.approx(wallet)
        assert balance.wallet_balance == alone_balance.wallet_balance
        assert balance.currency == alone_balance.currency == "USDC"
        assert [as_row(p) for p in positions.positions] == [as_row(p) for p in alone.positions]
        assert positions.positions == alone.positions
