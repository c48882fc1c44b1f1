"""``liqwatch bus init URL`` (issue #22): create the bus's streams and KV buckets (admin rights)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="bus_command", metavar="{init}")
    init = sub.add_parser(
        "init",
        help="create the streams and KV buckets on a NATS JetStream server (idempotent)",
        description="Create the liqwatch streams (LIQ_SNAP, LIQ_ALERT, LIQ_EVENT) and KV buckets "
        "(liqwatch_claims, liqwatch_presence); a second run changes nothing and says so.",
    )
    init.add_argument("url", metavar="URL", help="nats://HOST:PORT or tls://HOST:PORT (comma-separated for a cluster)")
    init.add_argument("--creds", type=Path, dest="bus_creds", metavar="FILE", help="NATS creds file or nkey seed file")
    init.add_argument("--user", dest="bus_user", metavar="USER", help="user name (password from --password-env)")
    init.add_argument(
        "--password-env", dest="bus_password_env", metavar="VAR", help="environment variable holding the password"
    )
    init.add_argument(
        "--keyring", dest="bus_keyring", metavar="SERVICE", help="OS keyring service of --user's password"
    )
    init.add_argument("--tls-ca", type=Path, dest="bus_tls_ca", metavar="FILE", help="CA certificate for tls://")
    init.add_argument("--tls-cert", type=Path, dest="bus_tls_cert", metavar="FILE", help="client certificate (mTLS)")
    init.add_argument("--tls-key", type=Path, dest="bus_tls_key", metavar="FILE", help="client key (mTLS)")
    init.add_argument("--config", type=Path, dest="bus_config", metavar="FILE", help="a config file's [bus] table")
    init.add_argument(
        "--replicas", type=int, default=1, metavar="N", help="copies of each stream and bucket (3 in a 3-node cluster)"
    )


def run(args: argparse.Namespace) -> int:
    import asyncio

    from liqwatch.bus.admin import init_bus
    from liqwatch.bus.connect import bus_config
    from liqwatch.core.errors import InputError

    if getattr(args, "bus_command", None) != "init":
        raise InputError("bus", "say what to do: liqwatch bus init URL")
    cfg = bus_config(field="bus init", url=args.url, args=args)
    if not 1 <= args.replicas <= 5:
        raise InputError("bus init: --replicas", f"must be 1 to 5 (NATS keeps at most 5 copies), got {args.replicas}")
    for line in asyncio.run(init_bus(cfg, args.replicas)):
        sys.stdout.write(line + "\n")
    return 0
