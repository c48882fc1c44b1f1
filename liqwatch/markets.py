"""Bundled market data (tier snapshots, tick and contract sizes) and tier resolution.

Reads the dated JSON snapshots shipped in ``liqwatch/data/tiers/<venue>.json``; user tier files and
per-position tables or overrides take precedence (see :func:`resolve_table`). This module does file
I/O and therefore lives outside ``liqwatch.core``; it never imports ccxt or Textual.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from liqwatch.core.errors import InputError
from liqwatch.core.symbols import to_unified, unified_match
from liqwatch.core.tiers import Basis, TierTable, build_table, flat_table
from liqwatch.core.venues import Venue


@dataclass(frozen=True, slots=True)
class Market:
    symbol: str
    id: str
    table: TierTable
    tick_size: float | None = None
    contract_size: float | None = None


@dataclass(frozen=True, slots=True)
class Bundle:
    venue: str
    as_of: str
    source: str
    markets: dict[str, Market]
    by_id: dict[str, str]


def _read_bundle_json(venue: str) -> dict[str, Any] | None:
    path = resources.files("liqwatch.data.tiers").joinpath(f"{venue}.json")
    if not path.is_file():
        return None
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


@cache
def bundle(venue: Venue) -> Bundle:
    """The venue's bundled snapshot (loaded once, lazily, only for the venue asked for)."""
    raw = _read_bundle_json(venue.name) or {"symbols": {}, "as_of": "", "source": ""}
    basis: Basis = "quantity" if raw.get("basis") in ("contracts", "quantity") else "notional"
    boundary = raw.get("boundary", venue.default_boundary)
    markets: dict[str, Market] = {}
    by_id: dict[str, str] = {}
    for symbol, entry in raw.get("symbols", {}).items():
        contract_size = entry.get("contract_size")
        scale = float(contract_size) if basis == "quantity" and contract_size else 1.0
        rows = [dict(row) for row in entry["tiers"]]
        for row in rows:
            if row.get("mmr") is None:
                derived = venue.derive_mmr(float(row["max_leverage"]))
                if derived is None:
                    raise ValueError(f"bundled {venue.name} tiers for {symbol} lack an mmr")
                row["mmr"] = derived
        table = build_table(
            rows,
            basis=basis,
            boundary=boundary,
            derive_maint_amount=venue.derives_maint_amount,
            source=entry.get("source", raw.get("source", "")),
            as_of=entry.get("as_of", raw.get("as_of", "")),
            quantity_scale=scale,
            complete=bool(entry.get("complete", raw.get("complete", True))),
        )
        market = Market(
            symbol=symbol,
            id=str(entry.get("id", symbol)),
            table=table,
            tick_size=entry.get("tick_size"),
            contract_size=contract_size,
        )
        markets[symbol.upper()] = market
        by_id[market.id.upper()] = symbol.upper()
    return Bundle(venue.name, raw.get("as_of", ""), raw.get("source", ""), markets, by_id)


def find_market(venue: Venue, symbol: str) -> tuple[str, Market | None]:
    """(unified symbol, bundled market or None). Raises InputError for an unreadable symbol."""
    b = bundle(venue)
    key = symbol.strip().upper()
    if key in b.by_id:
        known = b.markets[b.by_id[key]]
        return known.symbol, known
    if key.endswith("USD_PERP"):  # Binance COIN-M ids (BTCUSD_PERP)
        refuse_inverse(venue, symbol, key.removesuffix("USD_PERP"))
    parts = unified_match(key)  # the usual form first: one match, no rebuilding
    if parts is not None:
        unified = key
        base, quote, settle = parts.groups()
    else:
        converted = to_unified(symbol, venue.settle)
        if converted is None:
            raise InputError("symbol", f"cannot read {symbol!r} as a symbol (use e.g. BTC/USDT:USDT)")
        unified = converted
        base, _, rest = unified.partition("/")
        quote, _, settle = rest.partition(":")
    if settle != quote or quote == "USD":
        refuse_inverse(venue, symbol, base)
    market = b.markets.get(unified)
    return (market.symbol if market else unified), market


def refuse_inverse(venue: Venue, symbol: str, base: str) -> None:
    """Coin-margined (inverse) markets need their own maths: refuse rather than compute them with
    the linear formula."""
    raise InputError(
        "symbol",
        f"{symbol} is a coin-margined (inverse) market; liqwatch computes linear {venue.settle}-settled "
        f"perpetuals only for now: use the linear market (e.g. {base}/{venue.settle}:{venue.settle})",
    )


