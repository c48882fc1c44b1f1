"""``liqwatch tiers``: ``update`` (download into the cache: :mod:`liqwatch.cli.tiers_update`),
``show`` (one symbol's brackets) and ``list`` (coverage per venue, bundled and cached).

``liqwatch calc`` never imports this module (the dispatcher defines these subcommands on first use):
the download engine brings asyncio and ccxt with it.

JSON keys (stable; see the README's ``liqwatch tiers`` section):

* ``show``: ``exchange``, ``symbol``, ``id``, ``origin`` (bundled / cache), ``source`` (detail),
  ``as_of``, ``age_days``, ``fetched_at``, ``complete``, ``basis`` (notional / contracts),
  ``contract_size``, ``boundary``, ``maint_amounts`` (published / derived / none), ``brackets``:
  ``[{index, floor, cap, mmr, maint_amount, max_leverage}]`` (floor and cap in the basis' unit:
  quote notional, or contracts; ``cap`` null = open).
* ``list``: ``cache_dir``, ``tables``: ``[{exchange, origin, symbols, oldest, newest, path}]``
  (oldest / newest: ``as_of`` of a bundled table, ``fetched_at`` of a cached one).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

from liqwatch.cli.common import EXIT_INPUT, CliParser

HELP = "tier tables: download them into the cache, show one, list coverage"
DESCRIPTION = "Tier tables: `update` downloads them into the cache, `show` prints one symbol's, `list` the coverage."


def add_tiers_commands(tiers: argparse.ArgumentParser) -> None:
    """The ``update``, ``show`` and ``list`` subcommands under the ``tiers`` parser."""
    from liqwatch.cli.tiers_update import add_update_parser
    from liqwatch.core.venues import VENUES

    tiers.set_defaults(tiers_help=tiers.print_help)
    sub = tiers.add_subparsers(dest="tiers_command", parser_class=CliParser)
    add_update_parser(sub)
    show = sub.add_parser(
        "show",
        help="one symbol's brackets, their source, date and age",
        description="Print the tier table liqwatch uses for a symbol (the fresher of the cached and bundled).",
    )
    show.add_argument("--exchange", required=True, choices=sorted(VENUES), metavar="X", help="the venue")
    show.add_argument("--symbol", required=True, metavar="S", help="BTC/USDT:USDT (ccxt unified) or the venue's id")
    show.add_argument("--json", action="store_true", help="machine-readable output")
    listing = sub.add_parser(
        "list",
        help="coverage per venue: bundled and cached tables, oldest and newest",
        description="Count the bundled and cached tier tables of each venue, with their oldest and newest dates.",
    )
    listing.add_argument("--exchange", choices=sorted(VENUES), metavar="X", help="only this venue")
    listing.add_argument("--json", action="store_true", help="machine-readable output")


def add_tiers_parser(sub: Any) -> argparse.ArgumentParser:
    """Register ``liqwatch tiers`` (with its subcommands) on a subparsers action."""
    tiers: argparse.ArgumentParser = sub.add_parser("tiers", help=HELP, description=DESCRIPTION)
    add_tiers_commands(tiers)
    return tiers


def run(args: argparse.Namespace) -> int:
    command = getattr(args, "tiers_command", None)
    if command == "update":
        from liqwatch.cli.tiers_update import run_update

        return run_update(args)
    if command == "show":
        return run_show(args)
    if command == "list":
        return run_list(args)
    args.tiers_help()
    return EXIT_INPUT


# ---------------------------------------------------------------- show


def _num(x: float) -> float | None:
    return None if math.isinf(x) or math.isnan(x) else x


OPEN_CAP = 1e15
"""A cap this large is a table's open end written as a number (Hyperliquid's last bracket: 1e15
USD, beyond any position): ``tiers show`` prints it as the open end, ∞ (``--json`` keeps the
number)."""


def _qty(x: float | None) -> str:
    """A bound or amount written out (never ``1e+15``); None (an open end) is ∞."""
    from liqwatch.numfmt import plain

    return "∞" if x is None else plain(x, 10)


def _cap(x: float | None) -> str:
    return "∞" if x is None or x >= OPEN_CAP else _qty(x)


def show_record(exchange: str, symbol: str) -> dict[str, Any]:
    """The ``tiers show --json`` document. Raises InputError for an unknown symbol (the one-line
    message says how to get its table)."""
    from liqwatch.core.venues import get_venue
    from liqwatch.markets import bundle, cached, find_market, resolve_table, stale_days

    venue = get_venue(exchange)
    unified, market = find_market(venue, symbol)
    if market is None:
        resolve_table(venue, unified, None)  # raises the "unknown symbol ... get it with" error
        raise AssertionError("unreachable")
    table = market.table
    contracts = table.basis == "quantity"
    scale = float(market.contract_size or 1.0) if contracts else 1.0
    holder = cached(venue) if market.origin == "cache" else bundle(venue)
    entry = holder.markets.entry(market.symbol.upper()) if holder is not None else None
    rows = entry.get("tiers", []) if entry else []
    if rows and all(r.get("maint_amount") is not None for r in rows):
        maint = "published"
    elif venue.derives_maint_amount:
        maint = "derived"
    else:
        maint = "none"
    return {
        "exchange": venue.name,
        "symbol": market.symbol,
        "id": market.id,
        "origin": market.origin,
        "source": table.source,
        "as_of": table.as_of,
        "age_days": stale_days(table),
        "fetched_at": market.fetched_at or None,
        "complete": table.complete,
        "basis": "contracts" if contracts else "notional",
        "contract_size": market.contract_size,
        "boundary": table.boundary,
        "maint_amounts": maint,
        "brackets": [
            {
                "index": t.index,
                "floor": t.floor / scale,
                "cap": _num(t.cap / scale),
                "mmr": t.mmr,
                "maint_amount": t.maint_amount,
                "max_leverage": t.max_leverage,
            }
            for t in table.tiers
        ],
    }


def run_show(args: argparse.Namespace) -> int:
    doc = show_record(args.exchange, args.symbol)
    if args.json:
        print(json.dumps(doc))
        return 0
    from liqwatch.output import _Term, render_table

    term = _Term(sys.stdout)
    age = doc["age_days"]
    unit = f"contracts of {_qty(doc['contract_size'])}" if doc["basis"] == "contracts" else "notional"
    term.line(f"{doc['symbol']} on {doc['exchange']} ({doc['id']})", "bold")
    term.line(f"  origin    {doc['origin']}")
    term.line(f"  source    {doc['source'] or '-'}")
    term.line(f"  as of     {doc['as_of'] or '-'}" + (f" ({age} days old)" if age is not None else ""))
    term.line(f"  complete  {'yes' if doc['complete'] else 'no (truncated: larger positions are not covered)'}")
    term.line(f"  basis     {unit}; maintenance amounts {doc['maint_amounts']}")
    rows = [
        [
            str(b["index"]),
            _qty(b["floor"]),
            _cap(b["cap"]),
            f"{_qty(round(b['mmr'] * 100, 10))}%",
            _qty(b["maint_amount"]),
            f"{_qty(b['max_leverage'])}x",
        ]
        for b in doc["brackets"]
    ]
    render_table(
        term,
        headers=["tier", "floor", "cap", "mmr", "maint amount", "max lev"],
        rows=rows,
        right=[True] * 6,
        styles=[None] * len(rows),
    )
    return 0


# ---------------------------------------------------------------- list


def _bundled_row(venue: str) -> dict[str, Any] | None:
    """Coverage of the venue's bundled snapshot, from its header and index (no symbol line read)."""
    from importlib import resources

    path = resources.files("liqwatch.data.tiers").joinpath(f"{venue}.json")
    if not path.is_file():
        return None
    header: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    default = str(header.get("as_of") or "")
    index = header.get("index") or {}
    inline = header.get("symbols") or {}
    dates = [default] * len(index) + [str(e.get("as_of") or default) for e in inline.values()]
    dates = [d for d in dates if d]
    return {
        "exchange": venue,
        "origin": "bundled",
        "symbols": len(index) + len(inline),
        "oldest": min(dates, default=None),
        "newest": max(dates, default=None),
        "path": str(path),
    }


