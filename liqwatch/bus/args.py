"""``liqwatch watch``'s bus flags (issue #22); argparse only, the parser is built for every command."""

from __future__ import annotations

import argparse


def add_bus_arguments(parser: argparse.ArgumentParser, sources: argparse._MutuallyExclusiveGroup) -> None:
    sources.add_argument(
        "--source",
        metavar="URL",
        help="read the bus (NATS JetStream) instead of venues: print its records as JSON lines",
    )
    parser.add_argument(
        "--publish", metavar="URL", help="also publish every line on the bus (NATS JetStream; needs --group)"
    )
    parser.add_argument(
        "--group",
        action="append",
        metavar="G",
        help="the account group on the bus (--publish: one; --source: repeat to read several, default all)",
    )
    parser.add_argument("--replica", metavar="R", help="this watcher's name within its group (--publish)")
    parser.add_argument(
        "--takeover-delay",
        type=float,
        metavar="S",
        help="with --replica: seconds before an alert another replica claimed but never published is "
        "taken over (default 10)",
    )
    parser.add_argument("--quiet", action="store_true", help="with --publish: print nothing on stdout")
