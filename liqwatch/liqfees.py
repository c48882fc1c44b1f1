"""Per-symbol liquidation fee rates (Binance's clearance fee, exchangeInfo ``liquidationFee``).

Two places hold them: the bundled ``liqwatch/data/liquidation_fees.json`` (per venue: the field, its
source and the rates by unified symbol) and the tier cache, whose entries written by ``liqwatch
tiers update`` carry ``liquidation_fee`` read from the venue's exchange info. The cached rate wins
(it is what the venue said at the last update). Standard library only: ``liqwatch calc`` reads it.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from liqwatch.core.venues import Venue

if TYPE_CHECKING:
    from liqwatch.markets import Bundle


@cache
def _bundled() -> dict[str, Any]:
    text = resources.files("liqwatch.data").joinpath("liquidation_fees.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def bundled_rates(venue: Venue) -> dict[str, float]:
    """The bundled rates of ``venue`` by upper-case unified symbol (empty when none are bundled)."""
    section = _bundled().get(venue.name) or {}
    return {str(k).upper(): float(v) for k, v in (section.get("rates") or {}).items()}


def bundled_source(venue: Venue) -> str:
    section = _bundled().get(venue.name) or {}
    return str(section.get("source") or "")


def _cached_rate(found: Bundle | None, symbol: str) -> float | None:
    if found is None:
        return None
    entry = found.markets.entry(symbol)
    if entry is None:
        return None
    raw = entry.get("liquidation_fee")
    if isinstance(raw, int | float) and not isinstance(raw, bool) and 0 <= raw < 1:
        return float(raw)
    return None


class FeeRates:
    """One venue's per-symbol liquidation fee rates for one run: each symbol looked up once."""

    __slots__ = ("_bundled", "_cache", "_seen", "venue")

    def __init__(self, venue: Venue) -> None:
        self.venue = venue
        self._bundled: dict[str, float] = {}
        self._cache: Bundle | None = None
        if venue.liquidation_fee_per_symbol:
            from liqwatch.markets import cached

            self._bundled = bundled_rates(venue)
            self._cache = cached(venue)  # looked at once for the run
        self._seen: dict[str, float | None] = {}

    def rate(self, symbol: str) -> float | None:
        """The symbol's rate (cache first, then bundled), or None where liqwatch has none."""
        if not self.venue.liquidation_fee_per_symbol:
            return None
        key = symbol.upper()
        seen = self._seen
        if key in seen:
            return seen[key]
        found = _cached_rate(self._cache, key) if self._cache is not None else None
        if found is None:
            found = self._bundled.get(key)
        seen[key] = found
        return found


__all__ = ["FeeRates", "bundled_rates", "bundled_source"]
