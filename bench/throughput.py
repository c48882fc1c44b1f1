"""Core throughput: positions assessed per second for a 10,000-position cross portfolio.

Budget (issue #2): >= 100,000 positions/s on this machine. Not part of the test suite; run with
`make bench` or `.venv/bin/python bench/throughput.py [--positions N] [--repeat R]`.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from dataclasses import replace

from liqwatch.core import PositionSpec, assess, get_venue
from liqwatch.markets import bundle

BUDGET = 100_000.0


def portfolio(
    venue_name: str, n: int, seed: int = 7, hedged: bool = False, directional: bool = False
) -> tuple[list[PositionSpec], float]:
    """``n`` cross positions on distinct symbols, or (``hedged``) n/2 symbols each with a long and
    a short hedge leg that share one cross liquidation price; ``directional``: 80% longs, so that a
    fall liquidates the account."""
    venue = get_venue(venue_name)
    # linear markets (coin-margined ones are priced in 1/P: bench/throughput.py measures linear)
    markets = [
        m for m in bundle(venue).markets.values() if m.symbol.split("/")[1].split(":")[0] == m.symbol.split(":")[1]
    ]
    rng = random.Random(seed)
    specs = []
    for i in range(n):
        m = markets[i % len(markets)]
        entry = rng.uniform(0.5, 2.0) * (60000 if "BTC" in m.symbol else 2000 if "ETH" in m.symbol else 50)
        # within the table at any mark of +-10% (a bundled table ends: past it calc refuses)
        room = m.table.limit / 1.5 if m.table.basis == "notional" else m.table.limit * entry / 1.5
        notional = rng.uniform(100, min(400_000, room))
        size = notional / entry
        table = m.table if m.table.complete else replace(m.table, complete=True)
        cap = m.table.lookup(size * entry if m.table.basis == "notional" else size).max_leverage
        specs.append(
            PositionSpec(
                symbol=f"{m.symbol}#{i // 2 if hedged else i}",
                side=("long" if i % 2 == 0 else "short")
                if hedged
                else ("long" if rng.random() < 0.8 else "short")
                if directional
                else rng.choice(("long", "short")),
                position_side=("long" if i % 2 == 0 else "short") if hedged else "both",
                size=size,
                entry_price=entry,
                mark_price=entry * rng.uniform(0.9, 1.1),
                # as complete: a big cross account puts a short's liquidation price far above the
                # mark, past the end of a truncated bundled table, where calc rightly refuses;
                # this bench measures the maths, not that refusal
                tiers=table,
                margin_mode="cross",
                leverage=min(cap, rng.uniform(1, 20)),
                fee_rate=venue.default_fee_rate,
            )
        )
    return specs, 0.2 * sum(s.size * s.entry_price for s in specs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--positions", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    worst = float("inf")
    for name in ("binance", "bybit", "okx", "bitget", "gate", "hyperliquid"):
        specs, wallet = portfolio(name, args.positions)
        venue = get_venue(name)
        assess(venue, specs, wallet)  # warm-up
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            assess(venue, specs, wallet)
            times.append(time.perf_counter() - t0)
        med = statistics.median(times)
        rate = args.positions / med
        worst = min(worst, rate)
        print(f"{name:12s} {args.positions} cross positions: median {med * 1000:7.1f} ms  -> {rate:10,.0f} positions/s")
    verdict = "within" if worst >= BUDGET else "OVER"
    print(f"slowest venue: {worst:,.0f} positions/s ({verdict} the {BUDGET:,.0f}/s budget)")
    specs, wallet = portfolio("binance", args.positions, hedged=True)
    venue = get_venue("binance")
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        assess(venue, specs, wallet)
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    print(
        f"binance hedge mode, {args.positions // 2} symbols x 2 legs: median {med * 1000:7.1f} ms  -> "
        f"{args.positions / med:10,.0f} positions/s (information; legs share one price, solved by segment scan)"
    )


if __name__ == "__main__":
    main()
