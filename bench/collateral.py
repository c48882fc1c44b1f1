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
`.venv/bin/python bench/collateral.py` (``--e2e-only``: only the end-to-end part below).

End to end (``liqwatch calc --portfolio FILE --json``, issue #21 point 3): bench/portfolio.py's
1,000-position file (one 5-bracket tiers list per position; five positions on BTC, ETH, SOL, XRP
and DOGE, whose collateral then moves with their mark) in single mode (``wallet_balance``) against
the same positions in ``multi_assets`` mode with 10 collateral rows (BTC priced by its position's
mark): wall and CPU time of the whole command, each the best of paired runs.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from portfolio import TIERS, best_pair
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


COLLATERAL_ROWS: list[dict[str, Any]] = [
    {"asset": "USDT", "amount": 1e7, "price": 0.9995, "bid_buffer": 0.0001, "ask_buffer": 0.0001},
    {"asset": "USDC", "amount": 50_000, "price": 1, "bid_buffer": 0.0001, "ask_buffer": 0.0001},
    {"asset": "BTC", "amount": 5, "tier_basis": "value",  # no price: the BTC position's mark
     "tiers": [{"min": 0, "max": 100_000, "ratio": 0.975}, {"min": 100_000, "max": 500_000, "ratio": 0.97},
               {"min": 500_000, "max": None, "ratio": 0.965}]},
    {"asset": "ETH", "amount": 40, "price": 2_000,
     "tiers": [{"min": 0, "max": 50, "ratio": 0.95}, {"min": 50, "max": 200, "ratio": 0.9},
               {"min": 200, "max": None, "ratio": 0}]},
    {"asset": "BNB", "amount": 100, "price": 600, "ratio": 0.95},
    {"asset": "SOL", "amount": 500, "price": 150, "ratio": 0.9},
    {"asset": "XRP", "amount": 20_000, "price": 0.6, "bid_buffer": 0.1, "ask_buffer": 0.1},
    {"asset": "DOGE", "amount": 100_000, "price": 0.15, "ratio": 0.85},
    {"asset": "ADA", "amount": 50_000, "price": 0.5, "ratio": 0.8},
    {"asset": "FDUSD", "amount": 10_000, "price": 1, "ratio": 0.95},
]  # fmt: skip


def e2e_documents(n: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """(single, multi_assets) portfolio documents of the same ``n`` cross positions."""
    bases = {"BTC": 60_000.0, "ETH": 2_000.0, "SOL": 150.0, "XRP": 0.6, "DOGE": 0.15}
    positions = []
    for i in range(n):
        base = list(bases)[i] if i < len(bases) else None
        price = bases[base] if base else 100.0 + i % 13
        positions.append(
            {
                "symbol": f"{base}/USDT:USDT" if base else f"C{i:05d}/USDT:USDT",
                "side": "long" if i % 2 else "short",
                "size": (1 + i % 7) * (100.0 / price if base else 1.0),
                "entry_price": price,
                "mark_price": price * (1.0 + (i % 11 - 5) / 100.0),
                "margin_mode": "cross",
                "tiers": TIERS,
            }
        )
    single = {"exchange": "binance", "wallet_balance": 1e7, "positions": positions}
    multi = {
        "exchange": "binance",
        "account_mode": "multi_assets",
        "collateral": COLLATERAL_ROWS,
        "positions": positions,
    }
    return single, multi


def end_to_end(n: int, runs: int) -> float:
    """CPU ratio multi / single of ``liqwatch calc --portfolio FILE --json`` (printed with wall)."""
    script = str(Path(sys.executable).with_name("liqwatch"))
    single, multi = e2e_documents(n)
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for name, doc in (("single", single), ("multi", multi)):
            path = Path(tmp) / f"{name}.json"
            path.write_text(json.dumps(doc))
            paths.append(path)
        (s_wall, s_cpu), (m_wall, m_cpu) = best_pair(
            [script, "calc", "--portfolio", str(paths[0]), "--json", "--offline"],
            [script, "calc", "--portfolio", str(paths[1]), "--json", "--offline"],
            runs,
        )
    verdict = "within" if m_cpu / s_cpu <= BUDGET else "OVER"
    print(
        f"calc --portfolio --json, {n:,} cross positions (5 on a collateral asset): single {s_wall * 1000:.1f} ms "
        f"wall / {s_cpu * 1000:.0f} ms CPU; multi_assets with 10 assets {m_wall * 1000:.1f} ms wall / "
        f"{m_cpu * 1000:.0f} ms CPU -> multi / single: wall {m_wall / s_wall:.2f}, CPU {m_cpu / s_cpu:.2f} "
        f"({verdict} the {BUDGET:g} x budget)"
    )
    return m_cpu / s_cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--positions", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--e2e-only", action="store_true")
    args = ap.parse_args()
    end_to_end(args.positions, args.runs)
    if args.e2e_only:
        return
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
