"""Portfolio files at scale: one validation pass, identical tier lists build one table, errors
still name the field (issue 9, point 5)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from liqwatch.cli import main
from liqwatch.core import VENUES
from liqwatch.portfolio import load_portfolio
from liqwatch.request import PositionRequest, TableCache, build_spec

TIERS = [
    {"min_notional": 0, "max_notional": 50_000, "mmr": 0.004, "max_leverage": 125},
    {"min_notional": 50_000, "max_notional": 500_000, "mmr": 0.005, "max_leverage": 100},
    {"min_notional": 500_000, "max_notional": None, "mmr": 0.01, "max_leverage": 50},
]


def _write(tmp_path: Path, positions: list[dict[str, Any]], name: str = "p.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps({"exchange": "binance", "wallet_balance": 1e6, "positions": positions}))
    return path


def _pos(i: int, tiers: list[dict[str, Any]] | None = TIERS) -> dict[str, Any]:
    row: dict[str, Any] = {"symbol": f"C{i}/USDT:USDT", "side": "long", "size": 1, "entry_price": 100}
    row["margin_mode"] = "cross"
    if tiers is not None:
        row["tiers"] = tiers
    return row


def test_identical_tier_lists_build_one_table(tmp_path: Path) -> None:
    other = [dict(TIERS[0], mmr=0.003), *TIERS[1:]]
    doc = load_portfolio(_write(tmp_path, [_pos(0), _pos(1), _pos(2, other), _pos(3), _pos(4, other)]))
    venue = VENUES["binance"]
    cache = TableCache()
    specs = [build_spec(venue, PositionRequest(**p), table_cache=cache) for p in doc["positions"]]
    assert specs[0].tiers is specs[1].tiers is specs[3].tiers
    assert specs[2].tiers is specs[4].tiers
    assert specs[0].tiers is not specs[2].tiers
    assert specs[2].tiers.tiers[0].mmr == 0.003 and specs[0].tiers.tiers[0].mmr == 0.004


def test_cached_tables_give_the_same_numbers_as_fresh_ones(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, [_pos(i) for i in range(50)])
    assert main(["calc", "--portfolio", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    venue = VENUES["binance"]
    from liqwatch.core import assess

    doc = load_portfolio(path)
    fresh = assess(venue, [build_spec(venue, PositionRequest(**p)) for p in doc["positions"]], 1e6)
    for got, want in zip(out["positions"], fresh.positions, strict=True):
        assert got["liquidation_price"] == want.liquidation_price


@pytest.mark.parametrize(
    ("tiers", "expect"),
    [
        ([{"min_notional": 0, "max_notional": 100, "max_leverage": 10, "mmr": 0.01},
          {"min_notional": 50, "max_leverage": 5, "mmr": 0.02}], "positions[1].tiers: tiers overlap"),
        ([{"min_notional": 100, "max_notional": 100, "max_leverage": 10, "mmr": 0.01}],
         "positions[1].tiers: max_notional must be greater than min_notional"),
        ([], "positions[1].tiers: List should have at least 1 item"),
        ([{"min_notional": 0, "max_leverage": 10, "mmr": 0.01, "cum": 0}], "positions[1].tiers[0].cum: unknown field"),
        ([{"min_notional": 0, "max_leverage": "x", "mmr": 0.01}], "positions[1].tiers[0].max_leverage"),
    ],
)  # fmt: skip
def test_tier_errors_name_the_position(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], tiers: list[dict[str, Any]], expect: str
) -> None:
    path = _write(tmp_path, [_pos(0), _pos(1, tiers)])
    with pytest.raises(SystemExit) as exc:
        main(["calc", "--portfolio", str(path)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and expect in err, err


@pytest.mark.parametrize("bad", [0, 3, 299])
def test_a_refused_position_is_named_by_its_index(tmp_path: Path, capsys: pytest.CaptureFixture[str], bad: int) -> None:
    # small and large files (the typed reader) alike: the index is the refused position's own
    positions = [_pos(i) for i in range(300)]
    positions[bad]["leverage"] = 500  # above the table's 125x
    path = _write(tmp_path, positions[: max(bad + 1, 4)] if bad < 299 else positions)
    with pytest.raises(SystemExit) as exc:
        main(["calc", "--portfolio", str(path), "--json"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("liqwatch: error: ") and f"positions[{bad}].leverage: 500x is above" in err, err


def test_tiers_file_errors_name_the_symbol(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tiers = tmp_path / "t.json"
    tiers.write_text(json.dumps({"tiers": {"BTCUSDT": [TIERS[1], TIERS[0]], "ETHUSDT": [TIERS[0], TIERS[0]]}}))
    path = _write(tmp_path, [{"symbol": "BTCUSDT", "side": "long", "size": 1, "entry_price": 100, "leverage": 5}])
    with pytest.raises(SystemExit):
        main(["calc", "--portfolio", str(path), "--tiers", str(tiers)])
    err = capsys.readouterr().err
    assert "tiers file: tiers.ETHUSDT: tiers overlap" in err


def test_json_syntax_error_is_reported_by_line_and_column(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"exchange": "binance",\n "positions": [}')
    with pytest.raises(SystemExit):
        main(["calc", "--portfolio", str(path)])
    err = capsys.readouterr().err.strip()
    assert err == f"liqwatch: error: {path}: not valid JSON: Expecting value at line 2 column 16"


def test_json_output_is_the_same_document_through_either_writer(tmp_path: Path) -> None:
    """Small documents go through the json module, large ones through orjson: the same JSON."""
    import io

    from liqwatch.output import SMALL_DOCUMENT, write_json

    doc = {"positions": [{"a": 1.5, "b": None, "c": "—"}] * (SMALL_DOCUMENT + 1), "account": {"x": 0.1}}
    small = {"positions": doc["positions"][:1], "account": doc["account"]}
    for d in (doc, small):
        out = io.StringIO()
        write_json(d, out)
        assert json.loads(out.getvalue()) == d and out.getvalue().endswith("\n")
    big = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    write_json(doc, big)
    big.flush()
    assert json.loads(big.buffer.getvalue()) == doc  # type: ignore[attr-defined]
