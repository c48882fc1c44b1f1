"""Cold start of `liqwatch calc` against `python -c "import pydantic"` (median of several runs).

Budget (issue #2): within 1.5x of the pydantic import. Not part of the test suite; run with
`make bench` (which byte-compiles the package first, as pip does for an installed wheel).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUDGET = 1.5


def median_wall(cmd: list[str], runs: int) -> float:
    subprocess.run(cmd, cwd=ROOT, capture_output=True, check=True)  # warm the OS file cache
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, capture_output=True, check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=21)
    args = ap.parse_args()
    py = sys.executable
    script = str(Path(py).with_name("liqwatch"))
    flags = [
        "calc",
        "--exchange",
        "binance",
        "--symbol",
        "BTCUSDT",
        "--side",
        "long",
        "--size",
        "0.5",
        "--entry",
        "60000",
        "--leverage",
        "20",
        "--mark",
        "59000",
    ]
    base = median_wall([py, "-c", "import pydantic"], args.runs)
    print(f"python -c 'import pydantic'           {base * 1000:7.1f} ms  (reference)")
    print(f"python -c 'pass'                      {median_wall([py, '-c', 'pass'], args.runs) * 1000:7.1f} ms")
    cases = {
        "liqwatch calc <flags> --json": [script, *flags, "--json"],
        "liqwatch calc <flags> (table)": [script, *flags],
        "liqwatch calc --portfolio --json": [script, "calc", "--portfolio", "examples/portfolio.toml", "--json"],
        "liqwatch calc --portfolio (table)": [script, "calc", "--portfolio", "examples/portfolio.toml"],
    }
    worst = 0.0
    for name, cmd in cases.items():
        t = median_wall(cmd, args.runs)
        ratio = t / base
        if "<flags> --json" in name:
            worst = ratio
        print(f"{name:37s} {t * 1000:7.1f} ms  = {ratio:4.2f}x")
    verdict = "within" if worst <= BUDGET else "OVER"
    print(f"single-position calc --json: {worst:.2f}x the pydantic import ({verdict} the {BUDGET}x budget)")


if __name__ == "__main__":
    main()
