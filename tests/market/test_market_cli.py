"""``liqwatch market``: against the fake servers with the real ccxt client, one-line errors,
lazy imports (no ccxt for ``--demo``; calc never loads the command)."""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from liqwatch.cli import build_parser, main
from liqwatch.cli import market as market_cli
from liqwatch.market.history import ENV_DIR
from liqwatch.market.model import MarketReport
from tests.fakes.market_server import MarketFakeServer

ROOT = Path(__file__).resolve().parents[2]


def live(venue: str, *extra: str) -> tuple[list[MarketReport], list[str]]:
    async def body() -> tuple[list[MarketReport], list[str]]:
        async with MarketFakeServer(venue) as fake:
            args = build_parser().parse_args(["market", "--exchange", venue, "--rest-url", fake.url, *extra])
            warnings: list[str] = []
            return await market_cli._read_live(args, warnings), warnings

    return asyncio.run(body())


def test_live_gate_summary_and_history_backfill(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_DIR, str(tmp_path))
    monkeypatch.setattr("liqwatch.market.history.RETENTION", 10 * 365 * 86400.0)  # fixtures dated 2025-11-25
    reports, warnings = live("gate", "--symbol", "BTC")
    assert warnings == []
    (report,) = reports
    (pool,) = report.insurance
    # Gate's history: 70,000,000 a day before, 60,000,000 a week before -> changes from the backfill
    assert pool.change_24h == pytest.approx(66000000.5 / 70000000 - 1)
    assert pool.change_7d == pytest.approx(66000000.5 / 60000000 - 1)
    assert (tmp_path / "market.sqlite3").exists()
    out = io.StringIO()
    market_cli.render(reports, out)
    text = out.getvalue()
    assert "USDT futures: 66,000,000.50 USDT" in text and "24h -5.71%" in text and "7d +10.00%" in text


def test_live_bybit_json_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_DIR, str(tmp_path))
    reports, _ = live("bybit", "--symbol", "BTCUSDT")
    doc = reports[0].full_record()
    json.dumps(doc, allow_nan=False)
    assert doc["insurance"][0]["shared"] is True and doc["adl_risk"][0]["level"] == "near"
    assert doc["adl_risk"][0]["trigger_ratio"] == -0.3
    assert doc["symbols"][0]["symbol"] == "BTC/USDT:USDT"


def test_bad_input_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["market", "--exchange", "nope"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--exchange" in err and "nope" in err
    with pytest.raises(SystemExit) as exc:
        main(["market", "--exchange", "bybit", "--exchange", "okx", "--rest-url", "http://127.0.0.1:1"])
    assert exc.value.code == 2
    assert "--rest-url" in capsys.readouterr().err


def test_unreachable_venue_says_so_and_exits_1(tmp_path: Path) -> None:
    from tests.fakes.ports import refused_port

    with refused_port() as port:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "liqwatch.cli",
                "market",
                "--exchange",
                "okx",
                "--rest-url",
                f"http://127.0.0.1:{port}",
                "--no-history",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert (
        len(lines) == 1
        and lines[0]
        == f"liqwatch market: okx: cannot reach 127.0.0.1:{port} (connection refused): "
        "check the network (`liqwatch market --demo` shows the demo market offline)"
        and "Traceback" not in result.stderr
    )


def test_demo_does_not_import_ccxt() -> None:
    code = (
        "import sys, io, contextlib\n"
        "from liqwatch.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    rc = main(['market', '--demo', '--json'])\n"
        "print(rc, 'ccxt' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.stdout.split() == ["0", "False"], result.stderr


def test_calc_does_not_load_the_market_command() -> None:
    code = (
        "import sys\n"
        "from liqwatch.cli import build_parser\n"
        "build_parser().parse_args(['calc', '--help'] if False else ['watch', '--demo'])\n"
        "print(any(m.startswith('liqwatch.market') or m == 'liqwatch.cli.market' for m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.stdout.strip() == "False", result.stderr
