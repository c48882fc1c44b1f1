"""What every ``liqwatch`` command shares: the one-line error, the exit code, the parser class."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

EXIT_INPUT = 2
"""Exit code of every bad input (a usage error included)."""

FLAG_FOR_FIELD = {
    "symbol": "--symbol",
    "side": "--side",
    "size": "--size",
    "contracts": "--contracts",
    "contract_size": "--contract-size",
    "entry_price": "--entry",
    "mark_price": "--mark",
    "leverage": "--leverage",
    "isolated_margin": "--margin",
    "mmr": "--mmr",
    "maint_amount": "--maint-amount",
    "max_leverage": "--max-leverage",
    "fee_rate": "--fee-rate",
    "wallet_balance": "--wallet-balance",
    "position_side": "--position-side",
    "adl_lights": "--adl-lights",
}
"""The calc flag of each position field, for naming it in an error."""


class CliParser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line (no usage dump, no traceback)."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(EXIT_INPUT)


class Exit:
    """Whether a finished command may leave the process at once (see :func:`done`). Set only by
    the console script (``liqwatch.cli.console``): a caller of ``main()`` in-process (the tests, a
    script) keeps its interpreter."""

    fast = False


def done(code: int) -> int:
    """The end of a command whose answer is written. From the console script: flush and leave the
    process now, skipping the interpreter's teardown, which would free every object the answer was
    built from one by one (a 10,000-position portfolio: ~10 % of the run) and unload every module
    (~20 ms of a one-line calc). Nothing is left to run: calc writes no files and registers no exit
    handlers. Elsewhere: return ``code``."""
    if not Exit.fast:
        return code
    import os

    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # the reader left (`liqwatch calc ... | head`): not an error of ours
        code = 0
    os._exit(code)


def fail(message: str) -> NoReturn:
    """One line on stderr, exit code 2."""
    sys.stderr.write(f"liqwatch: error: {message}\n")
    raise SystemExit(EXIT_INPUT)


_VALUE_FLAGS = ("--shock", "--add-margin", "--beta", "--add-size", "--target-distance", "--mark", "--funding-rate")


def join_dash_values(argv: list[str]) -> list[str]:
    """Let ``--shock -30:0:5`` mean ``--shock=-30:0:5`` (argparse would read ``-30:0:5`` as a flag;
    so too ``-10%``)."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in _VALUE_FLAGS and i + 1 < len(argv) and argv[i + 1].startswith("-") and argv[i + 1][1:2].isdigit():
            out.append(f"{arg}={argv[i + 1]}")
            i += 2
            continue
        out.append(arg)
        i += 1
    return out


def chosen_scenario(args: argparse.Namespace) -> str | None:
    """The name of the what-if scenario the flags ask for (at most one); a scenario's secondary
    flag (``--add-price``, ``--beta``) only with its own."""
    from liqwatch.scenarios import SCENARIOS

    given = [sc.flag for sc in SCENARIOS.values() if _given(getattr(args, sc.params[0].name))]
    if len(given) > 1:
        fail(f"{given[1]}: one what-if scenario per run (also given: {given[0]})")
    for sc in SCENARIOS.values():
        for param in sc.params[1:]:
            if getattr(args, param.name) is not None and getattr(args, sc.params[0].name) is None:
                fail(f"{param.flag}: only with {sc.flag}")
    return next((sc.name for sc in SCENARIOS.values() if _given(getattr(args, sc.params[0].name))), None)


def _given(value: object) -> bool:
    """A scenario flag was given: any value but None and a store_true's False (0 is a value: it is
    checked, not ignored)."""
    return value is not None and value is not False
