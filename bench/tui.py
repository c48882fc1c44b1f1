"""The dashboard's budgets (issue #5): time to first frame of `liqwatch demo` (< 1.0 s), steady CPU
with 50 positions at 1 Hz (< 3% of one core) and with 2,000 positions (< 15%), and RSS.

Runs the real app headless in a child process (no terminal needed). Not part of the test suite
(`make bench`). Linux only (reads /proc).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
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
accounts, syms = synthetic_accounts(positions, symbols, 7)
app = LiqwatchApp([DemoFeed(speed=1.0, market=DemoMarket(7, accounts, syms))])
app.call_later(lambda: app.set_timer(seconds, app.exit))
app.run(headless=True)
"""


def first_frame(runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        t0 = time.time()
        out = subprocess.run(
            [sys.executable, "-c", FIRST_FRAME, repr(t0)], cwd=ROOT, capture_output=True, text=True, check=True
        )
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def steady(positions: int, symbols: int, seconds: float = 20.0, warmup: float = 5.0) -> tuple[float, float]:
    with open(os.devnull, "w") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-c", STEADY, str(positions), str(symbols), str(seconds + warmup + 5)],
            cwd=ROOT,
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
    ff = first_frame()
    print(
        f"time to first frame (liqwatch demo, headless, median of 7): {ff * 1000:.0f} ms "
        f"(budget < 1000 ms) {'OK' if ff < 1.0 else 'OVER'}"
    )
    for positions, symbols, budget in ((50, 50, 3.0), (2000, 500, 15.0)):
        cpu, rss = steady(positions, symbols)
        print(
            f"steady, {positions} positions / {symbols} symbols at 1 Hz: CPU {cpu:.1f}% of one core "
            f"(budget < {budget:g}%) {'OK' if cpu < budget else 'OVER'}, RSS {rss:.0f} MB"
        )


if __name__ == "__main__":
    main()
