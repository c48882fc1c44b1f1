"""The market history: survives a restart and a killed process (SIGKILL mid-write), a corrupt
file is moved aside with one warning, retention is bounded, backfill never overwrites."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from liqwatch.market.compute import DAY, HOUR
from liqwatch.market.history import ENV_DIR, FILENAME, History, data_dir, pool_key
from liqwatch.market.model import InsurancePool, MarketReport
from liqwatch.market.service import enrich

KEY = pool_key("pool BTCUSDT", "USDT")


def test_data_dir_env_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_DIR, str(tmp_path))
    assert data_dir() == tmp_path
    with History() as h:
        assert h.path == tmp_path / FILENAME
    monkeypatch.delenv(ENV_DIR)
    from platformdirs import user_data_dir

    assert data_dir() == Path(user_data_dir("liqwatch"))


def test_survives_restart_and_wal(tmp_path: Path) -> None:
    path = tmp_path / FILENAME
    with History(path) as h:
        assert h.record([("binance", "insurance", KEY, 1000.0 + i, 100.0 + i) for i in range(10)]) == 10
        mode = h._db.execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    with History(path) as h:
        assert h.series("binance", "insurance", KEY) == [(1000.0 + i, 100.0 + i) for i in range(10)]


WRITER = r"""
import sys, time
from liqwatch.market.history import History
h = History(sys.argv[1])
i = 0
while True:
    h.record([("bybit", "insurance", "p|USDT", float(i * 100 + j), float(j)) for j in range(100)])
    i += 1
    if i == 5:
        print("ready", flush=True)
"""


def test_survives_sigkill_mid_write(tmp_path: Path) -> None:
    path = tmp_path / FILENAME
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"  # 5 transactions committed, more under way
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    with History(path) as h:  # opens cleanly: no corruption warning
        assert h.warnings == []
        rows = h.series("bybit", "insurance", "p|USDT")
        assert len(rows) >= 500 and len(rows) % 100 == 0  # whole transactions only
        assert h._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert not list(tmp_path.glob("*.corrupt-*"))


def test_corrupt_file_moved_aside_with_one_warning(tmp_path: Path) -> None:
    path = tmp_path / FILENAME
    path.write_bytes(b"this is not a database" * 200)
    warnings: list[str] = []
    with History(path, warn=warnings) as h:
        assert h.count() == 0
        h.record([("okx", "insurance", "BTC-USDT|USDT", 1.0, 2.0)])
    assert len(warnings) == 1 and "\n" not in warnings[0] and "moved aside" in warnings[0]
    (moved,) = tmp_path.glob(f"{FILENAME}.corrupt-*")
    assert moved.read_bytes().startswith(b"this is not a database")
    with History(path) as h:
        assert h.count() == 1


def test_retention_is_bounded(tmp_path: Path) -> None:
    with History(tmp_path / FILENAME, retention=10 * DAY) as h:
        h.record([("gate", "insurance", "x|USDT", t * DAY, 1.0) for t in range(30)])
        assert min(t for t, _ in h.series("gate", "insurance", "x|USDT")) >= 19 * DAY


def test_backfill_keeps_recorded_samples(tmp_path: Path) -> None:
    with History(tmp_path / FILENAME) as h:
        h.record([("okx", "insurance", "k", 10.0, 1.0)])
        h.record([("okx", "insurance", "k", 10.0, 9.0), ("okx", "insurance", "k", 5.0, 3.0)], replace=False)
        assert h.series("okx", "insurance", "k") == [(5.0, 3.0), (10.0, 1.0)]


def test_enrich_changes_and_drawdown_from_recorded_polls(tmp_path: Path) -> None:
    now = 100 * DAY
    with History(tmp_path / FILENAME) as h:
        h.record([("binance", "insurance", KEY, now - 7 * DAY, 80.0), ("binance", "insurance", KEY, now - DAY, 120.0)])
        h.record([("binance", "insurance", KEY, now - 5 * HOUR, 125.0)])  # the 8-hour max
        pool = InsurancePool(pool="pool BTCUSDT", asset="USDT", balance=100.0, source="test", as_of=now)
        report = enrich(h, MarketReport(exchange="binance", ts=now, insurance=[pool]))
        (got,) = report.insurance
        assert got.change_24h == pytest.approx(100 / 120 - 1)
        assert got.change_7d == pytest.approx(100 / 80 - 1)
        assert got.drawdown_8h == pytest.approx(1 - 100 / 125)
        # the poll itself was recorded
        assert h.series("binance", "insurance", KEY)[-1] == (now, 100.0)
