"""hyperliquid: what its REST adapter reads from which field, on recorded and fake payloads."""

from __future__ import annotations

import pytest

from tests.fakes.rest_harness import (
    assert_within_a_tick,
    fetch_all,
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
