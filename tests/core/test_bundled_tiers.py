"""The bundled tier snapshots: present, dated, sourced, well-formed, and consistent."""

from __future__ import annotations

import itertools
import json
from importlib import resources

import pytest

from liqwatch.core import VENUES, get_venue
from liqwatch.core.tiers import derive_maint_amounts
from liqwatch.markets import bundle, find_market


@pytest.mark.parametrize("name", sorted(VENUES))
def test_every_venue_has_a_dated_sourced_snapshot(name: str) -> None:
    raw = json.loads(resources.files("liqwatch.data.tiers").joinpath(f"{name}.json").read_text())
    assert raw["venue"] == name
    assert raw["as_of"] and raw["source"]
    b = bundle(get_venue(name))
    settle = get_venue(name).settle
    assert f"BTC/{settle}:{settle}" in {m.symbol for m in b.markets.values()}
    assert len(b.markets) >= 1
    for market in b.markets.values():
        assert market.table.as_of, market.symbol
        tiers = market.table.tiers
        assert tiers[0].floor == 0
        for low, high in itertools.pairwise(tiers):
            assert low.cap == pytest.approx(high.floor), (market.symbol, low, high)
            assert high.mmr >= low.mmr
            assert high.max_leverage <= low.max_leverage
        for t in tiers:
            assert 0 < t.mmr < 1 and t.max_leverage >= 1


@pytest.mark.parametrize("name", ["binance", "hyperliquid"])
def test_btc_eth_sol_and_alts_bundled(name: str) -> None:
    venue = get_venue(name)
    symbols = {m.symbol.split("/")[0] for m in bundle(venue).markets.values()}
    assert {"BTC", "ETH", "SOL"} <= symbols
    assert len(symbols - {"BTC", "ETH", "SOL"}) >= 2


def test_maintenance_amounts_follow_the_recurrence() -> None:
    """Where a venue publishes maintenance amounts (Binance cum, Bybit/Gate deduction) they agree
    with cum_n = cum_(n-1) + floor_n x (MMR_n - MMR_(n-1)); where it does not, they are derived."""
    for name, venue in VENUES.items():
        if not venue.derives_maint_amount:
            for market in bundle(venue).markets.values():
                assert all(t.maint_amount == 0 for t in market.table.tiers), (name, market.symbol)
            continue
        for market in bundle(venue).markets.values():
            tiers = market.table.tiers
            if market.symbol == "ETH/USDT:USDT" and name == "bybit":
                continue  # 2023 flat-rate Bybit table: the whole position at the bracket's rate
            derived = derive_maint_amounts([t.floor for t in tiers], [t.mmr for t in tiers])
            for t, d in zip(tiers, derived, strict=True):
                assert t.maint_amount == pytest.approx(d, rel=1e-9, abs=1e-6), (name, market.symbol, t.index)


def test_native_ids_resolve() -> None:
    assert find_market(get_venue("binance"), "btcusdt")[0] == "BTC/USDT:USDT"
    assert find_market(get_venue("okx"), "BTC-USDT-SWAP")[0] == "BTC/USDT:USDT"
    assert find_market(get_venue("gate"), "BTC_USDT")[0] == "BTC/USDT:USDT"
    assert find_market(get_venue("hyperliquid"), "BTC")[0] == "BTC/USDC:USDC"
    symbol, market = find_market(get_venue("hyperliquid"), "xyz:XYZ100")
    assert symbol == "XYZ-XYZ100/USDC:USDC" and market is None
