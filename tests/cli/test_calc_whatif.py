"""`liqwatch calc` what-if scenarios: JSON shape, flags, and one-line errors."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from liqwatch.cli import main

ROOT = Path(__file__).resolve().parents[2]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main(["calc", *args, "--json"]) == 0
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    return data


PORTFOLIO = str(ROOT / "examples" / "portfolio.toml")


def test_cli_add_size_json(capsys: pytest.CaptureFixture[str]) -> None:
    data = run(capsys, "--portfolio", PORTFOLIO, "--symbol", "SOLUSDT", "--add-size", "300")
    w = data["what_if"]
    assert w["scenario"] == "add_size" and w["position"] == 2
    assert set(w["before"]) == set(w["after"]) == {"exchange", "formula", "positions", "account"}
    assert w["before"]["positions"] == data["positions"]
    assert w["after"]["positions"][2]["size"] == pytest.approx(2950)
    assert "max_add_size" in w and w["allowed"] is True
    # the example's SOL position sits just below a tier floor, and the add crosses it
    assert (w["before"]["positions"][2]["tier"], w["after"]["positions"][2]["tier"]) == (2, 3)


def test_example_portfolio_comments_match_the_bundled_tiers(capsys: pytest.CaptureFixture[str]) -> None:
    """examples/portfolio.toml says where its near-boundary position sits: the comment must be what calc says."""
    text = Path(PORTFOLIO).read_text()
    m = re.search(r"notional ([\d,]+): ([\d.]+)% below the ([\d,]+) tier-(\d+) floor", text)
    assert m is not None, "the example names its near-boundary position's notional and the next tier's floor"
    notional, below, floor, tier = (float(m[1].replace(",", "")), float(m[2]), float(m[3].replace(",", "")), int(m[4]))
    sol = run(capsys, "--portfolio", PORTFOLIO)["positions"][2]
    assert sol["notional"] == pytest.approx(notional, abs=1)
    assert sol["next_tier_notional"] == floor and sol["tier"] + 1 == tier
    assert (1 - notional / floor) * 100 == pytest.approx(below, abs=0.05)


def test_cli_shock_range_and_order(capsys: pytest.CaptureFixture[str]) -> None:
    data = run(capsys, "--portfolio", PORTFOLIO, "--shock", "-30:0:5")
    w = data["what_if"]
    assert [round(s["move"], 6) for s in w["steps"]] == [-0.3, -0.25, -0.2, -0.15, -0.1, -0.05, 0.0]
    assert [e["symbols"][0] for e in w["order"]] == ["SOL/USDT:USDT", "DOGE/USDT:USDT"]
    assert all("index" in p for p in w["steps"][0]["positions"])


def test_cli_single_position_scenarios(capsys: pytest.CaptureFixture[str]) -> None:
    base = [
        "--exchange",
        "bybit",
        "--symbol",
        "BTCUSDT",
        "--side",
        "long",
        "--size",
        "1",
        "--entry",
        "60000",
        "--leverage",
        "10",
    ]
    w = run(capsys, *base, "--set-leverage", "5")["what_if"]
    assert w["margin_change"] == pytest.approx(6000.0)
    w = run(capsys, *base, "--add-margin", "-100")["what_if"]
    assert w["allowed"] is False
    w = run(capsys, *base, "--target-margin-ratio", "0.8")["what_if"]
    assert w["targets"][0]["target_mark"] is not None
    w = run(capsys, *base, "--shock", "-5", "--shock", "-8")["what_if"]
    assert [round(s["move"], 6) for s in w["steps"]] == [-0.08, -0.05]
    w = run(capsys, *base, "--partial")["what_if"]
    assert w["partial"]["model"] == "one_tier_down"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--portfolio", PORTFOLIO, "--add-size", "1"], "--add-size: name the position with --symbol"),
        (["--portfolio", PORTFOLIO, "--symbol", "DOGEUSDT", "--add-size", "1"], "--side"),
        (["--portfolio", PORTFOLIO, "--symbol", "XRPUSDT", "--add-size", "1"], "--symbol: no"),
        (["--portfolio", PORTFOLIO, "--shock", "-5", "--add-size", "1"], "one what-if scenario per run"),
        (["--portfolio", PORTFOLIO, "--shock", "abc"], "--shock"),
        (["--portfolio", PORTFOLIO, "--shock", "-150"], "--shock"),
        (["--portfolio", PORTFOLIO, "--symbol", "BTCUSDT", "--add-margin", "10"], "--add-margin: only isolated"),
        (["--portfolio", PORTFOLIO, "--symbol", "SOLUSDT", "--add-size", "-1"], "--add-size"),
        (["--portfolio", PORTFOLIO, "--beta", "BTC=2"], "--beta: only with --shock"),
    ],
)
def test_cli_scenario_errors(capsys: pytest.CaptureFixture[str], args: list[str], needle: str) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["calc", *args])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0], err
