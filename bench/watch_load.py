"""CPU and memory of `liqwatch watch` on the demo with 2,000 positions over 500 symbols at 1 s ticks.

Budget (issue #22): at most 5 % of one core, RSS at most 150 MB (issue #4's were 10 % and 200 MB).
Not part of the test suite (`make bench`). Linux only (reads /proc).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
CPU_BUDGET = 5.0
"""Percent of one core, at most (issue #22)."""
RSS_BUDGET = 150.0
"""MB, at most (issue #22)."""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_SECOND


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(
    cmd: list[str], cwd: Path, warmup: float, seconds: float, env: dict[str, str] | None = None
) -> tuple[float, float]:
    """Run ``cmd`` (stdout discarded): its percent of one core over ``seconds`` after ``warmup``,
    and its RSS in MB at the end; stopped by SIGTERM. Exits in one line if it dies in the warm-up."""
    with open(os.devnull, "w") as sink:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=sink, stderr=subprocess.PIPE)
        try:
            time.sleep(warmup)
            if proc.poll() is not None:
                raise SystemExit(f"watch exited early: {proc.stderr.read().decode() if proc.stderr else ''}")
            c0, t0 = cpu_seconds(proc.pid), time.monotonic()
            time.sleep(seconds)
            c1, t1 = cpu_seconds(proc.pid), time.monotonic()
            rss = rss_mb(proc.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    return (c1 - c0) / (t1 - t0) * 100, rss


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--positions", type=int, default=2000)
    ap.add_argument("--symbols", type=int, default=500)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--warmup", type=float, default=5.0)
    args = ap.parse_args()
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
        "--interval",
        "1",
    ]
    cpu, rss = measure(cmd, ROOT, args.warmup, args.seconds)
    print(
        f"liqwatch watch --demo, {args.positions} positions over {args.symbols} symbols, 1 s ticks, "
        f"{args.seconds:.0f} s measured after {args.warmup:.0f} s warm-up:"
    )
    print(f"  CPU {cpu:.1f}% of one core (budget <= {CPU_BUDGET:g}%)  {'OK' if cpu <= CPU_BUDGET else 'OVER'}")
    print(f"  RSS {rss:.0f} MB (budget <= {RSS_BUDGET:g} MB)  {'OK' if rss <= RSS_BUDGET else 'OVER'}")


if __name__ == "__main__":
    main()
