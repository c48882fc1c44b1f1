"""Issue #20 ("the first hour"), the calc points: stale-table warnings on every what-if, largest
sizes that are allowed, --margin against --leverage, percentages, --beta and far what-if prices."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from liqwatch.cli import main
from tests.fakes.calc_run import run_error

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


# ---------------------------------------------------------------- point 4: stale tables warn on every what-if

BYBIT = ["--exchange", "bybit", "--symbol", "BTCUSDT", "--side", "long", "--size", "1", "--entry", "60000"]
BYBIT += ["--leverage", "10"]
SCENARIO_ARGS = {
    "add_size": ["--add-size", "1"],
    "set_leverage": ["--set-leverage", "5"],
    "add_margin": ["--add-margin", "10"],
    "shock": ["--shock", "-5"],
    "target_margin_ratio": ["--target-margin-ratio", "0.8"],
    "target_distance": ["--target-distance", "5"],
    "ladder": ["--ladder"],
    "partial": ["--partial"],
    "funding_periods": ["--funding-rate", "0.0001", "--funding-periods", "3"],
}
TODAY = 20_794  # 2026-12-07 in days since 1970-01-01: Bybit's bundled BTCUSDT table (2024-03-12) is 1,000 days old
STALE = "liqwatch: warning: BTC/USDT:USDT tier table is 1000 days old (bundled, as of 2024-03-12); refresh it with"


@pytest.fixture
def today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("liqwatch.markets.time.time", lambda: TODAY * 86400.0 + 3600.0)


def test_every_scenario_is_covered() -> None:
    from liqwatch.scenarios import SCENARIOS

    assert set(SCENARIO_ARGS) == set(SCENARIOS)


@pytest.mark.usefixtures("today")
@pytest.mark.parametrize("scenario", sorted(SCENARIO_ARGS))
@pytest.mark.parametrize("as_json", [False, True], ids=["table", "json"])
def test_stale_table_warns_on_every_what_if(capsys: pytest.CaptureFixture[str], scenario: str, as_json: bool) -> None:
    out, err = calc(capsys, *BYBIT, *SCENARIO_ARGS[scenario], *(["--json"] if as_json else []))
    assert err.splitlines()[0].startswith(STALE), err
    assert "warning" not in out  # stdout stays the answer (the JSON unchanged)
    if as_json:
        assert json.loads(out)["what_if"]["scenario"] == scenario


@pytest.mark.usefixtures("today")
def test_plain_calc_still_warns_once(capsys: pytest.CaptureFixture[str]) -> None:
    _, err = calc(capsys, *BYBIT)
    assert err.splitlines() == [err.splitlines()[0]] and err.startswith(STALE)


@pytest.mark.usefixtures("today")
@pytest.mark.parametrize("what", [["--shock", "-5"], ["--symbol", "SOLUSDT", "--add-size", "10"], ["--ladder"]])
def test_stale_tables_warn_on_portfolio_what_ifs(capsys: pytest.CaptureFixture[str], what: list[str]) -> None:
    # the example's four Binance tables (2026-03-26) are 256 days old: one summary line
    _, err = calc(capsys, "--portfolio", PORTFOLIO, *what)
    assert err.splitlines() == [
        "liqwatch: warning: 4 tier tables are over 30 days old (oldest: BTC/USDT:USDT, 256 days, bundled, as of "
        "2026-03-26); refresh them with `liqwatch tiers update`"
    ]


# ---------------------------------------------------------------- point 11: percentages, --beta, far prices


def test_percent_parser() -> None:
    from liqwatch.percent import fraction_arg, percent_arg, split_percent

    assert [percent_arg(t) for t in ("-10", "-10%", "-10 %", " -10 % ", "5.5%")] == [-10, -10, -10, -10, 5.5]
    assert [fraction_arg(t) for t in ("0.005", "0.5%", "80 %", "-0.01%")] == [0.005, 0.005, 0.8, -0.0001]
    for bad in ("", "%", "5%%", "abc", "5 % %", "--5"):
        with pytest.raises(ValueError):
            split_percent(bad)


@pytest.mark.parametrize(
    ("flags", "same_as"),
    [
        (["--shock", "-10%"], ["--shock", "-10"]),
        (["--shock", "-10 %"], ["--shock", "-10"]),
        (["--shock", "-30%:0%:10%"], ["--shock", "-30:0:10"]),
        (["--target-distance", "5%"], ["--target-distance", "5"]),
        (["--target-margin-ratio", "80%"], ["--target-margin-ratio", "0.8"]),
        (["--mmr", "0.5%"], ["--mmr", "0.005"]),
        (["--fee-rate", "0.06 %"], ["--fee-rate", "0.0006"]),
        (["--funding-rate", "-0.01%"], ["--funding-rate", "-0.0001"]),
    ],
)
def test_percent_sign_accepted_wherever_a_percentage_is_taken(
    capsys: pytest.CaptureFixture[str], flags: list[str], same_as: list[str]
) -> None:
    with_sign, _ = calc_json(capsys, *BYBIT, *flags)
    plain, _ = calc_json(capsys, *BYBIT, *same_as)
    assert with_sign == plain


@pytest.mark.parametrize(
    ("flags", "line"),
    [
        (["--mmr", "5%%"], "liqwatch calc: error: argument --mmr: '5%%' is not a number or a percentage"),
        (["--target-distance", "five"], "liqwatch calc: error: argument --target-distance: 'five' is not a percentage"),
        (["--shock", "-10%%"], "liqwatch: error: --shock: '-10%%' is not a percentage or a FROM:TO:STEP range"),
    ],
)
def test_bad_percentages_are_one_line(capsys: pytest.CaptureFixture[str], flags: list[str], line: str) -> None:
    assert run_error(capsys, *BYBIT, *flags).startswith(line)


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            [*BYBIT, "--shock", "-10", "--beta", "FOO=2"],
            "liqwatch: error: --beta: FOO/USDT:USDT is not held: the account holds BTC/USDT:USDT",
        ),
        (
            ["--portfolio", PORTFOLIO, "--shock", "-10", "--beta", "XRPUSDT=2"],
            "liqwatch: error: --beta: XRP/USDT:USDT is not held: the account holds BTC/USDT:USDT, ETH/USDT:USDT, "
            "SOL/USDT:USDT, DOGE/USDT:USDT",
        ),
        (
            ["--portfolio", PORTFOLIO, "--symbol", "SOLUSDT", "--shock", "-10", "--beta", "ETHUSDT=2"],
            "liqwatch: error: --beta: ETH/USDT:USDT does not move: with --symbol only SOL/USDT:USDT is shocked",
        ),
        (
            [*BYBIT, "--shock", "-10", "--beta", "BTCUSDT=2", "--beta", "BTC/USDT:USDT=3"],
            "liqwatch: error: --beta: BTC/USDT:USDT is given twice (2 and 3): give one",
        ),
    ],
)
def test_a_beta_that_would_be_ignored_is_refused(
    capsys: pytest.CaptureFixture[str], args: list[str], line: str
) -> None:
    assert run_error(capsys, *args) == line


def test_a_held_beta_still_applies(capsys: pytest.CaptureFixture[str]) -> None:
    doc, _ = calc_json(capsys, "--portfolio", PORTFOLIO, "--shock", "-10", "--beta", "ETHUSDT=2")
    assert doc["what_if"]["betas"] == {"ETH/USDT:USDT": 2.0}


DOGE = ["--exchange", "binance", "--symbol", "DOGEUSDT", "--side", "long", "--size", "1000", "--entry", "0.6"]
DOGE += ["--leverage", "10", "--add-size", "10"]


@pytest.mark.usefixtures("today")
@pytest.mark.parametrize("as_json", [False, True], ids=["table", "json"])
def test_a_what_if_price_far_from_the_mark_says_how_far(capsys: pytest.CaptureFixture[str], as_json: bool) -> None:
    out, err = calc(capsys, *DOGE, "--add-price", "60000", *(["--json"] if as_json else []))
    assert err.splitlines()[-1] == (
        "liqwatch: warning: --add-price 60,000 is +9,999,900 % from the mark 0.600000 of DOGE/USDT:USDT "
        "(more than 50 % away): check it is this market's price"
    )
    assert "warning" not in out
    _, err = calc(capsys, *DOGE, "--add-price", "0.25")
    assert "--add-price 0.25 is -58.3 % from the mark" in err
    _, err = calc(capsys, *DOGE, "--add-price", "0.85")  # +41.7 %: within 50 %, no word
    assert "--add-price" not in err


# ---------------------------------------------------------------- point 9: --margin against --leverage

BTC_60K = ["--exchange", "binance", "--symbol", "BTCUSDT", "--side", "long", "--size", "1", "--entry", "60000"]


def test_margin_below_the_leverage_is_refused_naming_both(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_error(capsys, *BTC_60K, "--leverage", "20", "--margin", "100") == (
        "liqwatch: error: --margin: 100 USDT on a 60,000 USDT position (at entry) is 600x, above the leverage 20x: "
        "give one of them, or a margin of at least 3,000 USDT (more is fine: added isolated margin lowers the leverage)"
    )


def test_margin_alone_is_checked_against_the_bracket(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_error(capsys, *BTC_60K, "--margin", "100") == (
        "liqwatch: error: --margin: 100 USDT on a 60,000 USDT position (at entry) is 600x, above the 150x maximum "
        "of BTC/USDT:USDT's bracket on binance: post at least 400 USDT"
    )


def test_margin_above_the_initial_margin_is_added_margin(capsys: pytest.CaptureFixture[str]) -> None:
    doc, _ = calc_json(capsys, *BTC_60K, "--leverage", "20", "--margin", "5000")
    pos = doc["positions"][0]
    assert pos["margin_balance"] == 5000.0 and pos["leverage"] == 20.0
    # a margin copied from a screen, a cent or so short of 3,000 (0.1 % slack), is the same position
    doc, _ = calc_json(capsys, *BTC_60K, "--leverage", "20", "--margin", "2998")
    assert doc["positions"][0]["margin_balance"] == 2998.0


@pytest.mark.usefixtures("today")
def test_margin_somewhat_below_the_leverage_is_used_with_a_word(capsys: pytest.CaptureFixture[str]) -> None:
    """Venues take fees and funding from isolated margin: 2,900 on a 20x 60,000 position (20.7x)
    is a real position's margin, used as given, and the one line says so."""
    doc, err = calc_json(capsys, *BTC_60K, "--leverage", "20", "--margin", "2900")
    assert doc["positions"][0]["margin_balance"] == 2900.0
    assert err.splitlines()[-1] == (
        "liqwatch: warning: --margin: 2,900 USDT on a 60,000 USDT position (at entry) is 20.69x, above the "
        "leverage 20x: the margin is used (fees and funding are taken from isolated margin)"
    )
    # less than half the initial margin (42.9x for 20x) is the contradiction
    assert "is 42.86x, above the leverage 20x: give one of them" in run_error(
        capsys, *BTC_60K, "--leverage", "20", "--margin", "1400"
    )


