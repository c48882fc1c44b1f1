"""``liqwatch watch``'s bus flags (issue #22); argparse only, the parser is built for every command."""

from __future__ import annotations

import argparse
from pathlib import Path


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
    add_auth_arguments(parser)


def add_auth_arguments(parser: argparse.ArgumentParser) -> None:
    """How to connect to the bus, for every command that does (``watch --publish/--source``,
    ``alerts dispatch``, the dashboard's ``--source``): ``--bus-config FILE`` (its ``[bus]`` table)
    and one ``--bus-<key>`` flag per ``[bus]`` key, over the table. Read them with
    :func:`liqwatch.bus.connect.bus_config`."""
    group = parser.add_argument_group("bus connection (NATS; over the [bus] table)")
    group.add_argument("--bus-config", type=Path, metavar="FILE", help="a config file whose [bus] table to use")
    group.add_argument("--bus-user", metavar="USER", help="NATS user (password from --bus-password-env or keyring)")
    group.add_argument("--bus-password-env", metavar="VAR", help="environment variable holding the NATS password")
    group.add_argument("--bus-keyring", metavar="SERVICE", help="OS keyring service holding the password of --bus-user")
    group.add_argument("--bus-creds", type=Path, metavar="FILE", help="NATS creds file (JWT + seed) or nkey seed file")
    group.add_argument("--bus-tls-ca", type=Path, metavar="FILE", help="CA certificate for tls://")
    group.add_argument("--bus-tls-cert", type=Path, metavar="FILE", help="client certificate (mutual TLS)")
    group.add_argument("--bus-tls-key", type=Path, metavar="FILE", help="client key (mutual TLS)")
