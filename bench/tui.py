"""The dashboard's budgets (issue #14): time to first frame of `liqwatch demo` (< 0.5 s), steady CPU
with 50 positions at 1 Hz (<= 2% of one core) and with 2,000 positions (<= 10%), and RSS.

Runs the real app headless in a child process (no terminal needed), at 80x24 (Textual's headless
size: the detail and its charts closed) and at 160x50 (the detail column and its charts open).
Not part of the test suite (`make bench`). Linux only (reads /proc).

    python bench/tui.py                 # this checkout
    python bench/tui.py --root OTHER    # the same harness on another checkout (before/after)
    python bench/tui.py --sizes 160x50 --positions 50 --no-first-frame --runs 5 --against OTHER
                                        # five runs of each checkout in turn, medians
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIRST_FRAME_BUDGET = 0.5
BUDGETS = {50: 2.0, 2000: 10.0}
SYMBOLS = {50: 50, 2000: 500}
sys.path.insert(0, str(Path(__file__).resolve().parent))

from watch_load import cpu_seconds, rss_mb  # noqa: E402

FIRST_FRAME = """
import sys, time
start = float(sys.argv[1])
from liqwatch.feeds.demo import DemoFeed
from liqwatch.tui.app import LiqwatchApp

class Timed(LiqwatchApp):
    def on_mount(self) -> None:
        self.call_after_refresh(self.first_frame)  # before the app's own after-first-frame work
        super().on_mount()

    def first_frame(self) -> None:
        print(time.time() - start, flush=True)
        self.exit()

Timed([DemoFeed()]).run(headless=True)
"""

STEADY = """
import sys
from liqwatch.feeds.demo import DemoFeed, DemoMarket, synthetic_accounts
from liqwatch.tui.app import LiqwatchApp
positions, symbols, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
width, height = int(sys.argv[4]), int(sys.argv[5])
accounts, syms = synthetic_accounts(positions, symbols, 7)
app = LiqwatchApp([DemoFeed(speed=1.0, market=DemoMarket(7, accounts, syms))])
app.call_later(lambda: app.set_timer(seconds, app.exit))
app.run(headless=True, size=(width, height))
"""


def first_frame(root: Path, runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        t0 = time.time()
        out = subprocess.run(
            [sys.executable, "-c", FIRST_FRAME, repr(t0)], cwd=root, capture_output=True, text=True, check=True
        )
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def steady(
    root: Path, positions: int, symbols: int, size: tuple[int, int], seconds: float = 20.0, warmup: float = 5.0
) -> tuple[float, float]:
    with open(os.devnull, "w") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-c", STEADY, str(positions), str(symbols), str(seconds + warmup + 5), *map(str, size)],
            cwd=root,
            stdout=sink,
            stderr=subprocess.PIPE,
        )
        try:
            time.sleep(warmup)
            c0, t0 = cpu_seconds(proc.pid), time.monotonic()
            time.sleep(seconds)
            c1, t1 = cpu_seconds(proc.pid), time.monotonic()
            rss = rss_mb(proc.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    return (c1 - c0) / (t1 - t0) * 100, rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout to measure (default: this one)")
    parser.add_argument("--sizes", default="80x24,160x50", help="terminal sizes for the steady runs")
    parser.add_argument("--positions", default="50,2000", help="books for the steady runs (50 and/or 2000)")
    parser.add_argument("--no-first-frame", action="store_true", help="skip the time to first frame")
    parser.add_argument("--runs", type=int, default=1, help="steady runs of each (the median is the figure)")
    parser.add_argument("--against", type=Path, help="another checkout, its steady runs alternated with these")
    args = parser.parse_args()
    root = args.root.resolve()
    if not args.no_first_frame:
        ff = first_frame(root)
        print(
            f"time to first frame (liqwatch demo, headless, median of 7): {ff * 1000:.0f} ms "
            f"(budget < {FIRST_FRAME_BUDGET * 1000:.0f} ms) {'OK' if ff < FIRST_FRAME_BUDGET else 'OVER'}"
        )
    books = [(n, SYMBOLS[n]) for n in map(int, args.positions.split(","))]
    for text in args.sizes.split(","):
        width, height = (int(n) for n in text.split("x"))
        for positions, symbols in books:
            budget = BUDGETS[positions]
            roots = [root] + ([args.against.resolve()] if args.against is not None else [])
            figures: dict[Path, list[tuple[float, float]]] = {r: [] for r in roots}
            for _ in range(args.runs):  # this checkout, then the other one, in turn
                for r in roots:
                    figures[r].append(steady(r, positions, symbols, (width, height)))
            for r in roots:
                cpu = statistics.median(c for c, _ in figures[r])
                rss = statistics.median(m for _, m in figures[r])
                runs = ", ".join(f"{c:.1f}" for c, _ in figures[r])
                where = f" [{r}]" if args.against is not None else ""
                print(
                    f"steady {width}x{height}, {positions} positions / {symbols} symbols at 1 Hz{where}: CPU "
                    f"{cpu:.1f}% of one core (median of {len(figures[r])}: {runs}; budget <= {budget:g}%) "
                    f"{'OK' if cpu <= budget else 'OVER'}, RSS {rss:.0f} MB"
                )


if __name__ == "__main__":
    main()
