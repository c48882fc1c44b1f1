"""Issue #20 ("the first hour"), the calc points: stale-table warnings on every what-if, largest
sizes that are allowed, --margin against --leverage, percentages, --beta and far what-if prices."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from liqwatch.cli import main

ROOT = Path(__file__).resolve().parents[2]
PORTFOLIO = str(ROOT / "examples" / "portfolio.toml")
BINANCE_10X = ["--exchange", "binance", "--symbol", "BTCUSDT", "--side", "long", "--size", "1"]
BINANCE_10X += ["--entry", "95000", "--leverage", "10"]


def calc(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[str, str]:
    assert main(["calc", *args]) == 0
    captured = capsys.readouterr()
    return captured.out, captured.err


def calc_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[dict[str, Any], str]:
    out, err = calc(capsys, *args, "--json")
    data: dict[str, Any] = json.loads(out)
    return data, err


# ---------------------------------------------------------------- point 7: largest sizes are allowed


def test_target_distance_answer_as_printed_is_accepted_by_add_size(capsys: pytest.CaptureFixture[str]) -> None:
    out, _ = calc(capsys, *BINANCE_10X, "--target-distance", "5")
    shown = re.search(r"of the mark: ([\d,.]+) BTC \(limited by bracket\)", out)
    assert shown is not None and "NOT ALLOWED" not in out
    doc, _ = calc_json(capsys, *BINANCE_10X, "--add-size", shown.group(1).replace(",", ""))
    assert doc["what_if"]["allowed"] is True
    doc, _ = calc_json(capsys, *BINANCE_10X, "--target-distance", "5")
    exact = doc["what_if"]["max_add_size"]
    assert doc["what_if"]["allowed"] is True
    assert calc_json(capsys, *BINANCE_10X, "--add-size", repr(exact))[0]["what_if"]["allowed"] is True


def test_add_size_largest_as_printed_is_accepted(capsys: pytest.CaptureFixture[str]) -> None:
    out, _ = calc(capsys, *BINANCE_10X, "--add-size", "1")
    shown = re.search(r"within the bracket's max leverage: ([\d,.]+) BTC", out)
    assert shown is not None
    doc, _ = calc_json(capsys, *BINANCE_10X, "--add-size", shown.group(1).replace(",", ""))
    assert doc["what_if"]["allowed"] is True


def test_set_leverage_says_whether_the_bracket_cap_is_allowed(capsys: pytest.CaptureFixture[str]) -> None:
    cross = ["--margin-mode", "cross", "--wallet-balance", "10000", "--set-leverage", "20"]
    out, _ = calc(capsys, *BINANCE_10X, *cross)
    assert "Position value allowed at 20x: below 100,000,000.00 USDT" in out
    doc, _ = calc_json(capsys, *BINANCE_10X, *cross)
    assert doc["what_if"]["max_position_value_inclusive"] is False
    okx = ["--exchange", "okx", "--symbol", "BTC-USDT-SWAP", "--side", "long", "--size", "1", "--entry", "60000"]
    out, _ = calc(capsys, *okx, "--leverage", "10", *cross)
    assert "Position size allowed at 20x: up to 200 BTC" in out  # OKX counts size, (floor, cap]
