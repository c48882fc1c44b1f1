"""``liqwatch market``: the backstop and the market per venue (issue #13): insurance pools
(24 h / 7 d change, drawdown from the 8-hour max), ADL risk, and per symbol mark vs index and
funding. Public endpoints only, no keys; ``--demo`` is offline.

Every poll is recorded in the market history (:mod:`liqwatch.market.history`); Gate and OKX are
backfilled from their history endpoints. ccxt is imported only when a venue is read.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from liqwatch.core.errors import InputError
from liqwatch.numfmt import plain

if TYPE_CHECKING:
    from liqwatch.market.model import MarketReport

DEFAULT_SYMBOLS = ("BTC", "ETH")
EXIT_NO_DATA = 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--exchange",
        action="append",
        metavar="X",
        help="venue to read (repeatable; default: every venue, or the config's)",
    )
    parser.add_argument(
        "--symbol",
        action="append",
        metavar="S",
        help="symbol: BTC, BTCUSDT or BTC/USDT:USDT (repeatable; default BTC, ETH)",
    )
    parser.add_argument("--demo", action="store_true", help="the demo market at its crash trough (offline)")
    parser.add_argument("--json", action="store_true", help="one JSON document instead of the summary")
    parser.add_argument("--config", type=Path, dest="market_config", metavar="FILE", help="config file (its venues)")
    parser.add_argument("--rest-url", metavar="URL", help="send the REST calls to URL (a proxy; with one --exchange)")
    parser.add_argument("--seed", type=int, default=7, help=argparse.SUPPRESS)
    parser.add_argument("--no-history", action="store_true", help="do not read or write the market history")


def _exchanges(args: argparse.Namespace) -> list[str]:
    from liqwatch.venues import find_home, names

    chosen = list(args.exchange or [])
    if not chosen and args.market_config is not None:
        from liqwatch.config import load_config

        chosen = list(dict.fromkeys(a.exchange for a in load_config(args.market_config).accounts))
    out: list[str] = []
    for name in chosen or list(names()):
        home = find_home(name)
        if home is None:
            raise InputError("--exchange", f"unknown venue {name!r} (one of {', '.join(names())})")
        if home.name not in out:
            out.append(home.name)
    if args.rest_url and len(out) != 1:
        raise InputError("--rest-url", "needs exactly one --exchange")
    return out


async def _read_live(args: argparse.Namespace, warnings: list[str]) -> list[MarketReport]:
    import asyncio

    from liqwatch.market.client import MarketClient
    from liqwatch.market.service import backfill, enrich

    history = None
    if not args.no_history:
        from liqwatch.market.history import History

        try:
            history = History(warn=warnings)
        except (OSError, ValueError) as exc:
            warnings.append(f"market history unavailable ({exc}); changes and drawdowns are not computed")
    symbols = list(args.symbol or DEFAULT_SYMBOLS)
    clients = []
    for name in _exchanges(args):
        try:
            clients.append(MarketClient(name, args.rest_url))
        except KeyError as exc:
            warnings.append(str(exc.args[0]))

    async def one(client: MarketClient) -> MarketReport:
        try:
            try:
                await client.open()
            except Exception:  # read() reports it as one line
                return await client.read(symbols)
            if history is not None and client.adapter.backfill:
                _, problems = await backfill(history, client, symbols)
                warnings.extend(problems)
            return enrich(history, await client.read(symbols))
        finally:
            await client.close()

    try:
        return list(await asyncio.gather(*(one(c) for c in clients)))
    finally:
        if history is not None:
            history.close()


def _pct(x: float | None, signed: bool = True) -> str:
    if x is None:
        return "—"
    return f"{x * 100:+.2f}%" if signed else f"{x * 100:.2f}%"


def _money(x: float | None) -> str:
    if x is None:
        return "—"
    for div, unit in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return f"${x / div:,.2f}{unit}"
    return f"${x:,.2f}"


def _time(ts: float | None) -> str:
    if ts is None:
        return "—"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


def render(reports: list[MarketReport], out: TextIO) -> None:
    for r in reports:
        if not (r.insurance or r.adl_risk or r.symbols or r.notes):
            continue  # nothing read: its problem is the one line on stderr
        out.write(f"{r.exchange}\n")
        if r.insurance:
            out.write("  insurance\n")
            for p in r.insurance:
                kind = " (vault, not an insurance fund)" if p.kind == "vault" else ""
                member = ""
                if p.shared is not None:
                    member = f"  {'shared' if p.shared else 'isolated'}, {len(p.symbols)} symbol(s)"
                out.write(
                    f"    {p.pool}{kind}: {p.balance:,.2f} {p.asset} ({_money(p.balance_usd)})"
                    f"  24h {_pct(p.change_24h)}  7d {_pct(p.change_7d)}"
                    f"  drawdown from 8h max {_pct(p.drawdown_8h, signed=False)}{member}\n"
                    f"      {p.source}, as of {_time(p.as_of)}\n"
                )
        if r.adl_risk:
            out.write("  ADL\n")
            for a in r.adl_risk:
                out.write(f"    {a.symbol}: {a.level} — {a.detail}\n      {a.source}, as of {_time(a.as_of)}\n")
        if r.symbols:
            out.write("  mark vs index, funding\n")
            for s in r.symbols:
                interval = f"/{plain(s.funding_interval_h)}h" if s.funding_interval_h else ""
                mark = "—" if s.mark_price is None else f"{plain(s.mark_price)}"
                index = "—" if s.index_price is None else f"{plain(s.index_price)}"
                out.write(
                    f"    {s.symbol}: mark {mark}  index {index}  divergence {_pct(s.divergence)}"
                    f"  funding {_pct(s.funding_rate)}{interval}  next {_time(s.next_funding_time)}\n"
                )
        for note in r.notes:
            out.write(f"  note: {note}\n")
        # problems: one line each on stderr (run), not repeated here


def run(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    warnings: list[str] = []
    if args.demo:
        from liqwatch.market.demo import trough_reports

        reports = trough_reports(args.seed, time.time())
        if args.exchange:
            wanted = set(_exchanges(args))
            reports = [r for r in reports if r.exchange in wanted]
        if args.symbol:
            keep = {s.upper() for s in args.symbol}
            for r in reports:
                r.symbols = [s for s in r.symbols if s.symbol.upper() in keep or s.symbol.split("/")[0].upper() in keep]
    else:
        import asyncio

        reports = asyncio.run(_read_live(args, warnings))
    for text in warnings:
        err.write(f"liqwatch market: warning: {text}\n")
    if args.json:
        doc = {"ts": time.time(), "demo": bool(args.demo), "markets": [r.full_record() for r in reports]}
        out.write(json.dumps(doc, allow_nan=False, separators=(",", ":")) + "\n")
    else:
        if args.demo:
            out.write("demo market at the crash trough (simulated; no network)\n")
        render(reports, out)
    from liqwatch.feeds.ccxt_client import merge_unreachable

    for problem in merge_unreachable([problem for r in reports for problem in r.problems]):
        err.write(f"liqwatch market: {problem}\n")
    got = any(r.insurance or r.adl_risk or r.symbols for r in reports)
    return 0 if got else EXIT_NO_DATA
