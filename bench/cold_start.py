"""Cold start of `liqwatch calc` against `python -c "import pydantic"` (median of several runs).

Budgets (issue #9): the flags path within 1.2x of the pydantic import; a one-position portfolio
file within 2.0x. Not part of the test suite; run with `make bench` (which byte-compiles the
package first, as pip does for an installed wheel).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUDGETS = {"liqwatch calc <flags> --json": 1.2, "calc --portfolio <1 position> --json": 2.0}


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
    one = Path(tempfile.mkdtemp()) / "one.toml"
    one.write_text(
        'exchange = "binance"\n[[positions]]\nsymbol = "BTCUSDT"\nside = "long"\nsize = 0.5\n'
        "entry_price = 60000\nleverage = 20\nmark_price = 59000\n"
    )
    cases = {
        "liqwatch calc <flags> --json": [script, *flags, "--json"],
        "liqwatch calc <flags> (table)": [script, *flags],
        "calc --portfolio <1 position> --json": [script, "calc", "--portfolio", str(one), "--json"],
        "liqwatch calc --portfolio --json": [script, "calc", "--portfolio", "examples/portfolio.toml", "--json"],
        "liqwatch calc --portfolio (table)": [script, "calc", "--portfolio", "examples/portfolio.toml"],
    }
    for name, cmd in cases.items():
        t = median_wall(cmd, args.runs)
        ratio = t / base
        budget = BUDGETS.get(name)
        verdict = "" if budget is None else f"  ({'within' if ratio <= budget else 'OVER'} the {budget}x budget)"
        print(f"{name:37s} {t * 1000:7.1f} ms  = {ratio:4.2f}x{verdict}")
    one.unlink()


if __name__ == "__main__":
    main()
