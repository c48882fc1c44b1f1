"""The user's tier-table cache: one JSON file per venue, written by ``liqwatch tiers update``.

Location: ``$LIQWATCH_CACHE_DIR/tiers/<venue>.json`` when the variable is set, else the platform's
user cache dir (``platformdirs.user_cache_path("liqwatch")``, e.g. ``~/.cache/liqwatch`` on Linux).

Each file has the same loader format as the bundled ``liqwatch/data/tiers/<venue>.json``::

    {"venue": "binance", "basis": "notional", "boundary": "floor_inclusive", "complete": true,
     "symbols": {"LINK/USDT:USDT": {"id": "LINKUSDT", "tick_size": null, "contract_size": 1.0,
                 "tiers": [{"min", "max", "mmr", "max_leverage", "maint_amount"}, ...],
                 "fetched_at": "2026-04-01T12:00:00Z", "source_url": "https://...",
                 "as_of": "2026-04-01"}}}

Writes are atomic (a temp file in the same directory, then ``os.replace``) and merge by default:
the symbols of a new download replace those symbols only, so a partial download never drops the
good tables already cached. A file that cannot be read or parsed is ignored with one warning line.

This module is imported by ``liqwatch calc``: standard library only (``platformdirs`` is imported
when the default location is needed); never ccxt, Textual or pydantic.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

ENV_VAR = "LIQWATCH_CACHE_DIR"

Warn = Callable[[str], None]


def _stderr_warning(message: str) -> None:
    print(f"liqwatch: warning: {message}", file=sys.stderr)


_writes = [0]  # how many cache writes this process made


def generation() -> int:
    """How many cache writes this process made (readers that memoise the cache key on it)."""
    return _writes[0]


def cache_dir() -> Path:
    """The liqwatch cache directory (not created here)."""
    override = os.environ.get(ENV_VAR)
    if override:
        return Path(override).expanduser()
    if sys.platform.startswith("linux"):
        # platformdirs' rule on Linux (XDG), without importing it on `liqwatch calc`'s budgeted
        # cold start; a test checks the two agree. Elsewhere platformdirs decides.
        base = os.environ.get("XDG_CACHE_HOME", "").strip()
        return (Path(base) if base else Path.home() / ".cache") / "liqwatch"
    from platformdirs import user_cache_path

    return user_cache_path("liqwatch")


def cache_path(venue: str) -> Path:
    """The cache file of one venue: ``<cache_dir>/tiers/<venue>.json``."""
    return cache_dir() / "tiers" / f"{venue}.json"


def utc_now_iso() -> str:
    """Now as ISO-8601 UTC with a ``Z`` (the ``fetched_at`` format)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _valid(data: Any, venue: str) -> str | None:
    """Why ``data`` is not a usable cache file for ``venue`` (None when it is)."""
    if not isinstance(data, dict):
        return "not a JSON object"
    if data.get("venue", venue) != venue:
        return f"written for venue {data.get('venue')!r}"
    symbols = data.get("symbols")
    if not isinstance(symbols, dict):
        return "no 'symbols' object"
    for name, entry in symbols.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("tiers"), list) or not entry["tiers"]:
            return f"symbol {name!r} has no tiers list"
        for row in entry["tiers"]:
            if not isinstance(row, dict) or "min" not in row or "max_leverage" not in row:
                return f"symbol {name!r} has a malformed tier"
    return None


def read_cache(venue: str, *, warn: Warn | None = None) -> dict[str, Any] | None:
    """The venue's cache file as loaded JSON, or None when there is none or it is unusable.

    A corrupt or malformed file gives one warning line (``warn``, default stderr) and None: the
    caller falls back to the bundled tables. Never raises for file content."""
    return read_checked(cache_path(venue), "tier cache", lambda data: _valid(data, venue), warn)


def read_checked(
    path: Path, what: str, problem_of: Callable[[Any], str | None], warn: Warn | None = None
) -> dict[str, Any] | None:
    """A cache file (``what``: its name in a warning) as loaded JSON, or None when there is none or
    it is unreadable, corrupt or malformed (``problem_of`` says how): one warning line then (``warn``,
    default stderr). Never raises for file content. The tier and the collateral caches read through it."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        (warn or _stderr_warning)(f"{what} {path} unreadable ({exc.strerror}); ignored")
        return None
    try:
        data = json.loads(text)
    except ValueError as exc:
        (warn or _stderr_warning)(f"{what} {path} is corrupt ({exc}); ignored")
        return None
    problem = problem_of(data)
    if problem is not None:
        (warn or _stderr_warning)(f"{what} {path} is malformed ({problem}); ignored")
        return None
    result: dict[str, Any] = data
    return result


def write_cache(
    venue: str,
    symbols: Mapping[str, Mapping[str, Any]],
    *,
    merge: bool = True,
    header: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``symbols`` (unified symbol -> entry in the loader format) to the venue's cache file.

    ``merge``: keep the cached symbols not in ``symbols`` (a partial download never drops good
    tables); without it the file holds exactly ``symbols``. ``header``: file-level keys (``basis``,
    ``boundary``, ``complete``, ...); defaults keep the existing file's, else notional /
    floor-inclusive / complete. The write is atomic: readers see the old file or the new one.
    An entry without ``fetched_at`` gets the current time. Raises ValueError for an entry without
    tiers (nothing is written then)."""
    path = cache_path(venue)
    existing = read_cache(venue, warn=lambda _m: None) if merge else None
    data: dict[str, Any] = {
        "venue": venue,
        "basis": "notional",
        "boundary": "floor_inclusive",
        "complete": True,
        "symbols": {},
    }
    if existing is not None:
        data.update({k: v for k, v in existing.items() if k != "symbols"})
        data["symbols"] = dict(existing["symbols"])
    if header:
        data.update({k: v for k, v in header.items() if k != "symbols"})
    data["venue"] = venue
    now = utc_now_iso()
    for name, entry in symbols.items():
        tiers = entry.get("tiers")
        if not isinstance(tiers, list) or not tiers:
            raise ValueError(f"{venue} {name}: no tiers to cache")
        new = dict(entry)
        new.setdefault("fetched_at", now)
        new.setdefault("as_of", str(new["fetched_at"])[:10])
        data["symbols"][name] = new
    data["updated_at"] = now
    import tempfile  # only when writing: calc reads the cache, never writes it

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{venue}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=None, separators=(",", ":"), sort_keys=False)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        _writes[0] += 1
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


__all__ = ["ENV_VAR", "cache_dir", "cache_path", "read_cache", "utc_now_iso", "write_cache"]
