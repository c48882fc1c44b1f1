"""gate: what its REST adapter reads from which field, on recorded and fake payloads."""

from __future__ import annotations

import pytest

from liqwatch.feeds.events import Positions
from liqwatch.feeds.rest import RestClient
from liqwatch.state import State
from tests.fakes.rest_harness import (
    GATE_FEE,
    fetch_all,
    run,
)
from tests.fakes.rest_server import FakeRestServer


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
