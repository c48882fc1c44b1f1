"""binance: what its REST adapter reads from which field, on recorded and fake payloads."""

from __future__ import annotations

from typing import Any

import pytest

from liqwatch.feeds.rest import RestClient
from tests.fakes.rest_harness import (
    account,
    assert_within_a_tick,
    fetch_all,
    run,
    secrets,
    through_core,
)
from tests.fakes.rest_server import FakeRestServer


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
