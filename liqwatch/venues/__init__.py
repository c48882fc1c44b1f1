"""The venue registry: one home per venue, and every venue lookup in liqwatch goes through it.

A venue lives in ``liqwatch/venues/<venue>/`` (REST adapter, mark-price protocol, private stream
or why none, credential kind, URLs, symbol forms) plus its pure maths in
``liqwatch/core/venues/<venue>.py``; ``liqwatch/venues/_template/README.md`` lists what a new
venue provides. The config's exchange names and credential rules, the CLI's ``--exchange``
choices, the REST client, the mark and private streams all derive from :data:`HOMES`.
"""

from __future__ import annotations

from liqwatch.venues import binance, bitget, bybit, deribit, gate, hyperliquid, okx
from liqwatch.venues.home import Credentials, VenueHome

HOMES: dict[str, VenueHome] = {
    h.name: h for h in (m.HOME for m in (binance, bybit, okx, bitget, gate, hyperliquid, deribit))
}
"""Every venue by name, in the order the config and CLI list them."""

_BY_ALIAS: dict[str, VenueHome] = {alias: h for h in HOMES.values() for alias in (h.name, *h.aliases)}


def names() -> tuple[str, ...]:
    """The registered venue names (the config's ``exchange`` values)."""
    return tuple(HOMES)


def get_home(name: str) -> VenueHome:
    """The venue called ``name`` (any case; a ccxt id alias too). KeyError when unknown."""
    try:
        return _BY_ALIAS[name.lower()]
    except KeyError:
        raise KeyError(name) from None


def find_home(name: str) -> VenueHome | None:
    return _BY_ALIAS.get(name.lower())


__all__ = ["HOMES", "Credentials", "VenueHome", "find_home", "get_home", "names"]
