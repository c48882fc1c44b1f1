"""``liqwatch watch``: the entry of the headless monitor (the runner is :mod:`liqwatch.watch`)."""

from __future__ import annotations

import argparse


def run(args: argparse.Namespace) -> int:
    if getattr(args, "source", None) is not None:  # issue #22: the bus as the source
        from liqwatch.bus.source import main as source_main

        return source_main(args)
    from liqwatch.watch import main as watch_main

    return watch_main(args)
