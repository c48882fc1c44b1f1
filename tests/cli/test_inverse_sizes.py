"""Issue #20 point 8: on a coin-margined market ``--size`` is the USD face value; a size below one
contract (``--size 1`` on BTCUSD_PERP: 1 USD, not 1 BTC) or a fraction of a contract where the
venue trades whole ones is refused in one line that names ``--contracts`` and what ``--size`` is."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes.calc_run import run_error, run_json

BINANCE = ["--exchange", "binance", "--symbol", "BTCUSD_PERP", "--side", "long", "--entry", "95000", "--leverage", "10"]


def test_size_below_one_contract_names_contracts_and_the_unit(capsys: pytest.CaptureFixture[str]) -> None:
    line = run_error(capsys, *BINANCE, "--size", "1")
    assert line == (
        "liqwatch: error: --size: on BTCUSD_PERP --size is in USD (contracts × 100 USD): 1 is below one "
        "contract; for 1 BTC of exposure give --contracts 950 or --size 95000"
    )


def test_size_too_small_even_as_coins(capsys: pytest.CaptureFixture[str]) -> None:
    line = run_error(capsys, *BINANCE, "--size", "0.0001")
    assert line.endswith("0.0001 is below one contract; the smallest position is --contracts 1 (--size 100)")


def test_fraction_of_a_contract_names_the_nearest_whole_counts(capsys: pytest.CaptureFixture[str]) -> None:
    line = run_error(capsys, *BINANCE, "--size", "150")
    assert line == (
        "liqwatch: error: --size: on BTCUSD_PERP --size is in USD (contracts × 100 USD) and there are no "
        "fractional contracts on Binance COIN-M futures: 150 is 1.5 contracts; give --size 100 or 200 "
        "(--contracts 1 or 2)"
    )
    line = run_error(capsys, *BINANCE, "--contracts", "1.5")
    assert line == (
        "liqwatch: error: --contracts: no fractional contracts on Binance COIN-M futures: give --contracts 1 or 2, "
        "not 1.5"
    )
    assert run_error(capsys, *BINANCE, "--contracts", "0.5").endswith("give --contracts 1, not 0.5")


def test_whole_contracts_are_priced(capsys: pytest.CaptureFixture[str]) -> None:
    pos = run_json(capsys, *BINANCE, "--size", "95000")["positions"][0]
    assert pos["contracts"] == 950 and pos["size"] == 95000
    assert run_json(capsys, *BINANCE, "--contracts", "950")["positions"][0]["size"] == 95000


@pytest.mark.parametrize(
    ("venue", "symbol", "unit"),
    [("bybit", "BTCUSD", "1"), ("okx", "BTC-USD-SWAP", "100"), ("gate", "BTC_USD", "1")],
)
def test_other_venues_trade_whole_contracts(
    capsys: pytest.CaptureFixture[str], venue: str, symbol: str, unit: str
) -> None:
    args = ["--exchange", venue, "--symbol", symbol, "--side", "short", "--entry", "60000", "--leverage", "5"]
    args += ["--mmr", "0.005"]
    line = run_error(capsys, *args, "--size", "250.5")
    assert line.startswith(f"liqwatch: error: --size: on {symbol} --size is in USD (contracts × {unit} USD)")
    assert "--contracts" in line
    assert run_error(capsys, *args, "--contracts", "2.5").startswith("liqwatch: error: --contracts: no fractional")
    assert run_json(capsys, *args, "--contracts", "3")["positions"][0]["contracts"] == 3


def test_float_noise_is_a_whole_count(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--exchange", "bybit", "--symbol", "BTCUSD", "--side", "long", "--entry", "60000", "--leverage", "5"]
    pos = run_json(capsys, *args, "--mmr", "0.005", "--size", "0.3", "--contract-size", "0.1")["positions"][0]
    assert pos["contracts"] == pytest.approx(3)  # 0.3 / 0.1 = 2.9999999999999996: three contracts


def test_linear_sizes_are_untouched(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--exchange", "binance", "--symbol", "BTCUSDT", "--side", "long", "--entry", "95000", "--leverage", "10"]
    assert run_json(capsys, *args, "--size", "0.0015")["positions"][0]["size"] == 0.0015


def test_portfolio_file_names_its_fields(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "book.toml"
    head = 'exchange = "binance"\n[[positions]]\nsymbol = "BTCUSD_PERP"\nside = "long"\nentry_price = 95000\n'
    path.write_text(head + "leverage = 10\nsize = 1\n")
    line = run_error(capsys, "--portfolio", str(path))
    assert line == (
        f"liqwatch: error: {path}: positions[0].size: on BTCUSD_PERP size is in USD (contracts × 100 USD): 1 is "
        "below one contract; for 1 BTC of exposure give contracts = 950 or size = 95000"
    )
    path.write_text(head + "leverage = 10\ncontracts = 2.5\n")
    line = run_error(capsys, "--portfolio", str(path))
    assert line == (
        f"liqwatch: error: {path}: positions[0].contracts: no fractional contracts on Binance COIN-M futures: "
        "give contracts = 2 or 3, not 2.5"
    )
