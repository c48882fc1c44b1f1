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
    init.add_argument("--creds", type=Path, metavar="FILE", help="a NATS credentials file")
    init.add_argument("--user", metavar="USER", help="user name (password from --password-env)")
    init.add_argument("--password-env", metavar="VAR", help="environment variable holding the password")
    init.add_argument("--tls-ca", type=Path, metavar="FILE", help="CA certificate for tls://")


def run(args: argparse.Namespace) -> int:
    import asyncio

    from pydantic import ValidationError

    from liqwatch.bus.admin import init_bus
    from liqwatch.config import BusConfig
    from liqwatch.core.errors import InputError

    if getattr(args, "bus_command", None) != "init":
        raise InputError("bus", "say what to do: liqwatch bus init URL")
    try:
        cfg = BusConfig(
            url=args.url, creds=args.creds, user=args.user, password_env=args.password_env, tls_ca=args.tls_ca
        )
    except ValidationError as exc:
        from liqwatch.portfolio import _one_line

        err = _one_line(exc)
        raise InputError(f"bus init: {err.field}", err.message) from None
    for line in asyncio.run(init_bus(cfg)):
        sys.stdout.write(line + "\n")
    return 0
