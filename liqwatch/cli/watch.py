"""``liqwatch watch``: the entry of the headless monitor (the runner is :mod:`liqwatch.watch`)."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """The ``watch`` subcommand on ``sub`` (an argparse subparsers action)."""
    from liqwatch.watch import add_arguments

    watch: argparse.ArgumentParser = sub.add_parser(
        "watch",
        help="headless monitor: JSON lines of risk snapshots and events",
        description="Monitor accounts (from the config), the demo market or a recording; print JSON lines.",
    )
    add_arguments(watch)
    return watch


def run(args: argparse.Namespace) -> int:
    from liqwatch.watch import main as watch_main

    return watch_main(args)
