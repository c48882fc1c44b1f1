"""CPU and memory of `liqwatch watch` on a desk-sized demo: 10,000 positions over 50 accounts
(Binance, Bybit and Hyperliquid in turn, `--demo-accounts`) and 500 symbols, at 1 s ticks.

Budget (issue #22, "scale up before scale out"): at most 20 % of one core. The measured window
(after the warm-up) takes in the demo's scripted crash, 25 simulated seconds in: liquidations,
alerts, funding turning. Not part of the test suite (`make bench`). Linux only (reads /proc).

    python bench/watch_accounts.py                 # this checkout, median of 3 runs
    python bench/watch_accounts.py --root OTHER    # the same harness on another checkout (before/after)
    python bench/watch_accounts.py --positions 2000 --accounts 4   # any other size
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from watch_load import measure  # noqa: E402  # one measurement for the watch benches

BUDGET_CPU = 20.0
"""Percent of one core, 10,000 positions over 50 accounts."""


def run_once(root: Path, args: argparse.Namespace) -> tuple[float, float]:
    """One run of the watcher in ``root``: (percent of one core over the window, RSS MB at its end)."""
    cmd = [
        sys.executable,
        "-m",
        "liqwatch.cli",
        "watch",
        "--demo",
        "--demo-positions",
        str(args.positions),
        "--demo-symbols",
        str(args.symbols),
        "--demo-accounts",
        str(args.accounts),
        "--interval",
        "1",
    ]
    return measure(cmd, root, args.warmup, args.seconds, {**os.environ, "PYTHONPATH": str(root)})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--positions", type=int, default=10_000)
    ap.add_argument("--accounts", type=int, default=50)
    ap.add_argument("--symbols", type=int, default=500)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--warmup", type=float, default=10.0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--root", type=Path, default=ROOT, help="the checkout to measure (default: this one)")
    args = ap.parse_args()
    results = [run_once(args.root.resolve(), args) for _ in range(args.runs)]
    cpus = [cpu for cpu, _ in results]
    cpu = statistics.median(cpus)
    rss = max(r for _, r in results)
    print(
        f"liqwatch watch --demo, {args.positions} positions over {args.accounts} accounts and {args.symbols} "
        f"symbols, 1 s ticks, {args.seconds:.0f} s measured after {args.warmup:.0f} s warm-up, {args.runs} runs:"
    )
    print(f"  CPU {cpu:.1f}% of one core, median ({', '.join(f'{c:.1f}' for c in cpus)})", end="  ")
    print(f"(budget <= {BUDGET_CPU:.0f}%)  {'OK' if cpu <= BUDGET_CPU else 'OVER'}")
    print(f"  RSS {rss:.0f} MB (largest)")


if __name__ == "__main__":
    main()
