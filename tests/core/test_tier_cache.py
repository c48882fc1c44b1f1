"""The tier cache file (liqwatch.tiercache): location, atomic merging writes, corrupt files."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from liqwatch import tiercache


def _entry(mmr: float = 0.01, url: str = "https://example.test/tiers") -> dict[str, Any]:
    return {
        "id": "LINKUSDT",
        "contract_size": 1.0,
        "tiers": [{"min": 0.0, "max": 10000.0, "mmr": mmr, "max_leverage": 50.0, "maint_amount": 0.0}],
        "fetched_at": "2026-04-01T12:00:00Z",
        "source_url": url,
        "as_of": "2026-04-01",
    }


def test_cache_dir_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIQWATCH_CACHE_DIR", str(tmp_path / "c"))
    assert tiercache.cache_dir() == tmp_path / "c"
    assert tiercache.cache_path("binance") == tmp_path / "c" / "tiers" / "binance.json"
    monkeypatch.delenv("LIQWATCH_CACHE_DIR")
    from platformdirs import user_cache_path

    assert tiercache.cache_dir() == user_cache_path("liqwatch")


def test_missing_cache_is_none_without_warning() -> None:
    warnings: list[str] = []
    assert tiercache.read_cache("binance", warn=warnings.append) is None
    assert warnings == []


def test_write_then_read_round_trip() -> None:
    path = tiercache.write_cache("binance", {"LINK/USDT:USDT": _entry()})
    assert path == tiercache.cache_path("binance")
    data = tiercache.read_cache("binance")
    assert data is not None
    assert data["venue"] == "binance" and data["basis"] == "notional"
    assert data["symbols"]["LINK/USDT:USDT"]["source_url"] == "https://example.test/tiers"
    assert [p.name for p in path.parent.iterdir()] == ["binance.json"]  # no temp file left


def test_merge_keeps_symbols_a_partial_download_lacks() -> None:
    tiercache.write_cache("binance", {"LINK/USDT:USDT": _entry(), "BTC/USDT:USDT": _entry()})
    tiercache.write_cache("binance", {"LINK/USDT:USDT": _entry(mmr=0.02)})
    data = tiercache.read_cache("binance")
    assert data is not None
    assert set(data["symbols"]) == {"LINK/USDT:USDT", "BTC/USDT:USDT"}
    assert data["symbols"]["LINK/USDT:USDT"]["tiers"][0]["mmr"] == 0.02
    tiercache.write_cache("binance", {"ETH/USDT:USDT": _entry()}, merge=False)
    data = tiercache.read_cache("binance")
    assert data is not None and set(data["symbols"]) == {"ETH/USDT:USDT"}


def test_fetched_at_defaults_to_now() -> None:
    entry = _entry()
    del entry["fetched_at"], entry["as_of"]
    tiercache.write_cache("bybit", {"LINK/USDT:USDT": entry})
    data = tiercache.read_cache("bybit")
    assert data is not None
    stamp = data["symbols"]["LINK/USDT:USDT"]["fetched_at"]
    assert stamp.endswith("Z") and len(stamp) == 20


def test_an_empty_table_is_refused_and_the_file_kept() -> None:
    tiercache.write_cache("binance", {"LINK/USDT:USDT": _entry()})
    before = tiercache.cache_path("binance").read_bytes()
    with pytest.raises(ValueError):
        tiercache.write_cache("binance", {"BTC/USDT:USDT": {"tiers": []}})
    assert tiercache.cache_path("binance").read_bytes() == before


def test_a_failed_write_leaves_the_old_file(monkeypatch: pytest.MonkeyPatch) -> None:
    tiercache.write_cache("binance", {"LINK/USDT:USDT": _entry()})
    before = tiercache.cache_path("binance").read_bytes()

    def boom(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        tiercache.write_cache("binance", {"LINK/USDT:USDT": _entry(mmr=0.5)})
    assert tiercache.cache_path("binance").read_bytes() == before
    assert [p.name for p in tiercache.cache_path("binance").parent.iterdir()] == ["binance.json"]


@pytest.mark.parametrize(
    "content",
    ["{not json", "[]", json.dumps({"venue": "okx", "symbols": {}}), json.dumps({"symbols": {"X": {"tiers": []}}})],
)
def test_corrupt_cache_is_ignored_with_one_warning(content: str) -> None:
    path = tiercache.cache_path("binance")
    path.parent.mkdir(parents=True)
    path.write_text(content)
    warnings: list[str] = []
    assert tiercache.read_cache("binance", warn=warnings.append) is None
    assert len(warnings) == 1 and str(path) in warnings[0] and "\n" not in warnings[0]


def test_corrupt_cache_warns_on_stderr_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    path = tiercache.cache_path("binance")
    path.parent.mkdir(parents=True)
    path.write_text("{")
    assert tiercache.read_cache("binance") is None
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "warning" in err


def test_a_corrupt_file_is_replaced_by_a_good_write() -> None:
    path = tiercache.cache_path("binance")
    path.parent.mkdir(parents=True)
    path.write_text("{")
    tiercache.write_cache("binance", {"LINK/USDT:USDT": _entry()})
    data = tiercache.read_cache("binance")
    assert data is not None and set(data["symbols"]) == {"LINK/USDT:USDT"}


def test_importing_the_cache_loads_no_heavy_library() -> None:
    import subprocess
    import sys

    code = (
        "import sys, liqwatch.tiercache\n"
        "bad = [m for m in ('ccxt', 'textual', 'pydantic', 'platformdirs') if m in sys.modules]\n"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
