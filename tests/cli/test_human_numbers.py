"""Issue #20 point 15: human output never in scientific notation (``fee 1.675884e-05``, a cap of
``1e+15``), no ``-0.0`` in JSON, the portfolio table states the liquidation-cost model once, the
card's "Tiers from" says where an override came from and the card shows the leverage."""

from __future__ import annotations

import io
import json
import math
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liqwatch.cli import main
from liqwatch.core.venues import get_venue
from liqwatch.numfmt import fixed, plain
from liqwatch.output import fmt_amount, fmt_pct, money_in, write_json, write_portfolio
from liqwatch.records import unsigned_zeros
from tests.fakes.calc_run import run_json, run_text

ROOT = Path(__file__).resolve().parents[2]
SCIENTIFIC = re.compile(r"\d[eE][+-]?\d")
POSITIONAL = re.compile(r"^-?\d{1,3}(,\d{3})*(\.\d+)?$")
FINITE = st.floats(allow_nan=False, allow_infinity=False)


def negative_zeros(doc: Any, path: str = "") -> list[str]:
    """Where a parsed JSON document holds -0.0."""
    if isinstance(doc, dict):
        return [hit for k, v in doc.items() for hit in negative_zeros(v, f"{path}.{k}")]
    if isinstance(doc, list):
        return [hit for i, v in enumerate(doc) for hit in negative_zeros(v, f"{path}[{i}]")]
    return [path] if isinstance(doc, float) and doc == 0.0 and math.copysign(1.0, doc) < 0 else []


# ------------------------------------------------------------------ the formatter


@settings(max_examples=400)
@given(x=FINITE, digits=st.integers(1, 17), cap=st.one_of(st.none(), st.integers(0, 12)))
def test_plain_is_positional_and_close(x: float, digits: int, cap: int | None) -> None:
    text = plain(x, digits, max_decimals=cap)
    assert POSITIONAL.match(text), text
    back = Decimal(text.replace(",", ""))  # exact: 2e308 (1.5e308 to one digit) is no float
    assert back != 0 or not text.startswith("-")  # never -0
    exact = Decimal(x)
    tolerance = abs(exact) * Decimal(10) ** (1 - digits) + (Decimal(10) ** -cap / 2 if cap is not None else 0)
    assert abs(back - exact) <= tolerance * Decimal("1.000001")


@settings(max_examples=300)
@given(x=FINITE, currency=st.sampled_from(["USDT", "USDE", "BTC", "ETH"]), short=st.booleans())
def test_money_and_amounts_never_scientific(x: float, currency: str, short: bool) -> None:
    for text in (fmt_amount(x, currency, short=short), money_in(x, currency), fixed(x), fmt_pct(x)):
        number = text.removesuffix(f" {currency}").removesuffix("%")
        assert not SCIENTIFIC.search(number), text
        assert not re.fullmatch(r"-0(\.0*)?", number), text  # no negative zero either


def test_the_issue_s_numbers() -> None:
    assert money_in(1.675884e-05, "BTC") == "0.00001676 BTC"
    assert money_in(3.3881318e-21, "BTC") == "0 BTC"  # float noise under a satoshi
    assert fmt_amount(-0.001, "USDT") == "0.00 USDT"
    assert plain(1e15) == "1,000,000,000,000,000" and plain(float("inf")) == "∞"


# ------------------------------------------------------------------ the card and tables


