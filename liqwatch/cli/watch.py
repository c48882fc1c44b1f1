"""``liqwatch watch``: the entry of the headless monitor (the runner is :mod:`liqwatch.watch`)."""

from __future__ import annotations

import argparse


def run(args: argparse.Namespace) -> int:
    from liqwatch.watch import main as watch_main

    return watch_main(args)