def test_a_venue_reported_margin_just_below_the_max_leverage_is_accepted(capsys: pytest.CaptureFixture[str]) -> None:
    """Hyperliquid's API reports a 20x-max position with 0.491666 USDC margin on 10.03 USDC (20.4x)."""
    args = ["--exchange", "hyperliquid", "--symbol", "BTC", "--side", "long", "--size", "0.0004"]
    doc, err = calc_json(capsys, *args, "--entry", "25075", "--margin", "0.491666", "--max-leverage", "20")
    assert doc["positions"][0]["margin_balance"] == pytest.approx(0.491666)
    assert "is 20.4x, above the 20x maximum of BTC/USDC:USDC's bracket on hyperliquid: the margin is used" in err


def test_inverse_margin_in_coin_is_checked_too(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--exchange", "binance", "--symbol", "BTCUSD_PERP", "--side", "long", "--contracts", "100"]
    line = run_error(capsys, *args, "--entry", "25000", "--leverage", "10", "--margin", "0.001")
    assert line.startswith("liqwatch: error: --margin: 0.001 BTC on a 0.4 BTC position (at entry) is 400x, above the")


def test_portfolio_margin_contradiction_names_the_position(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    book = tmp_path / "book.toml"
    book.write_text(
        'exchange = "binance"\n\n[[positions]]\nsymbol = "ETHUSDT"\nside = "long"\nsize = 1\nentry_price = 3000\n'
        'leverage = 10\n\n[[positions]]\nsymbol = "BTCUSDT"\nside = "short"\nsize = 1\nentry_price = 60000\n'
        "leverage = 20\nisolated_margin = 100\n"
    )
    line = run_error(capsys, "--portfolio", str(book))
    assert line.startswith(f"liqwatch: error: {book}: positions[1].isolated_margin: 100 USDT on a 60,000 USDT")
    assert "above the leverage 20x" in line


def test_portfolio_margin_shortfalls_are_one_line_each_or_one_summary(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    position = 'symbol = "{}USDT"\nside = "long"\nsize = 1\nentry_price = 100\nleverage = 10\nisolated_margin = 9.5\n'
    for n, symbols in ((2, ["ETH", "SOL"]), (5, ["ETH", "SOL", "XRP", "DOGE", "BNB"])):
        book = tmp_path / f"book{n}.toml"
        book.write_text('exchange = "binance"\n' + "".join(f"\n[[positions]]\n{position.format(s)}" for s in symbols))
        _, err = calc(capsys, "--portfolio", str(book))
        lines = [line for line in err.splitlines() if "isolated_margin" in line]
        first = (
            f"liqwatch: warning: {book}: positions[0].isolated_margin: 9.5 USDT on a 100 USDT position (at entry) "
            "is 10.53x, above the leverage 10x: the margin is used (fees and funding are taken from isolated margin)"
        )
        if n == 2:
            assert lines == [first, first.replace("positions[0]", "positions[1]")]
        else:
            assert lines == [f"{first} (and 4 more positions like it)"]


def test_a_margin_ratio_typed_as_a_bare_percentage_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_error(capsys, *BYBIT, "--target-margin-ratio", "80") == (
        "liqwatch: error: --target-margin-ratio: 80 is a margin ratio of 8,000 %, past liquidation (100 %): give a "
        "fraction up to 1 or a percentage with its sign (for 80 %: 0.8 or 80%)"
    )
    doc, _ = calc_json(capsys, *BYBIT, "--target-margin-ratio", "1")  # 100 %: the liquidation price
    assert doc["what_if"]["targets"][0]["target_mark"] == pytest.approx(doc["positions"][0]["liquidation_price"])