def test_coin_margined_card_has_no_scientific_notation(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_text(
        capsys, "--exchange", "binance", "--symbol", "BTCUSD_PERP", "--side", "long", "--contracts", "1",
        "--entry", "95000", "--leverage", "10", "--mark", "94000",
    )  # fmt: skip
    assert not SCIENTIFIC.search(out), out
    assert "fee 0.00000" in out  # a fee of ~5e-8 BTC, written out


def test_tiers_show_writes_an_open_cap_as_infinity(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tiers", "show", "--exchange", "hyperliquid", "--symbol", "BTC"]) == 0
    out = capsys.readouterr().out
    assert not SCIENTIFIC.search(out) and "1e+15" not in out
    last = [line for line in out.splitlines() if line.startswith("│")][-1]
    assert "∞" in last
    assert main(["tiers", "show", "--exchange", "hyperliquid", "--symbol", "BTC", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["brackets"][-1]["cap"] == 1e15  # the JSON keeps the number


def test_portfolio_table_states_the_cost_model_once(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calc", "--portfolio", str(ROOT / "examples" / "portfolio.toml")]) == 0
    out = capsys.readouterr().out
    assert out.count("Liquidation cost model") == 1
    assert out.count("If liquidated at the liquidation price") == 5  # still one per position


def test_card_states_the_cost_model_and_the_leverage(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_text(
        capsys, "--exchange", "binance", "--symbol", "BTCUSDT", "--side", "long", "--size", "1", "--entry", "95000",
        "--leverage", "10",
    )  # fmt: skip
    assert out.count("Liquidation cost model") == 1
    line = next(line for line in out.splitlines() if line.startswith("│ Leverage"))
    assert "10x · effective 10.00x" in line


def test_tiers_from_names_the_override(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    args = ["--exchange", "binance", "--symbol", "BTCUSDT", "--side", "short", "--size", "1", "--entry", "95000"]
    out = run_text(capsys, *args, "--leverage", "10", "--mmr", "0.005")
    line = next(line for line in out.splitlines() if line.startswith("│ Tiers from"))
    assert "--mmr 0.005 (one bracket at every size)" in line and "override: override" not in out
    path = tmp_path / "one.toml"
    path.write_text(
        'exchange = "binance"\n[[positions]]\nsymbol = "BTCUSDT"\nside = "long"\nsize = 1\n'
        "entry_price = 95000\nleverage = 10\nmmr = 0.005\n"
    )
    assert main(["calc", "--portfolio", str(path)]) == 0
    assert "the portfolio file's mmr" in capsys.readouterr().out


# ------------------------------------------------------------------ no -0.0 in JSON


def test_a_short_at_its_entry_has_a_plain_zero_pnl(capsys: pytest.CaptureFixture[str]) -> None:
    doc = run_json(
        capsys, "--exchange", "binance", "--symbol", "BTCUSDT", "--side", "short", "--size", "1", "--entry", "95000",
        "--leverage", "10",
    )  # fmt: skip
    assert doc["positions"][0]["unrealized_pnl"] == 0 and negative_zeros(doc) == []


@settings(max_examples=40)
@given(
    venue=st.sampled_from(["binance", "bybit", "okx", "gate", "bitget", "hyperliquid"]),
    side=st.sampled_from(["long", "short"]),
    size=st.floats(0.001, 50),
    entry=st.floats(100, 200_000),
    leverage=st.integers(1, 20),
)
def test_calc_json_never_holds_negative_zero(venue: str, side: str, size: float, entry: float, leverage: int) -> None:
    from liqwatch.core.engine import assess
    from liqwatch.request import PositionRequest, build_spec

    v = get_venue(venue)
    req = PositionRequest(
        symbol="BTC/USDT:USDT" if venue != "hyperliquid" else "BTC/USDC:USDC",
        side=side,  # type: ignore[arg-type]
        size=size,
        entry_price=entry,
        leverage=float(leverage),
        mmr=0.005,
        max_leverage=100.0,
    )
    spec = build_spec(v, req)
    out = io.StringIO()
    write_portfolio(assess(v, [spec], 0.0), v, out)
    assert "-0.0," not in out.getvalue() and negative_zeros(json.loads(out.getvalue())) == []


def test_large_documents_are_streamed_without_negative_zero(tmp_path: Path) -> None:
    """Over 100 positions the document is streamed in orjson pieces: each piece is checked too."""
    from liqwatch.core.engine import assess
    from liqwatch.request import PositionRequest, build_spec

    v = get_venue("binance")
    specs = [
        build_spec(v, PositionRequest("BTCUSDT", "short", 0.01 * (i + 1), 95000.0, leverage=10.0)) for i in range(150)
    ]

    class Stream(io.StringIO):
        def __init__(self) -> None:
            super().__init__()
            self.buffer = io.BytesIO()

    out = Stream()
    write_portfolio(assess(v, specs, 0.0), v, out)  # type: ignore[arg-type]
    doc = json.loads(out.buffer.getvalue())
    assert len(doc["positions"]) == 150 and negative_zeros(doc) == []


def test_unsigned_zeros_and_the_writers() -> None:
    doc = {"a": -0.0, "b": [-0.0, 1.0, {"c": (-0.0, 2)}], "d": "-0.0,", "e": -1.5}
    out = io.StringIO()
    write_json(doc, out)
    assert out.getvalue() == '{"a": 0.0, "b": [0.0, 1.0, {"c": [0.0, 2]}], "d": "-0.0,", "e": -1.5}\n'
    assert negative_zeros(unsigned_zeros([-0.0, (-0.0,)])) == []


def test_watch_records_hold_no_negative_zero() -> None:
    """``liqwatch watch`` writes its records with orjson, unscanned: the builders drop the sign."""
    from types import SimpleNamespace

    import orjson

    from liqwatch.core.engine import assess
    from liqwatch.records import live_position_record
    from liqwatch.request import PositionRequest, build_spec

    v = get_venue("binance")
    risk = assess(v, [build_spec(v, PositionRequest("BTCUSDT", "short", 1.0, 95000.0, leverage=10.0))], 0.0)
    p = risk.positions[0]
    assert math.copysign(1.0, p.unrealized_pnl) < 0  # the core's -0.0: the record's to drop
    data = SimpleNamespace(
        symbol=p.spec.symbol, side="short", position_side="both", margin_mode="isolated", size=1.0,
        entry_price=95000.0, exchange_liquidation_price=None, leverage=10.0, isolated_margin=None,
        contract_size=None, contracts=None, tick_size=None, fee_rate=None, inverse=False, settle=None,
    )  # fmt: skip
    view = SimpleNamespace(
        account="main", exchange="binance", data=data, risk=p, mark_price=95000.0, mark_age_s=0.1, stale=False,
        venue_margin_ratio=None, note="", collateral=None,
    )  # fmt: skip
    doc = live_position_record(view)  # type: ignore[arg-type]
    assert doc["unrealized_pnl"] == 0 and negative_zeros(json.loads(orjson.dumps(doc))) == []
