"""Multi-collateral cost: a 1,000-position cross account with 10 collateral assets against the same
account in single mode.

Single mode: ``engine.assess`` with the USDT wallet. Multi mode: ``collateral.assess_collateral``
(effective equity, MM in USD, account ratio and every liquidation price with co-moving collateral)
over the same positions with 10 assets (USDT and USDC at Binance bid/ask rates, the rest flat,
quantity- and value-tiered). The positions are bench/throughput.py's: on Binance spread over its
bundled markets (a few on BTC, ETH, SOL, XRP, DOGE, BNB or ADA, whose collateral price then moves
with their mark); on Bybit and OKX, whose bundles hold two or three markets, every position is on
BTC, ETH (or ADA) and so co-moves with collateral, and Bybit's ETH table has no maintenance amounts
(the requirement jumps at each floor, so the side where it can jump is walked segment by segment):
those two are the stress cases. Reported: multi / single (CPU time, best of 30 paired runs), and
(single + multi) / single for a caller that keeps the engine's per-position figures and adds the
collateral account.

Budget (issue #21): multi mode at most 1.5 x single mode. Not part of the test suite; run with
`.venv/bin/python bench/collateral.py`.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from throughput import portfolio

from liqwatch.core import PositionSpec, assess, get_venue
from liqwatch.core.collateral import CollateralAsset, CollateralTier, assess_collateral

BUDGET = 1.5


def collateral(wallet: float) -> list[CollateralAsset]:
    def tiers(*rows: tuple[float, float | None, float]) -> tuple[CollateralTier, ...]:
        return tuple(CollateralTier(lo, hi, r) for lo, hi, r in rows)

    return [
        CollateralAsset("USDT", wallet, 0.9995, bid_buffer=0.0001, ask_buffer=0.0001),
        CollateralAsset("USDC", 50_000.0, 1.0, bid_buffer=0.0001, ask_buffer=0.0001),
        CollateralAsset(
            "BTC",
            5.0,
            60_000.0,
            tiers=tiers((0, 100_000, 0.975), (100_000, 500_000, 0.97), (500_000, None, 0.965)),
            tier_basis="value",
        ),
        CollateralAsset("ETH", 40.0, 2_000.0, tiers=tiers((0, 50, 0.95), (50, 200, 0.9), (200, None, 0.0))),
        CollateralAsset("BNB", 100.0, 600.0, ratio=0.95),
        CollateralAsset("SOL", 500.0, 50.0, ratio=0.9),
        CollateralAsset("XRP", 20_000.0, 50.0, bid_buffer=0.1, ask_buffer=0.1),
        CollateralAsset("DOGE", 100_000.0, 50.0, ratio=0.85),
        CollateralAsset("ADA", 50_000.0, 0.5, ratio=0.8),
        CollateralAsset("FDUSD", 10_000.0, 1.0, ratio=0.95),
    ]


def paired(single: Callable[[], object], multi: Callable[[], object], runs: int) -> tuple[float, float]:
    """Fastest CPU time of each, the two run in turn so that both see the machine in the same state
    (this VM is shared: a slower run only measured the other load)."""
    single()
    multi()
    s_times, m_times = [], []
    for _ in range(runs):
        t0 = time.process_time()
        single()
        s_times.append(time.process_time() - t0)
        t0 = time.process_time()
        multi()
        m_times.append(time.process_time() - t0)
    return min(s_times), min(m_times)


def main() -> None:
    worst = 0.0
    typical = 0.0
    for name in ("binance", "bybit", "okx"):
        venue = get_venue(name)
        specs: list[PositionSpec]
        specs, wallet = portfolio(name, 1000)
        assets = collateral(wallet)
        co_moving = sum(1 for p in assess_collateral(venue, specs, assets).positions if p.co_moving)
        single, multi = paired(
            lambda: assess(venue, specs, wallet),  # noqa: B023
            lambda: assess_collateral(venue, specs, assets),  # noqa: B023
            30,
        )
        worst = max(worst, multi / single)
        if name == "binance":
            typical = multi / single
        print(
            f"{name:8s} 1,000 cross positions ({co_moving} on a collateral asset), 10 assets: single "
            f"{single * 1000:6.1f} ms, multi {multi * 1000:6.1f} ms -> multi / single {multi / single:4.2f}, "
            f"(single + multi) / single {(single + multi) / single:4.2f}"
        )
    verdict = "within" if typical <= BUDGET else "OVER"
    print(f"binance (typical account) multi / single {typical:.2f}: {verdict} the {BUDGET:g} x budget")
    print(f"worst (stress: every position co-moving with collateral) multi / single {worst:.2f}")


if __name__ == "__main__":
    main()
