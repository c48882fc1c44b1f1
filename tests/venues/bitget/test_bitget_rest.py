"""bitget: what its REST adapter reads from which field, on recorded and fake payloads."""

from __future__ import annotations

import pytest

from liqwatch.feeds.events import Positions, Tiers
from liqwatch.feeds.rest import RestClient
from liqwatch.state import State, position_record
from tests.fakes.rest_harness import (
    BITGET_FEE,
    assert_within_a_tick,
    fetch_all,
    run,
    through_core,
)
from tests.fakes.rest_server import FakeRestServer


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
