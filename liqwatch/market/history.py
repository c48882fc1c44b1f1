"""The market history: what liqwatch polls (insurance balances, mark/index divergence, funding
rates), in an embedded SQLite database, so that 24 h / 7 d changes and the drawdown from the 8-hour
maximum can be computed (Binance keeps no history; Bybit's has no API).

* Where: ``$LIQWATCH_DATA_DIR/market.sqlite3``, else the platform data dir
  (``platformdirs.user_data_dir("liqwatch")``).
* WAL journal, ``synchronous=NORMAL``, one transaction per poll: a killed process loses at most
  the poll it was writing; what was committed survives restarts.
* Bounded: samples older than :data:`RETENTION` (35 days) are deleted, at most once an hour.
* A file SQLite cannot read is moved aside (``market.sqlite3.corrupt-<unix time>``) with a
  one-line warning, and a fresh database is started.
* Backfill (Gate, OKX history endpoints) inserts with ``INSERT OR IGNORE``: a sample already
  recorded at the same time is kept.

Series are keyed ``(exchange, kind, key)``: kind ``insurance`` (key: the pool and asset,
``"<pool>|<asset>"``), ``divergence`` and ``funding`` (key: the symbol).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

from liqwatch.market.compute import DAY, WINDOW_8H, Sample, change, drawdown_from_max

log = logging.getLogger(__name__)

Kind = Literal["insurance", "divergence", "funding"]
RETENTION = 35 * DAY
PRUNE_EVERY = 3600.0
FILENAME = "market.sqlite3"
ENV_DIR = "LIQWATCH_DATA_DIR"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS samples (
    exchange TEXT NOT NULL,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    ts REAL NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (exchange, kind, key, ts)
) WITHOUT ROWID;
"""


def data_dir() -> Path:
    """``$LIQWATCH_DATA_DIR``, else the platform's user data dir for liqwatch."""
    env = os.environ.get(ENV_DIR)
    if env:
        return Path(env)
    from platformdirs import user_data_dir

    return Path(user_data_dir("liqwatch"))


def default_path() -> Path:
    return data_dir() / FILENAME


def pool_key(pool: str, asset: str) -> str:
    return f"{pool}|{asset}"


class History:
    """The market history database. ``path`` None: the default file; ``":memory:"``: nothing on
    disk (the demo). ``warn`` receives the one-line warning of a file moved aside."""

    def __init__(
        self, path: Path | str | None = None, *, retention: float | None = None, warn: list[str] | None = None
    ) -> None:
        self.retention = RETENTION if retention is None else retention
        self.warnings: list[str] = warn if warn is not None else []
        self._last_prune = -float("inf")
        if path == ":memory:":
            self.path: Path | None = None
            self._db = self._connect(":memory:")
            return
        self.path = Path(path) if path is not None else default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = self._connect(str(self.path))
        except sqlite3.DatabaseError as exc:
            moved = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
            for suffix in ("-wal", "-shm"):
                side = self.path.with_name(self.path.name + suffix)
                if side.exists():
                    side.replace(moved.with_name(moved.name + suffix))
            self.path.replace(moved)
            text = f"market history {self.path} could not be read ({exc}); moved aside to {moved.name}, starting afresh"
            self.warnings.append(text)
            log.warning(text)
            self._db = self._connect(str(self.path))

    @staticmethod
    def _connect(target: str) -> sqlite3.Connection:
        db = sqlite3.connect(target, timeout=5.0, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            row = db.execute("PRAGMA quick_check").fetchone()
            if row is None or row[0] != "ok":
                raise sqlite3.DatabaseError(f"integrity check: {row[0] if row else 'no answer'}")
            db.executescript(_SCHEMA)
        except BaseException:
            db.close()
            raise
        return db

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ writing

    def record(self, rows: Iterable[tuple[str, Kind, str, float, float]], *, replace: bool = True) -> int:
        """Insert ``(exchange, kind, key, ts, value)`` rows in one transaction (non-finite values
        are skipped). ``replace`` False keeps an existing sample at the same time (backfill).
        Returns the rows written."""
        verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
        clean = [r for r in rows if r[4] == r[4] and abs(r[4]) != float("inf") and r[3] == r[3]]
        if not clean:
            return 0
        db = self._db
        db.execute("BEGIN")
        try:
            cur = db.executemany(f"{verb} INTO samples VALUES (?, ?, ?, ?, ?)", clean)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self._maybe_prune(max(r[3] for r in clean))
        return cur.rowcount if cur.rowcount >= 0 else len(clean)

    def _maybe_prune(self, now: float) -> None:
        if now - self._last_prune < PRUNE_EVERY:
            return
        self._last_prune = now
        self.prune(now)

    def prune(self, now: float) -> int:
        """Delete samples older than the retention; returns how many."""
        cur = self._db.execute("DELETE FROM samples WHERE ts < ?", (now - self.retention,))
        return cur.rowcount

    # ------------------------------------------------------------------ reading

    def series(self, exchange: str, kind: Kind, key: str, since: float | None = None) -> list[Sample]:
        """``(ts, value)`` oldest first (since ``since`` when given): sparklines use this."""
        sql = "SELECT ts, value FROM samples WHERE exchange = ? AND kind = ? AND key = ?"
        args: tuple[object, ...] = (exchange, kind, key)
        if since is not None:
            sql += " AND ts >= ?"
            args = (*args, since)
        return [(float(t), float(v)) for t, v in self._db.execute(sql + " ORDER BY ts", args)]

    def keys(self, exchange: str, kind: Kind) -> list[str]:
        rows = self._db.execute(
            "SELECT DISTINCT key FROM samples WHERE exchange = ? AND kind = ? ORDER BY key", (exchange, kind)
        )
        return [str(r[0]) for r in rows]

    def count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM samples").fetchone()[0])

    def pool_stats(
        self, exchange: str, pool: str, asset: str, now: float
    ) -> tuple[float | None, float | None, float | None]:
        """(24 h change, 7 d change, drawdown from the 8-hour max) of one pool's recorded balance."""
        samples: Sequence[Sample] = self.series(exchange, "insurance", pool_key(pool, asset), since=now - 8 * DAY)
        samples = [s for s in samples if s[0] <= now]
        return change(samples, now, DAY), change(samples, now, 7 * DAY), drawdown_from_max(samples, now, WINDOW_8H)
