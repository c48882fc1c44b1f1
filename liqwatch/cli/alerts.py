"""``liqwatch alerts test``: send a test alert to every configured channel; ``liqwatch alerts
dispatch --source URL``: deliver the bus's alerts through them (:mod:`liqwatch.bus.dispatch`)."""

from __future__ import annotations

import argparse
import sys

from liqwatch.cli.common import fail


def run(args: argparse.Namespace) -> int:
    if args.alerts_command == "dispatch":
        return _dispatch(args)
    if args.alerts_command != "test":
        fail("alerts: say what to do: `liqwatch alerts test` or `liqwatch alerts dispatch --source URL`")
    import asyncio

    from liqwatch.alerts.channels import send_test
    from liqwatch.alerts.config import build_notifiers
    from liqwatch.config import load_config

    warnings: list[str] = []
    config = load_config(args.alerts_config or args.config, warn=warnings)
    for text in warnings:  # as `watch` and the dashboard warn (liqwatch.config.readable_by_others)
        sys.stderr.write(f"liqwatch: warning: {text}\n")
    channels = build_notifiers(config.channels)
    if not channels:
        fail("channels: the config has no [[channels]] to test")
    results = asyncio.run(send_test(channels))
    for name, ok, detail in results:
        sys.stdout.write(f"{'ok    ' if ok else 'FAILED'} {name}{': ' + detail if detail else ''}\n")
    return 0 if all(ok for _, ok, _ in results) else 1


def _dispatch(args: argparse.Namespace) -> int:
    import asyncio

    from liqwatch.alerts.config import build_notifiers
    from liqwatch.bus.dispatch import run_dispatch
    from liqwatch.config import load_config

    warnings: list[str] = []
    config = load_config(args.alerts_config or args.config, warn=warnings)
    for text in warnings:
        sys.stderr.write(f"liqwatch: warning: {text}\n")
    notifiers = build_notifiers(config.channels)
    if not notifiers:
        fail("channels: the config has no [[channels]] to deliver to (add one; `liqwatch alerts test` checks it)")
    try:
        return asyncio.run(run_dispatch(args, config, notifiers))
    except KeyboardInterrupt:
        return 0
