"""The user's collateral-table cache: one JSON file per venue, written by ``liqwatch tiers update
--collateral`` and read by ``liqwatch calc`` for a collateral row given without ``ratio``,
``tiers`` or ``bid_buffer``/``ask_buffer``.

Location: ``<tier cache dir>/collateral/<venue>.json`` (:func:`liqwatch.tiercache.cache_dir`:
``$LIQWATCH_CACHE_DIR`` or the platform's user cache dir). Format::

    {"venue": "bybit", "source_url": "https://api.bybit.com/v5/spot-margin-trade/collateral",
     "fetched_at": "2026-12-07T23:40:00Z", "as_of": "2026-12-07",
     "assets": {"BTC": {"tiers": [{"min": 0, "max": 1000000, "ratio": 0.85},
                                  {"min": 1000000, "max": null, "ratio": 0}],
                        "tier_basis": "quantity"},
                "ADA": {"bid_buffer": 0.1, "ask_buffer": 0.1}}}

(an asset has ``tiers`` with ``tier_basis``, or Binance's ``bid_buffer`` and ``ask_buffer``). A
download replaces the venue's file whole (the venue publishes its table whole); the write is
atomic. A file that cannot be read or parsed is ignored with one warning line.

The dated tables bundled with liqwatch (``liqwatch/data/collateral/<venue>.json``, where a public
dated source exists) have the same format plus ``source`` (the page or record copied), ``complete``
and ``notes``, and are checked by the same validator (:func:`read_bundled`).

Imported by ``liqwatch calc``: standard library only; never ccxt, Textual or pydantic.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from liqwatch.tiercache import cache_dir, read_checked, utc_now_iso

Warn = Callable[[str], None]


def table_venues() -> dict[str, str]:
    """The venues whose collateral tables liqwatch reads -> the public endpoint of each
    (``Venue.collateral_table_source``)."""
    from liqwatch.core.venues import VENUES

    return {name: v.collateral_table_source for name, v in VENUES.items() if v.collateral_table_source}


def _stderr_warning(message: str) -> None:
    print(f"liqwatch: warning: {message}", file=sys.stderr)


def collateral_path(venue: str) -> Path:
    """The venue's collateral cache file: ``<cache_dir>/collateral/<venue>.json``."""
    return cache_dir() / "collateral" / f"{venue}.json"


def _valid_asset(entry: Any) -> bool:
    if not isinstance(entry, dict):
        return False
    tiers = entry.get("tiers")
    if tiers is not None:
        return (
            isinstance(tiers, list)
            and bool(tiers)
            and entry.get("tier_basis", "quantity") in ("quantity", "value")
            and all(isinstance(t, dict) and {"min", "max", "ratio"} <= t.keys() for t in tiers)
        )
    return isinstance(entry.get("bid_buffer"), int | float) and isinstance(entry.get("ask_buffer"), int | float)


def _problem(data: Any, venue: str) -> str | None:
    if not isinstance(data, dict):
        return "not a JSON object"
    if data.get("venue", venue) != venue:
        return f"written for venue {data.get('venue')!r}"
    assets = data.get("assets")
    if not isinstance(assets, dict):
        return "no 'assets' object"
    for name, entry in assets.items():
        if not _valid_asset(entry):
            return f"asset {name!r} has neither tiers nor bid_buffer/ask_buffer"
    return None


def read_collateral(venue: str, *, warn: Warn | None = None) -> dict[str, Any] | None:
    """The venue's cached collateral table as loaded JSON; None when there is none or it is
    unusable (one warning line, default stderr). Never raises for file content."""
    return read_checked(collateral_path(venue), "collateral cache", lambda data: _problem(data, venue), warn)


def read_bundled(venue: str) -> dict[str, Any] | None:
    """The venue's bundled collateral table (``liqwatch/data/collateral/<venue>.json``, same format
    plus ``source``, ``complete`` and ``notes``) as loaded JSON; None when liqwatch bundles none.
    A malformed bundle raises ValueError (a packaging bug, caught by the tests), never a guess."""
    from importlib import resources

    path = resources.files("liqwatch.data.collateral").joinpath(f"{venue}.json")
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    problem = _problem(data, venue)
    if problem is None and not (isinstance(data.get("as_of"), str) and data.get("source_url")):
        problem = "no as_of or source_url"
    if problem is not None:
        raise ValueError(f"bundled {venue} collateral table: {problem}")
    result: dict[str, Any] = data
    return result


def bundled_venues() -> list[str]:
    """The venues whose collateral table liqwatch bundles."""
    from importlib import resources

    base = resources.files("liqwatch.data.collateral")
    return sorted(p.name.removesuffix(".json") for p in base.iterdir() if p.name.endswith(".json"))


def write_collateral(venue: str, assets: Mapping[str, Mapping[str, Any]], source_url: str) -> Path:
    """Write the venue's whole collateral table (asset -> entry); atomic. Raises ValueError for an
    empty table or a malformed entry (nothing is written then)."""
    if not assets:
        raise ValueError(f"{venue}: no collateral assets to cache")
    now = utc_now_iso()
    data: dict[str, Any] = {
        "venue": venue,
        "source_url": source_url,
        "fetched_at": now,
        "as_of": now[:10],
        "assets": {name.upper(): dict(entry) for name, entry in sorted(assets.items())},
    }
    problem = _problem(data, venue)
    if problem is not None:
        raise ValueError(f"{venue}: {problem}")
    import tempfile  # only when writing

    path = collateral_path(venue)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{venue}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, separators=(",", ":"))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


__all__ = ["bundled_venues", "collateral_path", "read_bundled", "read_collateral", "table_venues", "write_collateral"]
