"""``liqwatch calc``: one position (flags) or a portfolio file, plain or with one what-if scenario.

Kept deliberately light: it imports the pure core, argparse and orjson (pydantic only for portfolio
and tier files) and never ccxt, Textual or websockets. Every bad input ends as one line on stderr
naming the field, with exit code 2.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from liqwatch.cli.common import FLAG_FOR_FIELD, chosen_scenario, done, fail
from liqwatch.core.errors import InputError
from liqwatch.core.numfmt import typed
from liqwatch.percent import fraction_arg
from liqwatch.scenarios import SCENARIOS

if TYPE_CHECKING:
    from liqwatch.core.engine import Wallet
    from liqwatch.core.model import PositionSpec
    from liqwatch.core.venues import Venue
    from liqwatch.records import RecordExtras


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """The ``calc`` subcommand on ``sub`` (an argparse subparsers action)."""
    from liqwatch.core.venues import VENUES

    calc: argparse.ArgumentParser = sub.add_parser(
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
    src.add_argument(
        "--size",
        type=float,
        help="position size in base units (e.g. BTC); a coin-margined market's in USD (face value)",
    )
    src.add_argument("--contracts", type=float, metavar="N", help="position size in contracts (instead of --size)")
    src.add_argument(
        "--contract-size",
        type=float,
        metavar="X",
        help="base units (coin-margined: USD) per contract; overrides the bundled contract size",
    )
    src.add_argument("--entry", type=float, help="average entry price")
    src.add_argument("--leverage", type=float, help="position leverage")
    src.add_argument(
        "--margin-mode",
        choices=["isolated", "cross"],
        default=None,
        help="default isolated (cross with --account-mode multi_assets)",
    )
    src.add_argument(
        "--position-side", choices=["both", "long", "short"], default="both", help="hedge-mode leg (default both)"
    )
    src.add_argument(
        "--margin",
        type=float,
        help="isolated margin posted in the settle currency, excluding PnL (default size x entry / leverage; "
        "coin-margined: size / (entry x leverage) coins)",
    )
    src.add_argument(
        "--wallet-balance", type=float, help="cross collateral in the settle currency (coin-margined: the coin)"
    )
    src.add_argument("--mark", type=float, help="mark price (default: entry)")
    src.add_argument(
        "--account-mode",
        choices=["single", "multi_assets", "portfolio"],
        help="single (default): one collateral currency per pool (--wallet-balance); multi_assets: the "
        "--collateral assets, each at its ratio, are the wallet; portfolio: refused (venue risk scenarios)",
    )
    src.add_argument(
        "--collateral",
        action="append",
        metavar="ASSET=AMOUNT[@PRICE]",
        help="a collateral balance (negative: borrowed) at its USD index price (default: the mark of the "
        "position on that base), e.g. BTC=0.5@60000 (repeatable; with --account-mode multi_assets)",
    )
    src.add_argument(
        "--collateral-ratio",
        action="append",
        metavar="ASSET=R",
        help="the asset's collateral value ratio, e.g. BTC=0.95 or BTC=95%% (repeatable; one per --collateral)",
    )
    src.add_argument(
        "--funding-rate",
        type=fraction_arg,
        metavar="R",
        help="funding rate per payment, e.g. 0.0001 or 0.01%%: adds the position's funding and its "
        "liquidation price after 1, 2, 3 payments (portfolio files: funding_rate per position)",
    )
    src.add_argument(
        "--next-funding-time",
        metavar="T",
        help="when the next payment is due: epoch milliseconds or ISO 8601 (UTC unless an offset is given)",
    )
    ovr = calc.add_argument_group("overrides (take precedence over the bundled tiers)")
    ovr.add_argument("--mmr", type=fraction_arg, help="maintenance margin rate, e.g. 0.005 or 0.5%% (pins one bracket)")
    ovr.add_argument("--maint-amount", type=float, help="maintenance amount / MM deduction (Binance cum)")
    ovr.add_argument("--max-leverage", type=float, help="the bracket's max leverage (Hyperliquid: MMR = 1/2L)")
    ovr.add_argument(
        "--fee-rate",
        type=fraction_arg,
        help="liquidation fee rate counted at liquidation, e.g. 0.005 or 0.5%% (venue default)",
    )
    ovr.add_argument("--adl-lights", type=int, help="the venue's own ADL light level, 0-5")
    wi = calc.add_argument_group(
        "what-if (one scenario per run; with --portfolio it applies to the position named by --symbol, "
        "and --side in hedge mode, or to every position for --shock / --target-margin-ratio)"
    )
    for scenario in SCENARIOS.values():
        for param in scenario.params:
            wi.add_argument(param.flag, **param.options)
    wi.add_argument(
        "--collateral-shock",
        action="append",
        metavar="ASSET=PCT",
        help="move a collateral asset's price by PCT percent, -35 or -35%% (a depeg; repeatable; "
        "multi_assets accounts)",
    )
    calc.add_argument(
        "--offline",
        action="store_true",
        help="never fetch a missing or stale tier table from the venue (also LIQWATCH_OFFLINE=1)",
    )
    calc.add_argument("--json", action="store_true", help="machine-readable output")
    return calc


_POSITION_FLAGS = (
    "size",
    "contracts",
    "contract_size",
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
    "funding_rate",
    "next_funding_time",
)


def run(args: argparse.Namespace) -> int:
    from liqwatch.core.engine import assess, check_account
    from liqwatch.core.venues import get_venue
    from liqwatch.request import PositionRequest, TableCache, account_wallet, build_spec

    position_flags = [name for name in _POSITION_FLAGS if getattr(args, name) is not None]
    account_flags = [n for n in ("account_mode", "collateral", "collateral_ratio") if getattr(args, n) is not None]
    mode = "single"
    collateral_rows: Any = None
    notes: list[InputError] = []  # inputs used with a word (a margin below the leverage's, within reason)
    warnings: list[str] = []  # printed on stderr after the answer
    if args.portfolio is not None:
        from liqwatch.markets import sources
        from liqwatch.portfolio import load_requests, load_tiers_file

        if position_flags or account_flags:
            flags = ", ".join("--" + n.replace("_", "-") for n in position_flags + account_flags)
            fail(f"--portfolio: cannot be combined with position flags ({flags}); a file sets account_mode, collateral")
        try:
            portfolio = load_requests(args.portfolio)
        except InputError as exc:
            fail(str(exc) if exc.field == str(args.portfolio) else f"{args.portfolio}: {exc}")
        mode, collateral_rows = portfolio.account_mode, portfolio.collateral
        if mode == "portfolio":
            from liqwatch.collateral_calc import PORTFOLIO_REFUSAL

            fail(f"{args.portfolio}: account_mode: {PORTFOLIO_REFUSAL}")
        venue = get_venue(portfolio.exchange)
        if args.exchange is not None and args.exchange != venue.name:
            fail(f"--exchange: {args.exchange} differs from the portfolio's exchange {venue.name}")
        user_tables = load_tiers_file(args.tiers, venue) if args.tiers is not None else None
        specs = []
        tables = TableCache()  # identical tier lists build one table
        known = sources(venue)  # the bundled and cached tables, looked at once for every position
        requests = portfolio.positions
        kept = fetch_tables(args, venue, (r.symbol for r in requests if _needs_table(venue, r)), user_tables, known)
        if kept is not None:
            known = sources(venue)  # with what was fetched
        try:  # the field's path is only formatted for an error: this loop runs once per position
            for req in requests:
                specs.append(build_spec(venue, req, user_tables, "", tables, validated=True, known=known, notes=notes))
                if notes:
                    warnings.append(f"positions[{len(specs) - 1}].{notes.pop()}")
        except InputError as exc:
            fail(f"{args.portfolio}: positions[{len(specs)}].{exc}")  # the position whose spec failed
        if len(warnings) > 3:
            warnings[:] = [f"{warnings[0]} (and {len(warnings) - 1} more positions like it)"]
        warnings[:] = [f"warning: {args.portfolio}: {line}" for line in warnings]
        rates: list[float | None] = [req.funding_rate for req in requests]
        times: list[int | str | None] = [req.next_funding_time for req in requests]
        try:
            check_account(specs, venue)
            wallet = account_wallet(venue, specs, portfolio.wallet_balance) if mode == "single" else 0.0
        except InputError as exc:
            fail(f"{args.portfolio}: {exc}")
        del portfolio, requests  # the parsed document: its memory is reused by what the maths builds next
    else:
        missing = [
            flag
            for flag, value in (
                ("--exchange", args.exchange),
                ("--symbol", args.symbol),
                ("--side", args.side),
                ("--size", args.size if args.contracts is None else args.contracts),
                ("--entry", args.entry),
            )
            if value is None
        ]
        if missing:
            alternative = " or --contracts N" if missing[0] == "--size" else ""
            fail(f"{missing[0]}: required{alternative} (or give --portfolio FILE)")
        if args.size is not None and args.contracts is not None:
            fail("--contracts: give --size or --contracts, not both")
        venue = get_venue(args.exchange)
        mode = args.account_mode or "single"
        if mode == "portfolio":
            from liqwatch.collateral_calc import PORTFOLIO_REFUSAL

            fail(f"--account-mode: {PORTFOLIO_REFUSAL}")
        if mode == "single":
            if args.collateral is not None or args.collateral_ratio is not None:
                flag = "--collateral" if args.collateral is not None else "--collateral-ratio"
                fail(f"{flag}: only with --account-mode multi_assets (a single account uses --wallet-balance)")
            args.margin_mode = args.margin_mode or "isolated"
        else:
            if args.wallet_balance is not None:
                fail(
                    f"--wallet-balance: not with --account-mode {mode}: the --collateral list is the wallet "
                    "(e.g. --collateral USDT=25000@1 --collateral-ratio USDT=1)"
                )
            if args.collateral is None:
                fail(f"--collateral: required with --account-mode {mode} (ASSET=AMOUNT[@PRICE], repeatable)")
            args.margin_mode = args.margin_mode or "cross"
            from liqwatch.collateral_calc import parse_collateral_flags

            try:
                collateral_rows = parse_collateral_flags(args.collateral, args.collateral_ratio or ())
            except InputError as exc:
                fail(f"{exc.field}: {exc.message}")
        if args.margin_mode == "cross" and args.wallet_balance is None and mode == "single":
            fail("--wallet-balance: required for a cross-margin position")
        if args.wallet_balance is not None and not math.isfinite(args.wallet_balance):
            fail(f"--wallet-balance: must be a finite number, got {typed(args.wallet_balance)}")
        if args.margin_mode == "cross" and args.margin is not None:
            fail("--margin: only for isolated positions (cross positions use --wallet-balance)")
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
            contracts=args.contracts,
            contract_size=args.contract_size,
        )  # funding_rate / next_funding_time: checked by funding_extras
        kept = fetch_tables(args, venue, [req.symbol] if _needs_table(venue, req) else [], user_tables)
        try:
            specs = [build_spec(venue, req, user_tables, notes=notes, flags=True)]
        except InputError as exc:
            fail(f"{FLAG_FOR_FIELD.get(exc.field, exc.field)}: {exc.message}")
        warnings += [f"warning: {FLAG_FOR_FIELD.get(n.field, n.field)}: {n.message}" for n in notes]
        wallet = account_wallet(venue, specs, args.wallet_balance or 0.0)
        rates = [args.funding_rate]
        times = [args.next_funding_time]

    if mode != "single":
        from liqwatch.cli.calc_multi import run_multi

        check_funding(args, rates, times)  # validated, as for a single account; the drift is not computed
        warnings += run_multi(args, venue, specs, collateral_rows, mode, rates)
        warn(specs, warnings, kept or set())
        return done(0)
    if args.collateral_shock is not None:
        fail(
            "--collateral-shock: only for a multi-collateral account (--account-mode multi_assets, or "
            'account_mode = "multi_assets" in the portfolio file)'
        )
    scenario = chosen_scenario(args)
    extras = funding_extras(args, venue, specs, wallet, rates, times)
    risk = None
    try:
        if scenario is not None:
            from liqwatch.cli.whatif import run_scenario

            warnings += run_scenario(args, scenario, venue, specs, wallet, extras=extras, rates=rates)
        else:
            if args.portfolio is not None and (args.symbol is not None or args.side is not None):
                fail("--symbol: with --portfolio, --symbol/--side only select the position for a what-if scenario")
            risk = assess(venue, specs, wallet)
    except InputError as exc:  # e.g. a position or scenario past the end of its tier table
        if args.portfolio is not None:
            fail(f"{args.portfolio}: {exc}")
        fail(f"{FLAG_FOR_FIELD.get(exc.field, exc.field)}: {exc.message}")
    if risk is not None:
        if args.json:
            from liqwatch.output import write_portfolio

            write_portfolio(risk, venue, sys.stdout, extras=extras)
        else:
            from liqwatch.output import print_human

            print_human(risk, venue, extras=extras, overrides=overrides_label(args))
    warn(specs, warnings, kept or set())  # after the answer, plain or what-if (a refused input: one line on stderr)
    return done(0)  # with the answer's objects still held: the console script skips freeing them


def check_funding(
    args: argparse.Namespace, rates: list[float | None], times: list[int | str | None]
) -> list[float | None]:
    """Each position's funding rate and next time checked (one line and exit 2 for a bad one); the
    times parsed."""
    from liqwatch.request import check_funding_rate, parse_funding_time

    parsed: list[float | None] = []
    for i, (rate, time) in enumerate(zip(rates, times, strict=True)):
        try:
            check_funding_rate(rate)
            parsed.append(parse_funding_time(time))
        except InputError as exc:
            if args.portfolio is not None:
                fail(f"{args.portfolio}: positions[{i}].{exc.field}: {exc.message}")
            fail(f"--{exc.field.replace('_', '-')}: {exc.message}")
    return parsed


def funding_extras(
    args: argparse.Namespace,
    venue: Venue,
    specs: Sequence[PositionSpec],
    wallet: Wallet,
    rates: list[float | None],
    times: list[int | str | None],
) -> RecordExtras:
    """The run's funding (issue #13): each position's payment and liquidation price after 1, 2 and
    3 payments, where a rate is given; nothing is computed when none is. Exits with one line for a
    bad rate or time."""
    from liqwatch.records import RecordExtras

    if rates.count(None) == len(rates) and times.count(None) == len(times):  # no funding given
        return RecordExtras()
    parsed = check_funding(args, rates, times)
    if all(r is None for r in rates):
        return RecordExtras(next_funding_time=parsed)
    from liqwatch.core.funding import liquidation_prices_after

    try:
        drifts = liquidation_prices_after(venue, specs, wallet, rates, 3)
    except InputError as exc:  # a drifted liquidation price past an incomplete tier table
        return RecordExtras(next_funding_time=parsed, funding_note=f"the funding drift cannot be priced: {exc}")
    return RecordExtras(funding=drifts, next_funding_time=parsed)


def warn(specs: Sequence[PositionSpec], warnings: Sequence[str] = (), said: set[str] | None = None) -> None:
    """The warnings of a calc run, on stderr (never on stdout, so the JSON is unchanged), after its
    answer: one line per bundled or cached tier table older than 30 days, except for the symbols in
    ``said`` (their failed refresh already said it), then ``warnings`` (the inputs' and the what-if
    scenario's). Every run that answered comes here: plain or what-if, flags or portfolio."""
    from liqwatch.markets import stale_warnings

    stale = stale_warnings((s.symbol, s.tiers) for s in specs if not said or s.symbol not in said)
    for line in [*stale, *warnings]:
        print(f"liqwatch: {line}", file=sys.stderr)


def _needs_table(venue: Venue, req: Any) -> bool:
    """Whether the position's maths needs a tier table (no override pins its bracket, it has no
    table of its own; ``--tiers FILE`` is looked at by :func:`fetch_tables`)."""
    if req.mmr is not None or getattr(req, "tiers", None):
        return False
    return req.max_leverage is None or venue.derive_mmr(req.max_leverage) is None


def fetch_tables(
    args: argparse.Namespace, venue: Venue, symbols: Iterable[str], user_tables: Any, known: Any = None
) -> set[str] | None:
    """Fetch the missing or stale tier tables of ``symbols`` from the venue into the cache, with one
    line each on stderr (:mod:`liqwatch.tierfetch`); nothing when offline or none is needed (a
    symbol ``--tiers FILE`` gives a table is not fetched). Exits
    with one line when a missing table cannot be had. Returns None when nothing was fetched, else
    the symbols whose stale table stays (their line said so)."""
    from liqwatch import tierfetch

    if not venue.public_tiers or tierfetch.offline(args.offline):
        return None
    needed = tierfetch.wanted(venue, symbols, known, given=user_tables or {})
    if not needed:
        return None
    try:
        outcome = tierfetch.fetch(venue, needed)
    except InputError as exc:
        fail(f"{args.portfolio}: {exc}" if args.portfolio is not None else f"--symbol: {exc.message}")
    for line in outcome.lines:
        print(line, file=sys.stderr)
    return outcome.kept


def overrides_label(args: argparse.Namespace) -> str:
    """Where a bracket pinned by the user came from, as the card's "Tiers from" says it: the flags
    with their values (``--mmr 0.005``) or the portfolio file's fields."""
    if args.portfolio is not None:
        return "the portfolio file's mmr / maint_amount / max_leverage (one bracket at every size)"
    from liqwatch.numfmt import plain

    given = [
        f"--{name.replace('_', '-')} {plain(value, 10)}"
        for name in ("mmr", "maint_amount", "max_leverage")
        if (value := getattr(args, name)) is not None
    ]
    return f"{', '.join(given)} (one bracket at every size)" if given else ""
