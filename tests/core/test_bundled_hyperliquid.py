"""The bundled Hyperliquid snapshot: every listed asset of the meta dumps, MMR = 1 / (2 x max leverage)."""

from __future__ import annotations

import pytest

from liqwatch.core import PositionSpec, assess, get_venue
from liqwatch.markets import bundle

HL = get_venue("hyperliquid")


def test_every_bundled_entry_has_mmr_half_the_initial_margin_at_max_leverage() -> None:
    markets = bundle(HL).markets
    assert len(markets) == 189  # the listed (not isDelisted) assets of dump 65722137523
    for symbol in markets:
        table = markets[symbol].table
        assert table.tiers, symbol
        for tier in table.tiers:
            assert tier.mmr == pytest.approx(1 / (2 * tier.max_leverage), rel=1e-12), symbol


def test_delisted_assets_are_not_bundled() -> None:
    markets = bundle(HL).markets
    for symbol in ("MATIC/USDC:USDC", "FTM/USDC:USDC", "MKR/USDC:USDC"):  # isDelisted in the dump
        assert symbol not in markets


@pytest.mark.parametrize(
    ("symbol", "max_leverage", "entry", "second_tier_floor"),
    [
        ("HYPE/USDC:USDC", 10.0, 40.0, 20_000_000.0),  # marginTableId 52: 10x, 5x from 20M
        ("PAXG/USDC:USDC", 10.0, 4000.0, 3_000_000.0),  # marginTableId 51: 10x, 5x from 3M
        ("ATOM/USDC:USDC", 5.0, 2.4, None),  # marginTableId 5: one tier at 5x
        ("KPEPE/USDC:USDC", 10.0, 0.005, 20_000_000.0),  # kPEPE (keys are upper-case), marginTableId 52
    ],
)
def test_newly_bundled_assets_price(
    symbol: str, max_leverage: float, entry: float, second_tier_floor: float | None
) -> None:
    market = bundle(HL).markets[symbol]
    table = market.table
    assert table.tiers[0].max_leverage == max_leverage
    assert "undated" in table.source
    if second_tier_floor is None:
        assert len(table.tiers) == 1
    else:
        assert table.tiers[1].floor == second_tier_floor and table.tiers[1].max_leverage == max_leverage / 2
    size = 1000 / entry  # 1,000 USDC: tier 1
    lev = max_leverage / 2
    margin = size * entry / lev
    spec = PositionSpec(
        symbol=symbol,
        side="long",
        size=size,
        entry_price=entry,
        mark_price=entry,
        tiers=table,
        leverage=lev,
        isolated_margin=margin,
    )
    r = assess(HL, [spec]).positions[0]
    mmr = 1 / (2 * max_leverage)
    # isolated long: margin + size x (LP - entry) = mmr x size x LP
    expected = (size * entry - margin) / (size * (1 - mmr))
    assert r.liquidation_price == pytest.approx(expected, rel=1e-12)
