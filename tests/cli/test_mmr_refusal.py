"""A maintenance margin rate of 1 (100 %) or more is never a venue's: ``--mmr 5`` or a portfolio's
``mmr = 5`` is a percentage typed as a fraction. Refused in one line naming the field, with the
fraction (and for calc's flag the percentage) to type instead."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fakes.calc_run import run_error, run_text

BTC = ("--exchange", "binance", "--symbol", "BTCUSDT", "--side", "long", "--size", "1", "--entry", "95000")


@pytest.mark.parametrize(
    ("typed", "shown", "way"),
    [("5", "5", "for 5 % give 0.05 or 5%"), ("1", "1", "for 1 % give 0.01 or 1%"), ("100%", "1", "give 0.01 or 1%")],
)
def test_mmr_flag_of_one_or_more_is_refused_with_the_way_out(
    capsys: pytest.CaptureFixture[str], typed: str, shown: str, way: str
) -> None:
    line = run_error(capsys, *BTC, "--leverage", "10", f"--mmr={typed}")
    assert line.startswith(f"liqwatch: error: --mmr: {shown} is a maintenance margin rate of "), line
    assert "0.005 or 0.5%" in line and line.endswith(way), line


def test_an_mmr_below_one_is_taken(capsys: pytest.CaptureFixture[str]) -> None:
    assert "0.50%" in run_text(capsys, *BTC, "--leverage", "10", "--mmr", "0.5%")
    assert "must be in [0, 1), got -0.1" in run_error(capsys, *BTC, "--leverage", "10", "--mmr=-0.1")


@pytest.mark.parametrize("fmt", ["json", "toml"])
def test_a_portfolio_mmr_of_one_or_more_is_refused_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    position = {"symbol": "BTCUSDT", "side": "long", "size": 1, "entry_price": 95000, "leverage": 10, "mmr": 5}
    path = tmp_path / f"p.{fmt}"
    if fmt == "json":
        path.write_text(json.dumps({"exchange": "binance", "wallet_balance": 10000, "positions": [position]}))
    else:
        rows = "\n".join(f"{k} = {json.dumps(v)}" for k, v in position.items())
        path.write_text(f'exchange = "binance"\nwallet_balance = 10000\n[[positions]]\n{rows}\n')
    line = run_error(capsys, "--portfolio", str(path))
    assert "positions[0].mmr: 5 is a maintenance margin rate of 500 %" in line, line
    assert line.endswith("(0.5 % is 0.005); for 5 % give 0.05"), line  # a file's mmr is a number: no "5%"
