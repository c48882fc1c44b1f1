"""``e``: the positions table as shown (filter and order) to a CSV or JSON file.

Raw figures, not the display text: fractions for distance and margin ratio, prices unrounded, the
settlement currency of every position (its money fields are in it).
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from liqwatch.core.venues import get_venue
from liqwatch.records import settle_currency
from liqwatch.state import PositionView

FIELDS = (
    "account",
    "exchange",
    "symbol",
    "side",
    "margin_mode",
    "mark_price",
    "liquidation_price",
    "exchange_liquidation_price",
    "distance_to_liquidation",
    "margin_ratio",
    "adl_lights",
    "adl_source",
    "tier",
    "mmr",
    "unrealized_pnl",
    "size",
    "entry_price",
    "bankruptcy_price",
    "settle",
    "stale",
)


def settle_of(view: PositionView) -> str:
    """The position's settle currency, as ``calc --json`` gives it: the record's own where the
    venue sent one, else the ``:SETTLE`` of its symbol, else the venue's default (a position's
    ``settle`` field is None wherever the venue's default applies, which left the column empty)."""
    if view.risk is not None:
        return settle_currency(view.risk.spec, get_venue(view.exchange))
    data = view.data
    _, colon, tail = data.symbol.rpartition(":")
    return data.settle or (tail if colon else "") or get_venue(view.exchange).settle


def record(view: PositionView) -> dict[str, Any]:
    data, risk = view.data, view.risk
    return {
        "account": view.account,
        "exchange": view.exchange,
        "symbol": data.symbol,
        "side": data.side,
        "margin_mode": data.margin_mode,
        "mark_price": view.mark_price,
        "liquidation_price": None if risk is None else risk.liquidation_price,
        "exchange_liquidation_price": data.exchange_liquidation_price,
        "distance_to_liquidation": None if risk is None else risk.distance_to_liquidation,
        "margin_ratio": None if risk is None else risk.margin_ratio,
        "adl_lights": None if risk is None else risk.adl.lights,
        "adl_source": None if risk is None else risk.adl.source,
        "tier": None if risk is None else risk.tier.index,
        "mmr": None if risk is None else risk.tier.mmr,
        "unrealized_pnl": None if risk is None else risk.unrealized_pnl,
        "size": data.size,
        "entry_price": data.entry_price,
        "bankruptcy_price": None if risk is None else risk.bankruptcy_price,
        "settle": settle_of(view),
        "stale": view.stale,
    }


def default_name(fmt: Literal["csv", "json"], now: float) -> str:
    """``liqwatch-positions-<UTC time>.<fmt>``."""
    return f"liqwatch-positions-{time.strftime('%Y%m%d-%H%M%S', time.gmtime(now))}.{fmt}"


def write(views: Sequence[PositionView], path: Path, fmt: Literal["csv", "json"], now: float) -> None:
    """Write the rows to ``path`` (its directory is made where missing)."""
    rows = [record(v) for v in views]
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "json":
        path.write_text(json.dumps({"ts": now, "positions": rows}, indent=1) + "\n", encoding="utf-8")
    else:
        with path.open("w", newline="", encoding="utf-8") as out:
            writer = csv.DictWriter(out, fieldnames=FIELDS)
            writer.writeheader()
            writer.writerows({k: "" if v is None else v for k, v in row.items()} for row in rows)