def _cache_row(venue: str) -> dict[str, Any] | None:
    from liqwatch import tiercache

    data = tiercache.read_cache(venue)
    if data is None:
        return None
    symbols: dict[str, Any] = data["symbols"]
    dates = [str(e.get("fetched_at") or e.get("as_of") or "") for e in symbols.values()]
    dates = [d for d in dates if d]
    return {
        "exchange": venue,
        "origin": "cache",
        "symbols": len(symbols),
        "oldest": min(dates, default=None),
        "newest": max(dates, default=None),
        "path": str(tiercache.cache_path(venue)),
    }


def list_record(exchange: str | None = None) -> dict[str, Any]:
    """The ``tiers list --json`` document."""
    from liqwatch import tiercache
    from liqwatch.core.venues import VENUES

    tables: list[dict[str, Any]] = []
    for venue in [exchange] if exchange else list(VENUES):
        for row in (_bundled_row(venue), _cache_row(venue)):
            if row is not None:
                tables.append(row)
    return {"cache_dir": str(tiercache.cache_dir()), "tables": tables}


def run_list(args: argparse.Namespace) -> int:
    doc = list_record(args.exchange)
    if args.json:
        print(json.dumps(doc))
        return 0
    from liqwatch.output import _Term, render_table

    term = _Term(sys.stdout)

    def when(stamp: str | None) -> str:
        return stamp[:16].replace("T", " ") if stamp else "-"

    rows = [
        [t["exchange"], t["origin"], str(t["symbols"]), when(t["oldest"]), when(t["newest"])] for t in doc["tables"]
    ]
    render_table(
        term,
        headers=["exchange", "origin", "symbols", "oldest", "newest"],
        rows=rows,
        right=[False, False, True, False, False],
        styles=[None] * len(rows),
    )
    for t in doc["tables"]:
        term.line(f"{t['exchange']} {t['origin']}: {t['path']}")
    term.line(f"cache: {doc['cache_dir']} (refresh with `liqwatch tiers update`)")
    return 0


__all__ = ["add_tiers_commands", "add_tiers_parser", "list_record", "run", "show_record"]
