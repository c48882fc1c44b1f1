"""``liqwatch calc``'s fetch of a missing or stale tier table (issue #20).

Outside Binance and Hyperliquid the bundle holds a few symbols per venue, some of them old. When
the table calc needs is missing, or older than :data:`liqwatch.markets.STALE_DAYS` days, calc
fetches that symbol's table from the venue's public endpoint (no keys: Bybit, OKX, Gate, Bitget,
Hyperliquid) into the tier cache, through the same download and parser as ``liqwatch tiers update``
(:func:`liqwatch.tiers_update.download_venue`), and says so in one line on stderr. Binance's
brackets need an account's keys and Deribit has no tables: calc never fetches those.

Off with ``--offline`` or ``LIQWATCH_OFFLINE=1`` (nothing is sent: a missing table is refused
naming ``liqwatch tiers update``, a stale one is used with its warning). ``LIQWATCH_<VENUE>_REST_URL``
(e.g. ``LIQWATCH_BYBIT_REST_URL``) sends the request to another host (a proxy, a test server).

This module is imported by ``liqwatch calc``: standard library and :mod:`liqwatch.markets` only;
ccxt, aiohttp and asyncio are imported only when a table is actually fetched.
"""

from __future__ import annotations

import os
from collections.abc import Container, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from liqwatch.core.errors import InputError
from liqwatch.markets import STALE_DAYS, Sources, find_market, is_inverse_symbol, sources, stale_days

if TYPE_CHECKING:
    from liqwatch.core.venues import Venue
    from liqwatch.markets import Market

OFFLINE_ENV = "LIQWATCH_OFFLINE"
REQUEST_SECONDS = 4.0
"""ccxt's timeout of one request."""
FETCH_SECONDS = 10.0
"""The whole fetch (markets, then the table), retries included, at most."""


def rest_url_env(venue: str) -> str:
    """``LIQWATCH_<VENUE>_REST_URL``: the environment variable that points calc's fetch elsewhere."""
    return f"LIQWATCH_{venue.upper()}_REST_URL"


def offline(flag: bool = False) -> bool:
    """True when calc must not fetch: ``--offline`` or ``LIQWATCH_OFFLINE`` set (to anything but 0)."""
    return flag or os.environ.get(OFFLINE_ENV, "").strip() not in ("", "0")


def update_command(venue: str, symbol: str) -> str:
    return f"`liqwatch tiers update --exchange {venue} --symbol {symbol}`"


@dataclass(slots=True)
class Wanted:
    symbol: str
    """The unified symbol."""
    market: Market | None
    """The bundled or cached market calc has now (None: none)."""
    age: int | None = None
    """Days since the table's date, for a stale one."""


@dataclass(slots=True)
class Outcome:
    """What a fetch did: ``lines`` for stderr (one per symbol), ``kept``: stale tables that could
    not be refreshed (their line already said so: no second stale warning)."""

    lines: list[str] = field(default_factory=list)
    kept: set[str] = field(default_factory=set)


def wanted(
    venue: Venue, names: Iterable[str], known: Sources | None = None, *, given: Container[str] = ()
) -> list[Wanted]:
    """The symbols of ``names`` whose bundled or cached table is missing or stale, on a venue calc
    can fetch from ([] elsewhere), but those in ``given`` (upper-case unified symbols the user's
    tiers file has a table for). Unreadable symbols are left to the caller's own refusal."""
    if not venue.public_tiers:
        return []
    tables = known if known is not None else sources(venue)
    out: list[Wanted] = []
    seen: set[str] = set()
    for name in names:
        try:
            symbol, market = find_market(venue, name, tables, inverse=True)
        except InputError:
            continue
        if symbol in seen or symbol.upper() in given:
            continue
        seen.add(symbol)
        if market is None:
            out.append(Wanted(symbol, None))
            continue
        age = stale_days(market.table)
        if age is not None and age > STALE_DAYS:
            out.append(Wanted(symbol, market, age))
    return out


def fetch(venue: Venue, needed: list[Wanted]) -> Outcome:
    """Fetch the tables of ``needed`` (one venue) into the cache. Raises InputError (field
    ``symbol``) when a missing table could not be had: what failed, why and what to do, in one
    line. A stale table that could not be refreshed stays, with one warning line."""
    import asyncio

    from liqwatch.feeds.ccxt_client import classify, explain
    from liqwatch.tiers_update import NOT_LISTED, Retry, VenueResult, download_venue, save
    from liqwatch.venues import get_home

    name = venue.name
    rest_url = os.environ.get(rest_url_env(name), "").strip() or None
    host = rest_url or get_home(name).rest.public_host
    symbols = [w.symbol for w in needed]

    async def run() -> VenueResult:
        return await asyncio.wait_for(
            download_venue(
                name,
                symbols=symbols,
                rest_url=rest_url,
                retry=Retry(attempts=2, base=0.25, cap=1.0),
                timeout=REQUEST_SECONDS,
                linear_only=not any(is_inverse_symbol(s) for s in symbols),
            ),
            FETCH_SECONDS,
        )

    error: BaseException | None = None
    unsaved = ""
    try:
        result = asyncio.run(run())
    except TimeoutError as exc:
        result, error = VenueResult(name), exc
    else:
        error = result.error
        try:
            save(result)
        except OSError as exc:  # fetched, but calc reads its tables from the cache
            why = exc.strerror or str(exc)
            unsaved = f"the tier cache cannot be written ({why}): set LIQWATCH_CACHE_DIR to a writable directory"
            result.symbols = {}
    outcome = Outcome()
    for want in needed:
        symbol = want.symbol
        if symbol in result.symbols:
            had = (
                "none was bundled or cached"
                if want.market is None
                else f"the {want.market.origin} one was {want.age} days old"
            )
            outcome.lines.append(
                f"liqwatch: fetched the {name} tier table of {symbol} from {host} into the cache ({had})"
            )
            continue
        todo = update_command(name, symbol)
        if unsaved:
            reason = unsaved
        elif error is not None:
            when = "once online" if classify(error).network else "later"
            advice = f"run {todo} {when}, or give --mmr / --max-leverage or --tiers FILE"
            if want.market is not None:
                advice = f"computed with the {want.market.origin} table of {want.market.table.as_of}"
            reason = explain(name, error, host=host, offline=advice).removeprefix(f"{name}: ")
            if advice not in reason:  # the venue answered: its own words, then the way out here
                reason = f"{reason.removesuffix('; try again later')}; {advice}"
        else:
            why = result.failures.get(symbol) or result.failures.get("*") or "the venue sent no table"
            if why == NOT_LISTED:
                why = f"{symbol} is not a {name} perpetual"
            advice = (
                f"give --mmr / --max-leverage or --tiers FILE, or try {todo} later"
                if want.market is None
                else f"computed with the {want.market.origin} table of {want.market.table.as_of}"
            )
            reason = f"{why}: {advice}"
        if want.market is None:
            missing = f"no bundled or cached {name} tier table for {symbol}"
            raise InputError("symbol", f"{missing}; fetching it failed: {reason}")
        outcome.kept.add(symbol)
        outcome.lines.append(
            f"liqwatch: warning: the {name} tier table of {symbol} is {want.age} days old and could not be "
            f"refreshed: {reason}"
        )
    return outcome


__all__ = ["OFFLINE_ENV", "Outcome", "Wanted", "fetch", "offline", "rest_url_env", "wanted"]
