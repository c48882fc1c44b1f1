"""`liqwatch calc`: flags, portfolio files, JSON shape, and one-line errors with exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from liqwatch.cli import main
from tests.fakes.calc_run import run_error, run_json
from tests.fakes.ports import refused_port

ROOT = Path(__file__).resolve().parents[2]

POSITION_KEYS = {
    "symbol",
    "side",
    "size",
    "entry_price",
    "mark_price",
    "margin_mode",
    "liquidation_price",
    "bankruptcy_price",
    "margin_ratio",
    "maintenance_margin",
    "initial_margin",
    "unrealized_pnl",
    "notional",
    "tier",
    "mmr",
    "maint_amount",
    "max_leverage",
    "distance_to_liquidation",
    "adl",
}
ACCOUNT_KEYS = {"wallet_balance", "margin_balance", "maintenance_margin", "margin_ratio"}


def test_single_position_json_shape(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(
        capsys,
        "--exchange",
        "binance",
        "--symbol",
        "BTC/USDT:USDT",
        "--side",
        "long",
        "--size",
        "0.5",
        "--entry",
        "60000",
        "--leverage",
        "20",
        "--mark",
        "59000",
    )
    assert data["exchange"] == "binance"
    (pos,) = data["positions"]
    assert pos.keys() >= POSITION_KEYS
    assert data["account"].keys() >= ACCOUNT_KEYS
    assert set(pos["adl"]) >= {"score", "lights", "source"}
    assert pos["adl"]["source"] == "estimate"
    # notional 30,000 (at entry) sits in bracket 1 of the bundled BTCUSDT table: 0.40%, cum 0.
    assert pos["tier"] == 1
    assert pos["mmr"] == pytest.approx(0.004)
    margin = 0.5 * 60000 / 20
    expected_lp = (60000 - margin / 0.5) / (1 - 0.004)
    assert pos["liquidation_price"] == pytest.approx(expected_lp, rel=1e-12)
    assert pos["bankruptcy_price"] == pytest.approx(60000 - margin / 0.5, rel=1e-12)
    mm = 0.5 * 59000 * 0.004
    assert pos["margin_ratio"] == pytest.approx(mm / (margin + 0.5 * (59000 - 60000)), rel=1e-12)
    assert pos["distance_to_liquidation"] == pytest.approx((59000 - expected_lp) / 59000, rel=1e-12)


def test_native_symbol_is_accepted(capsys: pytest.CaptureFixture[str]) -> None:
    a = run_json(
        capsys,
        "--exchange",
        "binance",
        "--symbol",
        "BTCUSDT",
        "--side",
        "short",
        "--size",
        "1",
        "--entry",
        "60000",
        "--leverage",
        "10",
    )
    b = run_json(
        capsys,
        "--exchange",
        "binance",
        "--symbol",
        "BTC/USDT:USDT",
        "--side",
        "short",
        "--size",
        "1",
        "--entry",
        "60000",
        "--leverage",
        "10",
    )
    assert a == b
    assert a["positions"][0]["symbol"] == "BTC/USDT:USDT"


def test_tier_re_solved_at_the_liquidation_price(capsys: pytest.CaptureFixture[str]) -> None:
    # Binance brackets 2026-03-26 (freqtrade 6bc35af3), BTCUSDT: bracket 1 = 0-300k, 0.40%, cum 0;
    # bracket 2 = 300k-800k, 0.50%, cum 300. 4 BTC @ 62,000 = 248,000 (bracket 1) at the mark. A short
    # at 2x isolated liquidates near 92,600, where the notional (~370,000) is in bracket 2: the answer
    # must use bracket 2. LP (short, isolated) = (margin + cum + size x entry) / (size x (1 + mmr)).
    data = run_json(
        capsys,
        "--exchange",
        "binance",
        "--symbol",
        "BTCUSDT",
        "--side",
        "short",
        "--size",
        "4",
        "--entry",
        "62000",
        "--leverage",
        "2",
    )
    pos = data["positions"][0]
    assert pos["tier"] == 1  # at the mark
    margin = 4 * 62000 / 2
    lp = (margin + 300 + 4 * 62000) / (4 * (1 + 0.005))
    assert pos["liquidation_price"] == pytest.approx(lp, rel=1e-12)
    assert 300_000 < 4 * lp < 800_000  # indeed in bracket 2


def test_portfolio_toml_and_json_agree(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    toml_data = run_json(capsys, "--portfolio", str(ROOT / "examples" / "portfolio.toml"))
    import tomllib

    raw = tomllib.loads((ROOT / "examples" / "portfolio.toml").read_text())
    path = tmp_path / "p.json"
    path.write_text(json.dumps(raw))
    json_data = run_json(capsys, "--portfolio", str(path))
    assert toml_data == json_data
    assert [p["symbol"] for p in toml_data["positions"]] == [
        "BTC/USDT:USDT",
        "ETH/USDT:USDT",
        "SOL/USDT:USDT",
        "DOGE/USDT:USDT",
        "DOGE/USDT:USDT",
    ]
    cross = [p for p in toml_data["positions"] if p["margin_mode"] == "cross"]
    assert len({p["margin_ratio"] for p in cross}) == 1  # cross positions share the account's ratio
    assert toml_data["positions"][4]["adl"] == {**toml_data["positions"][4]["adl"], "source": "exchange", "lights": 3}


def test_portfolio_position_tiers_replace_bundled(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "p.toml"
    path.write_text(
        'exchange = "binance"\n[[positions]]\nsymbol = "BTCUSDT"\nside = "long"\nsize = 1\n'
        "entry_price = 100000\nleverage = 10\n"
        "tiers = [{min_notional = 0, max_notional = 50000, mmr = 0.004, max_leverage = 125},"
        " {min_notional = 50000, max_notional = 250000, mmr = 0.005, max_leverage = 100}]\n"
    )
    pos = run_json(capsys, "--portfolio", str(path))["positions"][0]
    assert pos["tier"] == 2
    assert pos["maint_amount"] == pytest.approx(50.0)  # derived: 50,000 x (0.5% - 0.4%)
    assert pos["tiers_source"] == "portfolio" and pos["tiers_source_detail"] == "portfolio file"


def test_tiers_file_takes_precedence(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "tiers.json"
    path.write_text(
        json.dumps(
            {
                "tiers": {
                    "BTCUSDT": [
                        {"min_notional": 0, "max_notional": 1_000_000, "mmr": 0.01, "max_leverage": 50},
                    ]
                }
            }
        )
    )
    pos = run_json(
        capsys,
        "--exchange",
        "binance",
        "--symbol",
        "BTC/USDT:USDT",
        "--side",
        "long",
        "--size",
        "1",
        "--entry",
        "50000",
        "--leverage",
        "10",
        "--tiers",
        str(path),
    )["positions"][0]
    assert pos["mmr"] == 0.01
    assert pos["max_leverage"] == 50


def test_human_output_is_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calc", "--portfolio", str(ROOT / "examples" / "portfolio.toml")]) == 0
    out = capsys.readouterr().out
    assert "Liq." in out and "BTC/USDT" in out and "est." in out


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (
            ["--exchange", "kraken", "--symbol", "BTCUSDT", "--side", "long", "--size", "1", "--entry", "1"],
            "--exchange",
        ),
        (
            [
                "--exchange",
                "binance",
                "--symbol",
                "NOPE/USDT:USDT",
                "--side",
                "long",
                "--size",
                "1",
                "--entry",
                "1",
                "--leverage",
                "2",
            ],
            "--symbol: unknown symbol",
        ),
        (
            [
                "--exchange",
                "binance",
                "--symbol",
                "BTCUSDT",
                "--side",
                "long",
                "--size",
                "-1",
                "--entry",
                "60000",
                "--leverage",
                "2",
            ],
            "--size: must be a finite number > 0",
        ),
        (
            [
                "--exchange",
                "binance",
                "--symbol",
                "BTCUSDT",
                "--side",
                "long",
                "--size",
                "0",
                "--entry",
                "60000",
                "--leverage",
                "2",
            ],
            "--size: must be a finite number > 0",
        ),
        (
            [
                "--exchange",
                "binance",
                "--symbol",
                "BTCUSDT",
                "--side",
                "long",
                "--size",
                "1",
                "--entry",
                "-5",
                "--leverage",
                "2",
            ],
            "--entry: must be a finite number > 0",
        ),
        (
            [
                "--exchange",
                "binance",
                "--symbol",
                "BTCUSDT",
                "--side",
                "long",
                "--size",
                "0.1",
                "--entry",
                "60000",
                "--leverage",
                "200",
            ],
            # Binance brackets 2026-03-26 (freqtrade 6bc35af3): BTCUSDT bracket 1 allows 150x
            "--leverage: 200x is above the 150x maximum",
        ),
        (
            [
                "--exchange",
                "binance",
                "--symbol",
                "BTCUSDT",
                "--side",
                "long",
                "--size",
                "100",
                "--entry",
                "60000",
                "--leverage",
                "100",
            ],
            "--leverage: 100x is above the 50x maximum",
        ),
        (
            ["--exchange", "binance", "--symbol", "BTCUSDT", "--side", "long", "--size", "1", "--entry", "60000"],
            "--leverage",
        ),
        (
            ["--exchange", "binance", "--symbol", "BTCUSDT", "--side", "long", "--size", "abc", "--entry", "60000"],
            "--size",
        ),
        (
            [
                "--exchange",
                "binance",
                "--symbol",
                "BTCUSDT",
                "--side",
                "long",
                "--size",
                "1",
                "--entry",
                "60000",
                "--margin-mode",
                "cross",
            ],
            "--wallet-balance",
        ),
        (
            [
                "--exchange",
                "hyperliquid",
                "--symbol",
                "BTC",
                "--side",
                "long",
                "--size",
                "1",
                "--entry",
                "60000",
                "--leverage",
                "5",
                "--position-side",
                "long",
            ],
            "--position-side",
        ),
        (["--symbol", "BTCUSDT"], "--exchange: required"),
        (
            [
                "--exchange",
                "binance",
                "--symbol",
                "BTC//",
                "--side",
                "long",
                "--size",
                "1",
                "--entry",
                "1",
                "--leverage",
                "2",
            ],
            "--symbol: cannot read",
        ),
    ],
)
def test_flag_errors_are_one_line(capsys: pytest.CaptureFixture[str], args: list[str], needle: str) -> None:
    line = run_error(capsys, *args)
    assert needle in line


@pytest.mark.parametrize(
    ("content", "suffix", "needle"),
    [
        ("{not json", ".json", "not valid JSON"),
        ("exchange = ", ".toml", "not valid TOML"),
        ('exchange = "binance"\n', ".toml", "positions: required field is missing"),
        (
            'exchange = "ftx"\n[[positions]]\nsymbol="BTCUSDT"\nside="long"\nsize=1\nentry_price=1\n',
            ".toml",
            "exchange: unknown exchange 'ftx'",
        ),
        (
            'exchange = "binance"\n[[positions]]\nsymbol="BTCUSDT"\nside="long"\nsize=-1\nentry_price=1\n',
            ".toml",
            "positions[0].size",
        ),
        (
            'exchange = "binance"\n[[positions]]\nsymbol="BTCUSDT"\nside="long"\nentry_price=1\n',
            ".toml",
            "positions[0].size: required field is missing",
        ),
        (
            'exchange = "binance"\n[[positions]]\nsymbol="BTCUSDT"\nside="up"\nsize=1\nentry_price=1\n',
            ".toml",
            "positions[0].side",
        ),
        (
            'exchange = "binance"\n[[positions]]\nsymbol="BTCUSDT"\nside="long"\nsize=1\nentry_price=1\nlevrage=5\n',
            ".toml",
            "positions[0].levrage: unknown field",
        ),
        (
            'exchange = "binance"\n[[positions]]\nsymbol="BTCUSDT"\nside="long"\nsize=1\nentry_price=60000\n'
            "leverage=500\n",
            ".toml",
            "positions[0].leverage: 500x is above",
        ),
        (
            'exchange = "binance"\n[[positions]]\nsymbol="FOO"\nside="long"\nsize=1\nentry_price=1\nleverage=5\n',
            ".toml",
            "positions[0].symbol: unknown symbol",
        ),
        ('{"exchange": "binance", "positions": []}', ".json", "positions"),
        ("[1, 2]", ".json", "top level"),
    ],
)
def test_file_errors_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, suffix: str, needle: str
) -> None:
    path = tmp_path / f"book{suffix}"
    path.write_text(content)
    line = run_error(capsys, "--portfolio", str(path))
    assert needle in line


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_non_finite_numbers_are_rejected(capsys: pytest.CaptureFixture[str], value: str) -> None:
    line = run_error(
        capsys,
        "--exchange",
        "binance",
        "--symbol",
        "BTCUSDT",
        "--side",
        "long",
        f"--size={value}",
        "--entry",
        "60000",
        "--leverage",
        "10",
    )
    assert line.startswith("liqwatch: error: --size: must be a finite number > 0")


def test_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    line = run_error(capsys, "--portfolio", str(tmp_path / "nope.toml"))
    assert "file not found" in line


@pytest.mark.slow
def test_calc_imports_no_ccxt_textual_or_websockets() -> None:
    """The calculator must start fast: it never imports the live-data, TUI or bus (nats) stacks."""
    code = (
        "import sys, io, contextlib\n"
        "from liqwatch.cli import main\n"
        "for args in (['calc', '--exchange', 'binance', '--symbol', 'BTCUSDT', '--side', 'long',"
        " '--size', '1', '--entry', '60000', '--leverage', '10', '--json'],"
        " ['calc', '--portfolio', 'examples/portfolio.toml']):\n"
        "    with contextlib.redirect_stdout(io.StringIO()):\n"
        "        main(args)\n"
        "bad = [m for m in ('ccxt', 'textual', 'websockets', 'aiohttp', 'asyncio', 'nats') if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


@pytest.mark.slow
def test_console_script_end_to_end() -> None:
    exe = Path(sys.executable).with_name("liqwatch")
    if not exe.exists():
        pytest.fail(f"console script not installed next to {sys.executable}")
    ok = subprocess.run(
        [str(exe), "calc", "--portfolio", "examples/portfolio.toml", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0 and json.loads(ok.stdout)["positions"]
    bad = subprocess.run(
        [
            str(exe),
            "calc",
            "--exchange",
            "binance",
            "--symbol",
            "BTCUSDT",
            "--side",
            "long",
            "--size",
            "-1",
            "--entry",
            "1",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr


def test_alerts_test_reports_each_channel(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.toml"
    with refused_port() as port:  # nothing listens there
        config.write_text(
            '[[channels]]\ntype = "command"\ncommand = ["true"]\nname = "ok-command"\n\n'
            f'[[channels]]\ntype = "webhook"\nurl = "http://127.0.0.1:{port}/hook/TOKEN123"\ntimeout_seconds = 2\n'
        )
        assert main(["alerts", "test", "--config", str(config)]) == 1  # one channel failed
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("ok") and "command" in out[0]
    assert out[1].startswith("FAILED") and "TOKEN123" not in out[1]


def test_alerts_test_warns_about_a_config_others_can_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """As `watch` and the dashboard do (liqwatch.config.readable_by_others): a channel URL holds
    its token, so a config with one that others can read is worth a warning."""
    config = tmp_path / "config.toml"
    config.write_text('[[channels]]\ntype = "command"\ncommand = ["true"]\nname = "ok-command"\n')
    config.chmod(0o644)
    assert main(["alerts", "test", "--config", str(config)]) == 0
    assert capsys.readouterr().err == ""  # nothing secret in it: nothing to say
    with config.open("a") as fh:
        fh.write(
            '\n[[channels]]\ntype = "slack"\nurl = "https://hooks.slack.invalid/T0/B0/TOKEN123"\nenabled = false\n'
        )
    assert main(["alerts", "test", "--config", str(config)]) == 0
    err = capsys.readouterr().err
    assert err == f"liqwatch: warning: {config} is readable by other users; chmod 600 it\n"
    config.chmod(0o600)
    assert main(["alerts", "test", "--config", str(config)]) == 0
    assert capsys.readouterr().err == ""
