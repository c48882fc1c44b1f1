"""``liqwatch`` command line: one module per command, this one dispatches.

* :mod:`liqwatch.cli.calc` — ``liqwatch calc`` (and :mod:`liqwatch.cli.whatif` for its scenarios),
* :mod:`liqwatch.cli.watch` — ``liqwatch watch``,
* :mod:`liqwatch.cli.market` — ``liqwatch market`` (issue #13),
* :mod:`liqwatch.cli.alerts` — ``liqwatch alerts test``,
* :mod:`liqwatch.cli.init` — ``liqwatch init`` (a starter config),
* :mod:`liqwatch.cli.config_check` — ``liqwatch config check``,
* :mod:`liqwatch.cli.dashboard` — ``liqwatch`` and ``liqwatch demo``,
* :mod:`liqwatch.cli.tiers` — ``liqwatch tiers update|show|list`` (defined on first use),
* :mod:`liqwatch.cli.bus` — ``liqwatch bus init URL`` (issue #22),
* :mod:`liqwatch.cli.common` — the one-line error, exit code 2, the parser class.

Command modules import ``common`` and never this package's ``__init__`` (no import cycles; a test
checks). ``liqwatch calc`` never imports ccxt, Textual or websockets. Every bad input ends as one
line on stderr naming the field, with exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from liqwatch.cli.common import EXIT_INPUT, CliParser, Exit, fail, join_dash_values
from liqwatch.core.errors import InputError


class _Parser(CliParser):
    """A subcommand parser whose arguments may be defined on first use (``populate``), so that
    `liqwatch calc` never loads the `tiers` command modules (asyncio, ccxt)."""

    def __init__(self, *args: Any, populate: Callable[[argparse.ArgumentParser], None] | None = None, **kw: Any):
        super().__init__(*args, **kw)
        self._populate = populate

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        if self._populate is not None:
            populate, self._populate = self._populate, None
            populate(self)
        return super().parse_known_args(args, namespace)


def _tiers_commands(parser: argparse.ArgumentParser) -> None:
    from liqwatch.cli.tiers import add_tiers_commands

    add_tiers_commands(parser)


def _market_arguments(parser: argparse.ArgumentParser) -> None:
    from liqwatch.cli.market import add_arguments

    add_arguments(parser)


def _init_arguments(parser: argparse.ArgumentParser) -> None:
    from liqwatch.cli.init import add_arguments

    add_arguments(parser)


def _check_arguments(parser: argparse.ArgumentParser) -> None:
    from liqwatch.cli.config_check import add_arguments

    add_arguments(parser)


def _bus_arguments(parser: argparse.ArgumentParser) -> None:
    from liqwatch.cli.bus import add_arguments

    add_arguments(parser)


def build_parser() -> argparse.ArgumentParser:
    from liqwatch import __version__
    from liqwatch.cli import calc

    parser = CliParser(
        prog="liqwatch",
        description="Exact liquidation risk for crypto perpetual futures, on the mark price.",
    )
    parser.add_argument("--version", action="version", version=f"liqwatch {__version__}")
    parser.add_argument("--config", type=Path, metavar="FILE", help="config file for the dashboard")
    parser.add_argument(  # issue #22: liqwatch.bus.feed (nats only with it)
        "--source",
        dest="bus_source",
        metavar="URL",
        help="the dashboard on the bus (NATS JetStream): every group's accounts, as the watchers publish them",
    )
    parser.add_argument(
        "--group",
        dest="bus_groups",
        action="append",
        metavar="G",
        help="with --source: only this group (repeat for several; default all)",
    )
    from liqwatch.bus.args import add_auth_arguments  # argparse only: nats loads with --source

    add_auth_arguments(parser)  # the dashboard's --source: credentials and TLS (README: For desks)
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    # the small subcommands are defined here, so that `liqwatch calc` does not load their modules
    demo = sub.add_parser(
        "demo",
        help="the dashboard on the embedded simulated market (no keys, no network)",
        description="Open the dashboard on a simulated multi-venue market with a scripted crash.",
    )
    demo.add_argument("--seed", type=int, default=7, help="simulation seed (deterministic prices)")
    demo.add_argument("--speed", type=float, default=1.0, metavar="X", help="simulated seconds per second")
    calc.add_parser(sub)
    watch = sub.add_parser(
        "watch",
        help="headless monitor: JSON lines of risk snapshots and events",
        description="Monitor accounts (from the config), the demo market or a recording; print JSON lines.",
    )
    from liqwatch.watch import add_arguments

    add_arguments(watch)
    market = sub.add_parser(  # issue #13; liqwatch.cli.market (ccxt only when a venue is read)
        "market",
        help="insurance funds, ADL risk, mark vs index and funding per venue (public data, no keys)",
        description="The backstop and the market per venue: insurance pools, ADL risk, mark vs index, funding.",
        populate=_market_arguments,
    )
    del market
    alerts = sub.add_parser("alerts", help="alert channels", description="Alert channels.")
    alerts_sub = alerts.add_subparsers(dest="alerts_command", parser_class=CliParser)
    test = alerts_sub.add_parser("test", help="send a test alert to every configured channel")
    test.add_argument("--config", type=Path, dest="alerts_config", metavar="FILE", help="config file")
    dispatch = alerts_sub.add_parser(  # issue #22: liqwatch.bus.dispatch
        "dispatch",
        help="deliver the bus's alerts through the configured channels (several dispatchers share the work)",
        description="Deliver the alerts on a NATS JetStream bus through the config's [[channels]], from one shared "
        "durable consumer (`dispatch` on LIQ_ALERT): several dispatchers share the work, a killed one loses nothing "
        "(at least once; receivers drop repeats by alert id).",
    )
    dispatch.add_argument("--source", metavar="URL", help="the bus: nats://HOST:PORT (default: url in [bus])")
    dispatch.add_argument("--config", type=Path, dest="alerts_config", metavar="FILE", help="config file")
    dispatch.add_argument("--batch", type=int, default=10, metavar="N", help="alerts held at a time (default 10)")
    dispatch.add_argument(
        "--ack-wait", type=float, default=30.0, metavar="S", help="seconds before an unacked alert is redelivered"
    )
    dispatch.add_argument(
        "--since",
        type=float,
        default=3600.0,
        metavar="S",
        help="when the shared consumer does not exist yet: start it S seconds back (default 3600)",
    )
    sub.add_parser(  # issue #20: liqwatch.cli.init
        "init",
        help="write a starter config: one account per venue you name (keys by env var or keyring)",
        description="Write a starter config (mode 600) with one account per venue named "
        "(`liqwatch init VENUE...`); keys come from environment variables (or --keyring), never the file.",
        populate=_init_arguments,
    )
    config = sub.add_parser("config", help="check the config", description="The config file.")
    config_sub = config.add_subparsers(dest="config_command", parser_class=_Parser)
    config_sub.add_parser(  # issue #20: liqwatch.cli.config_check
        "check",
        help="validate the config, then try each account read-only (one balance read each)",
        description="Validate the config, then read each account's balance once (read-only): one line per account.",
        populate=_check_arguments,
    )
    sub.add_parser(  # liqwatch.cli.tiers.add_tiers_parser, its subcommands defined when parsed
        "tiers",
        help="tier tables: download them into the cache, show one, list coverage",
        description="Tier tables: `update` downloads them into the cache, `show` prints one, `list` the coverage.",
        populate=_tiers_commands,
    )
    sub.add_parser(  # issue #22: liqwatch.cli.bus (nats only when run)
        "bus",
        help="the NATS JetStream bus for desks: `bus init URL` creates its streams and KV buckets",
        description="The NATS JetStream bus (pip install 'liqwatch[bus]').",
        populate=_bus_arguments,
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(join_dash_values(list(sys.argv[1:] if argv is None else argv)))
    try:
        if args.command == "calc":
            from liqwatch.cli import calc
            from liqwatch.core.bulk import gc_paused

            with gc_paused():  # a large portfolio allocates a dict per field; nothing in it is cyclic
                return calc.run(args)
        if args.command == "watch":
            from liqwatch.cli import watch

            return watch.run(args)
        if args.command == "market":
            from liqwatch.cli import market

            return market.run(args)
        if args.command == "alerts":
            from liqwatch.cli import alerts

            return alerts.run(args)
        if args.command == "init":
            from liqwatch.cli import init

            return init.run(args)
        if args.command == "config":
            from liqwatch.cli import config_check

            return config_check.run(args)
        if args.command == "tiers":
            from liqwatch.cli import tiers

            return tiers.run(args)
        if args.command == "bus":
            from liqwatch.cli import bus

            return bus.run(args)
        if args.command in (None, "demo"):
            from liqwatch.cli import dashboard

            return dashboard.run(args)
    except InputError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `liqwatch calc ... | head`: the reader left; not an error of ours
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # a bug must still end as one line, never a traceback
        fail(f"internal error ({type(exc).__name__}: {exc}); please report it with the command you ran")
    parser.print_help()
    return EXIT_INPUT


def console() -> NoReturn:
    """The ``liqwatch`` console script: :func:`main`, allowed to end the process at once once the
    answer is written (``common.done``)."""
    Exit.fast = True
    sys.exit(main())


__all__ = ["EXIT_INPUT", "build_parser", "console", "main"]
