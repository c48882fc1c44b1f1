"""bybit: its private position stream (UTA pushes without a bankruptcy price) against the fake server."""

from __future__ import annotations

import pytest

from tests.fakes.private_harness import Harness, run


def test_bybit_stream_without_a_bankruptcy_price_uses_the_accounts_taker_rate() -> None:
    """A UTA isolated push (bustPrice ""): the fee to close comes out of positionBalance at the
    account's taker rate, read once over REST like the rest of the position context."""

    async def body(h: Harness) -> None:
        h.fake.set("account_info", {**h.fake.data["account_info"], "marginMode": "ISOLATED_MARGIN"})
        await h.connected()
        await h.fake.push(h.fake.message("uta"))
        await h.until(lambda: bool(h.hints()))

    h = run("bybit", body)
    (data,) = h.hints()[0].positions
    assert (data.margin_mode, data.exchange_liquidation_price) == ("isolated", 57_300.0)
    assert data.isolated_margin == pytest.approx(1500.0, abs=1e-9)
    assert "/v5/account/fee-rate" in h.fake.paths()
