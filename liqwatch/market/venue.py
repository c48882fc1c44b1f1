"""The base of every venue's market adapter (``liqwatch/venues/<venue>/market.py``): which public
endpoints give its insurance pools, ADL signal, and mark / index / funding, and what each field
means. ccxt has no type stubs: the exchange object is ``Any``; everything returned is a validated
model from :mod:`liqwatch.market.model`.

Every endpoint is read on its own: one that fails, or a row with a missing or malformed field,
adds one line to ``problems`` (naming the endpoint and field) and the rest is kept.
Read-only: public GET endpoints (and Hyperliquid's ``POST /info``) only.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, TypeVar

from pydantic import ValidationError

from liqwatch.feeds.parse import as_dict, num

T = TypeVar("T")

Problems = list[str]
HistoryRow = tuple[str, str, float, float]
"""(pool, asset, ts seconds, balance) from a venue's history endpoint."""


def one_line(exc: BaseException) -> str:
    """A short reason for a failed call or a bad row (no URL, no query)."""
    from liqwatch.feeds.ccxt_client import failure_reason

    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err.get("loc", ())) or "row"
        return f"{where}: {err.get('msg', 'invalid')}"
    if isinstance(exc, ValueError | KeyError | TypeError):
        return str(exc) or type(exc).__name__
    return failure_reason(exc)


async def guarded(problems: Problems, what: str, call: Callable[[], Awaitable[T]]) -> T | None:
    """``await call()``; on any failure one line in ``problems`` and None."""
    try:
        return await call()
    except Exception as exc:  # one endpoint failing must not lose the others
        problems.append(f"{what}: {one_line(exc)}")
        return None


def need(row: dict[str, Any], field: str, where: str) -> float:
    """A required numeric field of a payload row, or ValueError naming it."""
    value = num(row.get(field))
    if value is None:
        shown = "missing" if field not in row else f"not a number ({row.get(field)!r})"
        raise ValueError(f"{where}: field {field!r} {shown}")
    return value


def mark_and_index(
    row: dict[str, Any], mark_field: str, index_field: str, where: str, symbol: str, problems: Problems
) -> tuple[float | None, float | None]:
    """A ticker row's mark and index prices; each one missing or not a number is one line in
    ``problems`` (naming the endpoint, the symbol and the field) and None, the rest is kept."""
    mark, index = num(row.get(mark_field)), num(row.get(index_field))
    for field, value in ((mark_field, mark), (index_field, index)):
        if value is None:
            problems.append(f"{where}: {symbol}: field {field!r} missing or not a number")
    return mark, index


def ms(value: object) -> float | None:
    f = num(value)
    return f / 1000.0 if f is not None and f > 0 else None


def unified(ex: Any, venue_id: str) -> str:
    """The unified symbol of a venue id where ccxt loaded the market, else the id."""
    found = as_dict(getattr(ex, "markets_by_id", None) or {}).get(venue_id)
    if isinstance(found, list) and found:
        found = found[0]
    symbol = as_dict(found).get("symbol")
    return symbol if isinstance(symbol, str) else venue_id


def market_id(ex: Any, symbol: str) -> str:
    return str(as_dict(ex.markets.get(symbol)).get("id") or symbol)


class VenueMarket:
    """What differs between venues. ``symbols`` arguments are unified symbols ccxt has loaded."""

    name: ClassVar[str]
    insurance_endpoint: ClassVar[str] = ""
    adl_endpoint: ClassVar[str] = ""
    no_insurance: ClassVar[str] = ""
    """Why the venue has no public insurance fund (said in the report's notes)."""
    no_adl: ClassVar[str] = ""
    backfill: ClassVar[bool] = False
    """The venue has an insurance history endpoint (:meth:`insurance_history`)."""
    insurance_interval: ClassVar[float] = 60.0
    """Seconds between insurance polls (the venue's own cadence where slower)."""
    adl_interval: ClassVar[float] = 60.0
    """Seconds between ADL polls (the venue's own cadence)."""

    async def insurance(self, ex: Any, symbols: list[str], problems: Problems) -> list[Any]:
        return []

    async def adl_risk(self, ex: Any, symbols: list[str], problems: Problems) -> list[Any]:
        return []

    async def symbols(self, ex: Any, symbols: list[str], problems: Problems) -> list[Any]:
        return []

    async def insurance_history(self, ex: Any, symbols: list[str], problems: Problems) -> list[HistoryRow]:
        return []


def get_market(name: str) -> VenueMarket:
    """The market adapter of a registered venue (``liqwatch/venues/<venue>/market.py``, its
    ``MARKET``), imported on first use. KeyError when the venue has none."""
    from liqwatch.venues import get_home

    home = get_home(name)
    try:
        module = importlib.import_module(f"liqwatch.venues.{home.name}.market")
    except ModuleNotFoundError:
        raise KeyError(f"{home.name}: liqwatch does not read this venue's market data yet; skipped") from None
    adapter = getattr(module, "MARKET", None)
    if not isinstance(adapter, VenueMarket):
        raise KeyError(f"{home.name}: liqwatch does not read this venue's market data yet; skipped")
    return adapter
