"""`calc --portfolio FILE --json` on a generated 10,000-position portfolio is byte for byte the
document it was when issue #22's speed-up of the command began (its SHA-256 below): a faster read,
maths or writer must not move a byte. The file is generated here, deterministically, and mixes
what a large exported account holds: cross and isolated positions, long and short, hedge legs of
one symbol, three distinct tier lists (repeated, not always next to each other), marks away from
the entry, funding rates with their next payment time, and overrides of one position's bracket."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from liqwatch.cli import main

POSITIONS = 10_000
SHA256 = "f5990efd520a675d57cf3e2f7323fc129c0b37041212aadcd2d9bede3a1f141f"

_BRACKETS = [(0, 50_000, 0.004, 125), (50_000, 500_000, 0.005, 100), (500_000, 8_000_000, 0.01, 50)]
TIER_LISTS = [
    [{"min_notional": lo, "max_notional": hi, "mmr": mmr, "max_leverage": lev} for lo, hi, mmr, lev in _BRACKETS],
    [
        {"min_notional": 0, "max_notional": 25_000, "mmr": 0.01, "max_leverage": 50, "maint_amount": 0},
        {"min_notional": 25_000, "max_notional": 1_000_000, "mmr": 0.025, "max_leverage": 20, "maint_amount": 375},
        {"min_notional": 1_000_000, "max_notional": None, "mmr": 0.05, "max_leverage": 10, "maint_amount": 25_375},
    ],
    [{"min_notional": 0, "max_notional": 10_000_000, "mmr": 0.02, "max_leverage": 25}],
]


def portfolio(n: int) -> dict[str, Any]:
    positions: list[dict[str, Any]] = []
    i = 0
    while len(positions) < n:
        entry = 10 + (i * 37) % 9_990 + (i % 100) / 100
        position: dict[str, Any] = {
            "symbol": f"P{i:05d}/USDT:USDT",
            "side": "long" if i % 3 else "short",
            "size": round(0.5 + (i * 13) % 400 / 7, 6),
            "entry_price": entry,
            "mark_price": round(entry * (1 + ((i * 7) % 41 - 20) / 400), 8),
            "margin_mode": "isolated" if i % 4 == 0 else "cross",
            "tiers": TIER_LISTS[(i // 3) % 3],
        }
        if i % 4 == 0:
            position["leverage"] = 2 + i % 20
        if i % 5 == 0:
            position["funding_rate"] = ((i % 9) - 4) / 10_000
            position["next_funding_time"] = 1_796_140_800_000 + (i % 3) * 28_800_000
        if i % 97 == 0:  # a bracket pinned by the file
            del position["tiers"]
            position["mmr"], position["maint_amount"], position["max_leverage"] = 0.006, 12.5, 75
        if i % 50 == 1 and len(positions) + 2 <= n:  # hedge legs of one cross symbol
            position["margin_mode"] = "cross"
            position.pop("leverage", None)
            positions.append({**position, "side": "long", "position_side": "long"})
            positions.append({**position, "side": "short", "position_side": "short", "size": position["size"] / 2})
        else:
            positions.append(position)
        i += 1
    return {"exchange": "binance", "wallet_balance": 2.5e7, "positions": positions}


def test_large_portfolio_json_is_byte_identical(tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    path = tmp_path / "portfolio.json"
    path.write_text(json.dumps(portfolio(POSITIONS)))
    assert main(["calc", "--portfolio", str(path), "--json"]) == 0
    captured = capsysbinary.readouterr()
    doc = json.loads(captured.out)
    assert len(doc["positions"]) == POSITIONS
    # every kind the file mixes is in the answer (so the hash covers them)
    kinds = {(p["margin_mode"], p["position_side"], p["funding"] is not None) for p in doc["positions"]}
    assert {("cross", "both", True), ("isolated", "both", True), ("cross", "long", False)} <= kinds
    assert hashlib.sha256(captured.out).hexdigest() == SHA256
