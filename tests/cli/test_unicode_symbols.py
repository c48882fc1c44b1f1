"""Issue #20 point 10: a listed symbol whose base is not ASCII (Binance ``我踏马来了/USDT:USDT``)
is read in unified form by calc and ``tiers show``, and the human output lays out by terminal
cells (a wide character takes two)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from liqwatch.cli import main
from liqwatch.core.symbols import to_unified, unified_parts
from liqwatch.output import cell_len, wrap_cells
from tests.fakes.calc_run import run_json, run_text

WIDE = "我踏马来了/USDT:USDT"
BOX = tuple("┌│└┏┃┡")


def box_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(BOX)]


def calc_args(symbol: str = WIDE) -> list[str]:
    return ["--exchange", "binance", "--symbol", symbol, "--side", "long", "--size", "1000", "--entry", "0.02"]


@pytest.mark.parametrize(
    ("symbol", "unified"),
    [
        (WIDE, WIDE),
        ("我踏马来了USDT", WIDE),
        ("我踏马来了/usdt:usdt", WIDE),
        ("币安人生/USDT:USDT", "币安人生/USDT:USDT"),
        ("龙虾USDT", "龙虾/USDT:USDT"),
    ],
)
def test_unicode_base_resolves_in_calc(capsys: pytest.CaptureFixture[str], symbol: str, unified: str) -> None:
    pos = run_json(capsys, *calc_args(symbol), "--leverage", "2")["positions"][0]
    assert pos["symbol"] == unified
    assert pos["tiers_source"] == "bundled"  # the bundled table, not an "unknown symbol"


def test_unicode_base_in_tiers_show(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tiers", "show", "--exchange", "binance", "--symbol", WIDE, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["symbol"] == WIDE and doc["id"] == "我踏马来了USDT" and doc["brackets"]
    assert main(["tiers", "show", "--exchange", "binance", "--symbol", WIDE]) == 0
    lines = box_lines(capsys.readouterr().out)
    assert lines and len({cell_len(line) for line in lines}) == 1


def test_symbol_parser_takes_any_script() -> None:
    assert unified_parts(WIDE) == ("我踏马来了", "USDT", "USDT")
    assert to_unified("我踏马来了USDT") == WIDE
    assert to_unified("龙虾-USDT-SWAP") == "龙虾/USDT:USDT"
    assert to_unified("btc_usdt") == "BTC/USDT:USDT"
    assert to_unified("BTC?USDT") is None  # still not anything at all


@pytest.mark.parametrize("columns", ["120", "80", "44"])
def test_one_position_card_is_square_in_cells(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, columns: str
) -> None:
    monkeypatch.setenv("COLUMNS", columns)
    out = run_text(capsys, *calc_args(), "--leverage", "10")
    lines = box_lines(out)
    assert len(lines) > 10
    widths = {cell_len(line) for line in lines}
    assert len(widths) == 1 and widths.pop() <= int(columns)
    assert "我踏马来了" in out


def test_portfolio_table_is_square_in_cells(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "book.toml"
    path.write_text(
        'exchange = "binance"\nwallet_balance = 1000\n'
        f'[[positions]]\nsymbol = "{WIDE}"\nside = "long"\nsize = 1000\nentry_price = 0.02\nleverage = 10\n'
        '[[positions]]\nsymbol = "BTCUSDT"\nside = "short"\nsize = 0.01\nentry_price = 95000\nleverage = 10\n'
    )
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["calc", "--portfolio", str(path)]) == 0
    lines = box_lines(capsys.readouterr().out)
    assert len(lines) == 6 and len({cell_len(line) for line in lines}) == 1


def test_cell_len_and_wrap() -> None:
    assert cell_len("BTC/USDT") == 8
    assert cell_len("我踏马来了") == 10
    assert cell_len("é") == 1 and cell_len("e\u0301") == 1  # a combining accent takes no cell
    assert wrap_cells("plain ascii text", 7) == ["plain", "ascii", "text"]  # textwrap's own answer
    parts = wrap_cells("我踏马来了我踏马来了 long isolated", 8, subsequent_indent="  ")
    assert all(cell_len(p) <= 8 for p in parts)
    assert "".join(p.strip() for p in parts) == "我踏马来了我踏马来了longisolated"
