"""``liqwatch`` command line.

Kept deliberately light: ``liqwatch calc`` imports the pure core, argparse and json (rich only for
the human table, pydantic only for portfolio and tier files) and never ccxt, Textual or websockets.
Every bad input ends as one line on stderr naming the field, with exit code 2.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

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
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

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
    calc.add_argument("--json", action="store_true", help="machine-readable output")
    return parser


def _calc(args: argparse.Namespace) -> int:
    from liqwatch.core.engine import assess
    from liqwatch.core.venues import get_venue
    from liqwatch.request import PositionRequest, build_spec

    position_flags = [
        name
        for name in (
            "symbol",
            "side",
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
            _fail(f"{args.portfolio}: {exc}")
        venue = get_venue(portfolio.exchange)
        if args.exchange is not None and args.exchange != venue.name:
            _fail(f"--exchange: {args.exchange} differs from the portfolio's exchange {venue.name}")
        user_tables = load_tiers_file(args.tiers, venue) if args.tiers is not None else None
        specs = []
        for i, pos in enumerate(portfolio.positions):
            try:
                specs.append(build_spec(venue, pos.request(), user_tables, field_prefix=f"positions[{i}]."))
            except InputError as exc:
                _fail(f"{args.portfolio}: {exc}")
        wallet = portfolio.wallet_balance
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

    risk = assess(venue, specs, wallet)
    if args.json:
        from liqwatch.output import portfolio_dict

        sys.stdout.write(json.dumps(portfolio_dict(risk, venue), allow_nan=False) + "\n")
    else:
        from liqwatch.output import print_human

        print_human(risk, venue)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        if args.command == "calc":
            return _calc(args)
    except InputError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug must still end as one line, never a traceback
        _fail(f"internal error ({type(exc).__name__}: {exc}); please report it with the command you ran")
    parser.print_help()
    return EXIT_INPUT


if __name__ == "__main__":
    raise SystemExit(main())
