"""``liqwatch`` command line.

Kept deliberately light: ``liqwatch calc`` imports the pure core, argparse and json (rich only for
the human table, pydantic only for portfolio and tier files) and never ccxt, Textual or websockets.
Every bad input ends as one line on stderr naming the field, with exit code 2.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from liqwatch.core.errors import InputError

EXIT_INPUT = 2

_FLAG_FOR_FIELD = {
    "symbol": "--symbol",
    "side": "--side",
    "size": "--size",
    "entry_price": "--entry",
    "mark_price": "--mark",
    "leverage": "--leverage",
    "isolated_margin": "--margin",
    "mmr": "--mmr",
    "maint_amount": "--maint-amount",
    "max_leverage": "--max-leverage",
    "fee_rate": "--fee-rate",
    "wallet_balance": "--wallet-balance",
    "position_side": "--position-side",
    "adl_lights": "--adl-lights",
}


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line (no usage dump, no traceback)."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(EXIT_INPUT)


def _fail(message: str) -> NoReturn:
    sys.stderr.write(f"liqwatch: error: {message}\n")
    raise SystemExit(EXIT_INPUT)


def build_parser() -> argparse.ArgumentParser:
    from liqwatch.core.venues import VENUES

    parser = _Parser(
        prog="liqwatch",
        description="Exact liquidation risk for crypto perpetual futures, on the mark price.",
    )
    from liqwatch import __version__

    parser.add_argument("--version", action="version", version=f"liqwatch {__version__}")
    parser.add_argument("--config", type=Path, metavar="FILE", help="config file for the dashboard")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    demo = sub.add_parser(
        "demo",
        help="the dashboard on the embedded simulated market (no keys, no network)",
        description="Open the dashboard on a simulated multi-venue market with a scripted crash.",
    )
    demo.add_argument("--seed", type=int, default=7, help="simulation seed (deterministic prices)")
    demo.add_argument("--speed", type=float, default=1.0, metavar="X", help="simulated seconds per second")

    calc = sub.add_parser(
        "calc",
        help="one-off liquidation / bankruptcy / margin-ratio calculation",
        description=(
            "Compute liquidation and bankruptcy prices, margin ratio, tier and ADL for one position "
            "(flags) or a whole account (--portfolio FILE). Prices are judged on the mark price."
        ),
    )
    src = calc.add_argument_group("input")
    src.add_argument("--portfolio", metavar="FILE", type=Path, help="portfolio file (JSON or TOML)")
    src.add_argument("--tiers", metavar="FILE", type=Path, help="tier tables that replace the bundled ones")
    src.add_argument("--exchange", choices=sorted(VENUES), help="venue (formula family and bundled tiers)")
    src.add_argument("--symbol", help="BTC/USDT:USDT (ccxt unified) or the venue's id, e.g. BTCUSDT")
    src.add_argument("--side", choices=["long", "short"])
    src.add_argument("--size", type=float, help="position size in base units (e.g. BTC)")
    src.add_argument("--entry", type=float, help="average entry price")
    src.add_argument("--leverage", type=float, help="position leverage")
    src.add_argument("--margin-mode", choices=["isolated", "cross"], default="isolated")
    src.add_argument(
        "--position-side", choices=["both", "long", "short"], default="both", help="hedge-mode leg (default both)"
    )
    src.add_argument(
        "--margin", type=float, help="isolated margin posted, excluding PnL (default size x entry / leverage)"
    )
    src.add_argument("--wallet-balance", type=float, help="cross collateral in the settle currency (cross)")
    src.add_argument("--mark", type=float, help="mark price (default: entry)")
    ovr = calc.add_argument_group("overrides (take precedence over the bundled tiers)")
    ovr.add_argument("--mmr", type=float, help="maintenance margin rate, e.g. 0.005 (pins one bracket)")
    ovr.add_argument("--maint-amount", type=float, help="maintenance amount / MM deduction (Binance cum)")
    ovr.add_argument("--max-leverage", type=float, help="the bracket's max leverage (Hyperliquid: MMR = 1/2L)")
    ovr.add_argument("--fee-rate", type=float, help="liquidation fee rate counted at liquidation (venue default)")
    ovr.add_argument("--adl-lights", type=int, help="the venue's own ADL light level, 0-5")
    wi = calc.add_argument_group(
        "what-if (one scenario per run; with --portfolio it applies to the position named by --symbol, "
        "and --side in hedge mode, or to every position for --shock / --target-margin-ratio)"
    )
    wi.add_argument("--add-size", type=float, metavar="QTY", help="add QTY (base units) to the position")
    wi.add_argument("--add-price", type=float, metavar="P", help="price of the added size (default: mark)")
    wi.add_argument("--set-leverage", type=float, metavar="X", help="change the position's leverage to X")
    wi.add_argument("--add-margin", type=float, metavar="AMT", help="isolated margin to add (negative removes)")
    wi.add_argument(
        "--shock",
        action="append",
        metavar="PCT",
        help="move marks by PCT percent (repeatable, or a range FROM:TO:STEP such as -30:0:5)",
    )
    wi.add_argument("--beta", action="append", metavar="SYMBOL=B", help="per-symbol beta for --shock (default 1)")
    wi.add_argument(
        "--target-margin-ratio", type=float, metavar="R", help="solve for the mark where the margin ratio is R"
    )
    wi.add_argument(
        "--target-distance",
        type=float,
        metavar="PCT",
        help="solve for the size that can be added before liquidation comes within PCT percent of mark",
    )
    wi.add_argument("--ladder", action="store_true", help="every liquidation/bankruptcy price as a distance")
    wi.add_argument("--partial", action="store_true", help="preview the venue's step-wise liquidation")
    calc.add_argument("--json", action="store_true", help="machine-readable output")

    watch = sub.add_parser(
        "watch",
        help="headless monitor: JSON lines of risk snapshots and events",
        description="Monitor accounts (from the config), the demo market or a recording; print JSON lines.",
    )
    from liqwatch.watch import add_arguments

    add_arguments(watch)

    alerts = sub.add_parser("alerts", help="alert channels", description="Alert channels.")
    alerts_sub = alerts.add_subparsers(dest="alerts_command", parser_class=_Parser)
    test = alerts_sub.add_parser("test", help="send a test alert to every configured channel")
    test.add_argument("--config", type=Path, dest="alerts_config", metavar="FILE", help="config file")
    return parser


def _alerts(args: argparse.Namespace) -> int:
    if args.alerts_command != "test":
        _fail("alerts: say what to do: `liqwatch alerts test`")
    import asyncio

    from liqwatch.alerts.channels import send_test
    from liqwatch.alerts.config import build_notifiers
    from liqwatch.config import load_config

    config = load_config(args.alerts_config or args.config)
    channels = build_notifiers(config.channels)
    if not channels:
        _fail("channels: the config has no [[channels]] to test")
    results = asyncio.run(send_test(channels))
    for name, ok, detail in results:
        sys.stdout.write(f"{'ok    ' if ok else 'FAILED'} {name}{': ' + detail if detail else ''}\n")
    return 0 if all(ok for _, ok, _ in results) else 1


_SCENARIOS = (
    ("add_size", "--add-size"),
    ("set_leverage", "--set-leverage"),
    ("add_margin", "--add-margin"),
    ("shock", "--shock"),
    ("target_margin_ratio", "--target-margin-ratio"),
    ("target_distance", "--target-distance"),
    ("ladder", "--ladder"),
    ("partial", "--partial"),
)


def _scenario(args: argparse.Namespace) -> str | None:
    given = [flag for name, flag in _SCENARIOS if getattr(args, name) not in (None, False)]
    if len(given) > 1:
        _fail(f"{given[1]}: one what-if scenario per run (also given: {given[0]})")
    if args.add_price is not None and args.add_size is None:
        _fail("--add-price: only with --add-size")
    if args.beta and args.shock is None:
        _fail("--beta: only with --shock")
    return given[0] if given else None


def parse_shocks(values: list[str]) -> list[float]:
    """``-10``, ``5.5`` or ranges ``FROM:TO:STEP`` (percent) -> sorted unique fractions."""
    moves: set[float] = set()
    for raw in values:
        parts = raw.split(":")
        try:
            numbers = [float(x) for x in parts]
        except ValueError:
            _fail(f"--shock: {raw!r} is not a percentage or a FROM:TO:STEP range")
        if not all(math.isfinite(x) for x in numbers):
            _fail(f"--shock: {raw!r} must be finite")
        if len(numbers) == 1:
            moves.add(numbers[0])
        elif len(numbers) == 3:
            start, stop, step = numbers
            if step <= 0:
                _fail(f"--shock: the step of {raw!r} must be > 0")
            count = math.floor(abs(stop - start) / step + 1e-9)
            if count > 10_000:
                _fail(f"--shock: {raw!r} has more than 10,000 steps")
            sign = 1.0 if stop >= start else -1.0
            for i in range(count + 1):
                moves.add(round(start + sign * i * step, 10))
        else:
            _fail(f"--shock: {raw!r} is not a percentage or a FROM:TO:STEP range")
    return sorted(m / 100.0 for m in moves)


def parse_betas(values: list[str] | None) -> dict[str, float]:
    from liqwatch.core.symbols import to_unified

    out: dict[str, float] = {}
    for raw in values or []:
        symbol, sep, value = raw.partition("=")
        unified = to_unified(symbol) if sep else None
        try:
            beta = float(value)
        except ValueError:
            beta = math.nan
        if unified is None or not math.isfinite(beta):
            _fail(f"--beta: {raw!r} is not SYMBOL=NUMBER (e.g. ETH/USDT:USDT=1.3)")
        out[unified] = beta
    return out


def _calc(args: argparse.Namespace) -> int:
    from liqwatch.core.engine import assess, check_account
    from liqwatch.core.venues import get_venue
    from liqwatch.request import PositionRequest, TableCache, build_spec

    position_flags = [
        name
        for name in (
            "size",
            "entry",
            "leverage",
            "margin",
            "mark",
            "wallet_balance",
            "mmr",
            "maint_amount",
            "max_leverage",
            "fee_rate",
            "adl_lights",
        )
        if getattr(args, name) is not None
    ]
    if args.portfolio is not None:
        from liqwatch.portfolio import load_portfolio, load_tiers_file

        if position_flags:
            flags = ", ".join("--" + n.replace("_", "-") for n in position_flags)
            _fail(f"--portfolio: cannot be combined with position flags ({flags})")
        try:
            portfolio = load_portfolio(args.portfolio)
        except InputError as exc:
            _fail(str(exc) if exc.field == str(args.portfolio) else f"{args.portfolio}: {exc}")
        venue = get_venue(portfolio["exchange"])
        if args.exchange is not None and args.exchange != venue.name:
            _fail(f"--exchange: {args.exchange} differs from the portfolio's exchange {venue.name}")
        user_tables = load_tiers_file(args.tiers, venue) if args.tiers is not None else None
        specs = []
        tables = TableCache()  # identical tier lists build one table
        for i, pos in enumerate(portfolio["positions"]):
            try:
                req = PositionRequest(**pos)
                specs.append(
                    build_spec(venue, req, user_tables, f"positions[{i}].", table_cache=tables, validated=True)
                )
            except InputError as exc:
                _fail(f"{args.portfolio}: {exc}")
        try:
            check_account(specs, venue)
        except InputError as exc:
            _fail(f"{args.portfolio}: {exc}")
        wallet = portfolio["wallet_balance"]
    else:
        missing = [
            flag
            for flag, value in (
                ("--exchange", args.exchange),
                ("--symbol", args.symbol),
                ("--side", args.side),
                ("--size", args.size),
                ("--entry", args.entry),
            )
            if value is None
        ]
        if missing:
            _fail(f"{missing[0]}: required (or give --portfolio FILE)")
        venue = get_venue(args.exchange)
        if args.margin_mode == "cross" and args.wallet_balance is None:
            _fail("--wallet-balance: required for a cross-margin position")
        if args.wallet_balance is not None and not math.isfinite(args.wallet_balance):
            _fail(f"--wallet-balance: must be a finite number, got {args.wallet_balance:g}")
        if args.margin_mode == "cross" and args.margin is not None:
            _fail("--margin: only for isolated positions (cross positions use --wallet-balance)")
        user_tables = None
        if args.tiers is not None:
            from liqwatch.portfolio import load_tiers_file

            user_tables = load_tiers_file(args.tiers, venue)
        req = PositionRequest(
            symbol=args.symbol,
            side=args.side,
            size=args.size,
            entry_price=args.entry,
            leverage=args.leverage,
            margin_mode=args.margin_mode,
            position_side=args.position_side,
            isolated_margin=args.margin,
            mark_price=args.mark,
            mmr=args.mmr,
            maint_amount=args.maint_amount,
            max_leverage=args.max_leverage,
            fee_rate=args.fee_rate,
            adl_lights=args.adl_lights,
        )
        try:
            specs = [build_spec(venue, req, user_tables)]
        except InputError as exc:
            _fail(f"{_FLAG_FOR_FIELD.get(exc.field, exc.field)}: {exc.message}")
        wallet = args.wallet_balance or 0.0

    scenario = _scenario(args)
    try:
        if scenario is not None:
            from liqwatch.whatif_cli import run_scenario

            return run_scenario(args, scenario, venue, specs, wallet)
        if args.portfolio is not None and (args.symbol is not None or args.side is not None):
            _fail("--symbol: with --portfolio, --symbol/--side only select the position for a what-if scenario")
        risk = assess(venue, specs, wallet)
    except InputError as exc:  # e.g. a position or scenario past the end of its tier table
        if args.portfolio is not None:
            _fail(f"{args.portfolio}: {exc}")
        _fail(f"{_FLAG_FOR_FIELD.get(exc.field, exc.field)}: {exc.message}")
    if args.json:
        from liqwatch.output import portfolio_dict, write_json

        write_json(portfolio_dict(risk, venue), sys.stdout)
    else:
        from liqwatch.output import print_human

        print_human(risk, venue)
    return 0


def _dashboard(args: argparse.Namespace) -> int:
    if args.command == "demo":
        if not (args.speed > 0 and math.isfinite(args.speed)):
            _fail(f"--speed: must be > 0, got {args.speed:g}")
        from liqwatch.feeds.demo import DemoFeed

        feeds: list[Any] = [DemoFeed(seed=args.seed, speed=args.speed)]
        subtitle = "demo market (simulated)"
        alerts = None  # default rules, nothing persisted
    else:
        from liqwatch.config import load_config
        from liqwatch.feeds.live import VenueFeed

        warnings: list[str] = []
        config = load_config(args.config, warn=warnings)
        if not config.accounts:
            _fail("accounts: the config has no [[accounts]] (try `liqwatch demo`)")
        for text in warnings:
            sys.stderr.write(f"liqwatch: warning: {text}\n")
        feeds = [VenueFeed(account) for account in config.accounts]
        subtitle = ", ".join(a.name for a in config.accounts)

        def alerts() -> Any:
            from liqwatch.alerts.runner import AlertRunner
            from liqwatch.alerts.store import AlertStore

            return AlertRunner(config.alerts, config.channels, store=AlertStore())

    from liqwatch.tui.app import LiqwatchApp

    LiqwatchApp(feeds, subtitle=subtitle, alerts=alerts).run()
    return 0


_VALUE_FLAGS = ("--shock", "--add-margin", "--beta", "--add-size", "--target-distance", "--mark")


def _join_dash_values(argv: list[str]) -> list[str]:
    """Let ``--shock -30:0:5`` mean ``--shock=-30:0:5`` (argparse would read ``-30:0:5`` as a flag)."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in _VALUE_FLAGS and i + 1 < len(argv) and argv[i + 1].startswith("-") and argv[i + 1][1:2].isdigit():
            out.append(f"{arg}={argv[i + 1]}")
            i += 2
            continue
        out.append(arg)
        i += 1
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(_join_dash_values(list(sys.argv[1:] if argv is None else argv)))
    try:
        if args.command == "calc":
            from liqwatch.core.bulk import gc_paused

            with gc_paused():  # a large portfolio allocates a dict per field; nothing in it is cyclic
                return _calc(args)
        if args.command == "watch":
            from liqwatch.watch import main as watch_main

            return watch_main(args)
        if args.command == "alerts":
            return _alerts(args)
        if args.command in (None, "demo"):
            return _dashboard(args)
    except InputError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `liqwatch calc ... | head`: the reader left; not an error of ours
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # a bug must still end as one line, never a traceback
        _fail(f"internal error ({type(exc).__name__}: {exc}); please report it with the command you ran")
    parser.print_help()
    return EXIT_INPUT


if __name__ == "__main__":
    raise SystemExit(main())