def table_from_rows(venue: Venue, rows: Sequence[Mapping[str, Any]], source: str) -> TierTable:
    """A user-supplied notional tier table with the venue's boundary and maintenance-amount rules.
    Raises InputError("tiers", ...) for overlapping brackets or an empty bracket."""
    ordered = sorted(rows, key=lambda r: r.get("min_notional") or 0.0)
    for low, high in itertools.pairwise(ordered):
        cap = low.get("max_notional")
        if cap is not None and cap > (high.get("min_notional") or 0.0):
            raise InputError("tiers", "tiers overlap: each max_notional must be <= the next min_notional")
    for row in ordered:
        cap = row.get("max_notional")
        if cap is not None and cap <= (row.get("min_notional") or 0.0):
            raise InputError("tiers", "max_notional must be greater than min_notional")
    prepared: list[dict[str, float | None]] = []
    for row in rows:
        mmr = row.get("mmr")
        if mmr is None:
            mmr = venue.derive_mmr(float(row["max_leverage"] or 0))
            if mmr is None:
                raise InputError("tiers", f"every tier needs an mmr on {venue.name}")
        prepared.append(
            {
                "min": row.get("min_notional", 0.0),
                "max": row.get("max_notional"),
                "mmr": mmr,
                "max_leverage": row["max_leverage"],
                "maint_amount": row.get("maint_amount"),
            }
        )
    return build_table(
        prepared,
        basis="notional",
        boundary=venue.default_boundary,
        derive_maint_amount=venue.derives_maint_amount,
        source=source,
    )


def resolve_table(
    venue: Venue,
    symbol: str,
    market: Market | None,
    *,
    position_tiers: TierTable | None = None,
    user_tables: Mapping[str, TierTable] | None = None,
    mmr: float | None = None,
    maint_amount: float | None = None,
    max_leverage: float | None = None,
    bracket_value: float = 0.0,
    field_prefix: str = "",
) -> TierTable:
    """Pick the tier table for a position: overrides > per-position table > user file > bundled.

    ``mmr`` / ``maint_amount`` pin one bracket for every price (the user states the rate). A
    ``max_leverage`` on a venue that derives MMR from it (Hyperliquid) defines the bracket: one
    bracket with MMR = 1/(2 x L) and no deduction. Elsewhere it replaces the brackets' leverage cap.
    Whatever is returned is the table the maths uses, so every reported bracket field is its own.
    """
    base: TierTable | None = position_tiers
    if base is None and user_tables:
        base = user_tables.get(symbol.upper())
    if base is None and market is not None:
        base = market.table
    derived = venue.derive_mmr(max_leverage) if max_leverage is not None else None
    if derived is not None and mmr is None:
        # The venue defines the bracket by its max leverage (Hyperliquid MMR = 1/(2L)): the override
        # is the whole bracket, its MMR and (one bracket, no deduction) its maintenance amount.
        if not 0 <= derived < 1:
            raise InputError(f"{field_prefix}max_leverage", f"gives an MMR of {derived:g}; must be in [0, 1)")
        return flat_table(derived, maint_amount if maint_amount is not None else 0.0, max_leverage or 0.0)
    if mmr is not None or maint_amount is not None:
        current = base.lookup(bracket_value) if base is not None else None
        if mmr is None:
            if current is None:
                raise InputError(f"{field_prefix}mmr", f"unknown symbol {symbol} on {venue.name}: give mmr too")
            mmr = current.mmr
            amount = maint_amount if maint_amount is not None else current.maint_amount
        else:
            amount = maint_amount if maint_amount is not None else 0.0
        if not 0 <= mmr < 1:
            raise InputError(f"{field_prefix}mmr", f"must be in [0, 1), got {mmr:g}")
        lev = max_leverage or (current.max_leverage if current is not None else float("inf"))
        return flat_table(mmr, amount, lev, source="override")
    if base is not None and max_leverage is not None:
        return base.with_max_leverage(max_leverage)
    if base is None:
        known = ", ".join(sorted(m.symbol for m in bundle(venue).markets.values())) or "none"
        raise InputError(
            f"{field_prefix}symbol",
            f"unknown symbol {symbol} on {venue.name} (bundled: {known}); give mmr/max_leverage or a tiers table",
        )
    return base
