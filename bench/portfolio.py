"""`liqwatch calc --portfolio FILE --json` end to end: read, validate, tables, maths, JSON out.

The file: N cross positions, one per symbol, each with its own 5-bracket ``tiers`` list (the
lists are identical, as a tool that exports an account writes them).

What is measured (issue #22): the **work beyond cold start** = wall time of the command on the
N-position file minus wall time of the same command on a one-position file (the same file
shape: interpreter, imports, parsing the flags and writing a one-position answer are the cold
start). Its budget is a ratio to the wall time of ``python -c "import pydantic"``, the machine's
pace: <= 3.0 x for 10,000 positions. Each round runs the three commands (one-position,
N-position, ``import pydantic``) one after the other, in an order that rotates from round to
round, so that all three see the machine in the same state; the figure is the median over the
rounds of each round's ratio (this VM's speed drifts by +-30 % from minute to minute and it is
shared). Also printed: positions per second beyond cold start (issue #9's budget, >= 50,000/s)
and the same in CPU time (the commands' own user + system time, disturbed less by other load).

Not part of the test suite; run with `make bench` or
`.venv/bin/python bench/portfolio.py [--positions N] [--rounds R] [--against OTHER_CHECKOUT]`
(``--against``: the other checkout's two runs join the same rounds, before/after in the same
minutes; both checkouts then run through ``python -c`` from their own directory).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RATIO_BUDGET = 3.0
"""Work beyond cold start of the 10,000-position run, in ``python -c "import pydantic"`` times."""
RATE_BUDGET = 50_000.0
"""Positions per second beyond cold start (issue #9)."""
TIERS = [
    {"min_notional": 0, "max_notional": 50_000, "mmr": 0.004, "max_leverage": 125},
    {"min_notional": 50_000, "max_notional": 500_000, "mmr": 0.005, "max_leverage": 100},
    {"min_notional": 500_000, "max_notional": 8_000_000, "mmr": 0.01, "max_leverage": 50},
    {"min_notional": 8_000_000, "max_notional": 50_000_000, "mmr": 0.025, "max_leverage": 20},
    {"min_notional": 50_000_000, "max_notional": 100_000_000, "mmr": 0.05, "max_leverage": 10},
]


def write_portfolio(path: Path, n: int) -> None:
    positions = [
        {
            "symbol": f"C{i:05d}/USDT:USDT",
            "side": "long" if i % 2 else "short",
            "size": 1 + i % 7,
            "entry_price": 100 + i % 13,
            "mark_price": 101 + i % 11,
            "margin_mode": "cross",
            "tiers": TIERS,
        }
        for i in range(n)
    ]
    path.write_text(json.dumps({"exchange": "binance", "wallet_balance": 1e7, "positions": positions}))


Command = tuple[list[str], Path | None]
"""A command line and the directory it runs in (None: this one)."""
CONSOLE = "from liqwatch.cli import console; console()"
"""``liqwatch`` as its console script starts it, from the checkout in the current directory."""


def _timed(cmd: Command) -> tuple[float, float]:
    """(wall, CPU) seconds of one run; CPU is the command's own user + system time."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd[0], cwd=cmd[1], capture_output=True, check=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def rounds(commands: list[Command], count: int) -> list[list[tuple[float, float]]]:
    """``count`` rounds of every command once; round r starts at command r mod len (so none is
    always the first after a pause). Returns, per round, (wall, CPU) of each command, in the
    order of ``commands``."""
    # warm the OS file cache, and write the bytecode an installed liqwatch has (this VM's shells
    # set PYTHONDONTWRITEBYTECODE: every run would compile each edited module again)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    for cmd in commands:
        subprocess.run(cmd[0], cwd=cmd[1], capture_output=True, check=True, env=env)
    out = []
    for r in range(count):
        times: dict[int, tuple[float, float]] = {}
        for k in range(len(commands)):
            i = (r + k) % len(commands)
            times[i] = _timed(commands[i])
        out.append([times[i] for i in range(len(commands))])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--positions", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=15, help="rounds of the three commands (median; >= 5)")
    ap.add_argument("--against", type=Path, help="another checkout, measured in the same rounds (before/after)")
    args = ap.parse_args()
    here = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big.json"
        one = Path(tmp) / "one.json"
        write_portfolio(big, args.positions)
        write_portfolio(one, 1)
        calc = ["calc", "--portfolio"]
        if args.against is None:
            script = str(Path(sys.executable).with_name("liqwatch"))
            launch: list[tuple[list[str], Path | None]] = [([script], None)]
        else:
            launch = [([sys.executable, "-c", CONSOLE], root) for root in (here, args.against.resolve())]
        commands: list[Command] = []
        for start, cwd in launch:
            commands += [(start + calc + [str(one), "--json"], cwd), (start + calc + [str(big), "--json"], cwd)]
        commands.append(([sys.executable, "-c", "import pydantic"], None))
        runs = rounds(commands, max(args.rounds, 5))
    if args.against is not None:
        print(f"{args.against}: ", end="")
        report([[r[2], r[3], r[4]] for r in runs], args.positions)
        print(f"{here}: ", end="")
    report([[r[0], r[1], r[-1]] for r in runs], args.positions)


def report(runs: list[list[tuple[float, float]]], positions: int) -> None:
    """The figures of rounds of (one-position run, large run, ``import pydantic``)."""
    med = statistics.median
    base, full, pace = (med(r[i][0] for r in runs) for i in range(3))
    base_cpu, full_cpu, pace_cpu = (med(r[i][1] for r in runs) for i in range(3))
    beyond = [r[1][0] - r[0][0] for r in runs]
    ratios = [(r[1][0] - r[0][0]) / r[2][0] for r in runs]
    cpu_ratios = [(r[1][1] - r[0][1]) / max(r[2][1], 1e-9) for r in runs]
    ratio = med(ratios)
    work = max(med(beyond), 1e-9)
    n = len(runs)
    print(f"medians of {n} rounds (one-position, {positions:,}-position, import pydantic; order rotating):")
    print(f"  one-position portfolio (cold start)  {base * 1000:7.1f} ms  (CPU {base_cpu * 1000:.0f} ms)")
    print(f"  {positions:,}-position portfolio         {full * 1000:7.1f} ms  (CPU {full_cpu * 1000:.0f} ms)")
    print(f"  python -c 'import pydantic'         {pace * 1000:7.1f} ms  (CPU {pace_cpu * 1000:.0f} ms)")
    verdict = "within" if ratio <= RATIO_BUDGET else "OVER"
    print(
        f"work beyond cold start: {work * 1000:.1f} ms = {ratio:.2f} x import pydantic "
        f"(median of the rounds' ratios; rounds {min(ratios):.2f}-{max(ratios):.2f}; "
        f"budget <= {RATIO_BUDGET:.1f} x for 10,000 positions) {verdict}"
    )
    print(f"  in CPU time: {med(cpu_ratios):.2f} x (rounds {min(cpu_ratios):.2f}-{max(cpu_ratios):.2f})")
    rate = positions / work
    print(f"  = {rate:,.0f} positions/s beyond cold start ({'within' if rate >= RATE_BUDGET else 'BELOW'} "
          f"{RATE_BUDGET:,.0f}/s)")  # fmt: skip


if __name__ == "__main__":
    main()
