"""okx: what its REST adapter reads from which field, on recorded and fake payloads."""

from __future__ import annotations

import pytest

from tests.fakes.rest_harness import (
    _okx_fee_row,
    assert_within_a_tick,
    fetch_all,
    through_core,
)
from tests.fakes.rest_server import FakeRestServer


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
