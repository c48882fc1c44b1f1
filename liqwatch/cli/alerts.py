"""``liqwatch alerts test``: send a test alert to every configured channel."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from liqwatch.cli.common import CliParser, fail


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """The ``alerts`` subcommand on ``sub`` (an argparse subparsers action)."""
    alerts: argparse.ArgumentParser = sub.add_parser("alerts", help="alert channels", description="Alert channels.")
    alerts_sub = alerts.add_subparsers(dest="alerts_command", parser_class=CliParser)
    test = alerts_sub.add_parser("test", help="send a test alert to every configured channel")
    test.add_argument("--config", type=Path, dest="alerts_config", metavar="FILE", help="config file")
    return alerts


def run(args: argparse.Namespace) -> int:
    if args.alerts_command != "test":
        fail("alerts: say what to do: `liqwatch alerts test`")
    import asyncio

    from liqwatch.alerts.channels import send_test
    from liqwatch.alerts.config import build_notifiers
    from liqwatch.config import load_config

    config = load_config(args.alerts_config or args.config)
    channels = build_notifiers(config.channels)
    if not channels:
        fail("channels: the config has no [[channels]] to test")
    results = asyncio.run(send_test(channels))
    for name, ok, detail in results:
        sys.stdout.write(f"{'ok    ' if ok else 'FAILED'} {name}{': ' + detail if detail else ''}\n")
    return 0 if all(ok for _, ok, _ in results) else 1
