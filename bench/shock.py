"""What-if throughput: a 100-step price shock over a 1,000-position cross account.

Budget (issue #3): under 1 s on this machine. Not part of the test suite (`make bench`).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from throughput import portfolio

from liqwatch.core import get_venue
from liqwatch.core.whatif import shock

BUDGET = 1.0


def main() -> None:
    worst = 0.0
    for name in ("binance", "bybit", "okx", "hyperliquid"):
        specs, wallet = portfolio(name, 1000, directional=True)
        venue = get_venue(name)
        moves = [-0.5 + i * 0.01 for i in range(100)]  # -50% ... +49%
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            result = shock(venue, specs, wallet, moves)
            times.append(time.perf_counter() - t0)
        med = statistics.median(times)
        worst = max(worst, med)
        print(
            f"{name:12s} 100 steps x 1,000 cross positions: median {med * 1000:6.0f} ms "
            f"({len(result.order)} liquidation events solved exactly)"
        )
    verdict = "within" if worst < BUDGET else "OVER"
    print(f"slowest: {worst:.3f} s ({verdict} the {BUDGET:.0f} s budget)")


if __name__ == "__main__":
    main()
