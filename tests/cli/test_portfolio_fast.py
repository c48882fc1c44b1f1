"""The fast paths of `calc --portfolio --json` (issue 9, point 5) give what the general ones give:
the msgspec reader (tier lists kept raw, parsed once per distinct list) reads every document as
the json module does, and the streamed output is byte for byte the one-piece document."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liqwatch.cli import main
from liqwatch.core.engine import assess
from liqwatch.core.venues import get_venue
from liqwatch.output import SMALL_DOCUMENT, STREAM_CHUNK, write_json, write_portfolio
from liqwatch.portfolio import _read_json, load_portfolio
from liqwatch.records import portfolio_record
from liqwatch.request import PositionRequest, TableCache, build_spec

ROW = st.fixed_dictionaries(
    {"min_notional": st.integers(0, 10**6), "max_leverage": st.integers(1, 125)},
    optional={
        "max_notional": st.one_of(st.none(), st.floats(1, 1e9)),
        "mmr": st.one_of(st.none(), st.floats(0, 0.5)),
        "maint_amount": st.floats(-1e6, 1e6),
    },
)
VALUE = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**53), 2**53), st.floats(allow_nan=False, allow_infinity=False), st.text()
)
POSITION = st.fixed_dictionaries(
    {"symbol": st.text(max_size=12), "side": VALUE},
    optional={
        "size": VALUE,
        "entry_price": VALUE,
        "leverage": VALUE,
        "margin_mode": VALUE,
        "mark_price": VALUE,
        "adl_lights": VALUE,
        "tiers": st.one_of(st.none(), st.lists(ROW, max_size=4), VALUE),
    },
)
DOCUMENT = st.fixed_dictionaries(
    {"positions": st.lists(POSITION, max_size=6)},
    optional={"exchange": VALUE, "wallet_balance": st.one_of(VALUE, st.dictionaries(st.text(max_size=4), VALUE))},
)


@settings(max_examples=300)
@given(DOCUMENT, st.booleans())
def test_fast_reader_reads_what_the_json_module_reads(doc: dict[str, Any], indent: bool) -> None:
    raw = json.dumps(doc, indent=2 if indent else None).encode()
    assert _read_json(raw) == orjson.loads(raw)


def test_fast_reader_shares_equal_tier_lists_and_steps_aside_for_what_it_cannot_read() -> None:
    tiers = [{"min_notional": 0, "max_leverage": 125, "mmr": 0.004}]
    doc = {"exchange": "binance", "positions": [{"symbol": f"C{i}", "tiers": tiers} for i in range(3)]}
    out = _read_json(json.dumps(doc).encode())
    assert out is not None
    first, second, third = (p["tiers"] for p in out["positions"])
    assert first is second is third and first == tiers
    # an unknown key, broken JSON, a top level that is not an object: the general path words it
    assert _read_json(json.dumps({**doc, "walet_balance": 1}).encode()) is None
    assert _read_json(b'{"exchange": "binance", "positions": [') is None
    assert _read_json(b"[1, 2]") is None


def test_unknown_key_still_named_by_the_general_path(tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "p.json"
    position = {"symbol": "BTCUSDT", "side": "long", "size": 1, "entry_price": 100, "levrage": 5}
    path.write_text(json.dumps({"exchange": "binance", "positions": [position]}))
    with pytest.raises(SystemExit) as exc:
        main(["calc", "--portfolio", str(path), "--json"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "positions[0].levrage: unknown field" in err and len(err.strip().splitlines()) == 1


class _Stdout(io.StringIO):
    """A text stream with a byte buffer, as sys.stdout is."""

    def __init__(self) -> None:
        super().__init__()
        self.buffer = io.BytesIO()


def test_streamed_document_is_byte_identical(tmp_path: Path) -> None:
    n = 2 * STREAM_CHUNK + 7  # three pieces, the last one short
    assert n > SMALL_DOCUMENT
    positions = [
        {
            "symbol": f"C{i}/USDT:USDT",
            "side": "long" if i % 2 else "short",
            "size": 1 + i % 5,
            "entry_price": 100 + i % 7,
            "mark_price": 100 + i % 3,
            "margin_mode": "cross" if i % 3 else "isolated",
            "leverage": 10,
            "tiers": [{"min_notional": 0, "max_notional": None, "mmr": 0.01, "max_leverage": 50}],
        }
        for i in range(n)
    ]
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"exchange": "binance", "wallet_balance": 1e5, "positions": positions}))
    venue = get_venue("binance")
    cache = TableCache()
    specs = [
        build_spec(venue, PositionRequest(**p), None, "", cache, validated=True)
        for p in load_portfolio(path)["positions"]
    ]
    risk = assess(venue, specs, 1e5)
    whole, streamed = _Stdout(), _Stdout()
    write_json(portfolio_record(risk, venue), whole)
    write_portfolio(risk, venue, streamed)
    assert streamed.buffer.getvalue() == whole.buffer.getvalue()
    assert json.loads(streamed.buffer.getvalue())["positions"][n - 1]["symbol"] == f"C{n - 1}/USDT:USDT"


def test_streamed_coin_margined_document_is_byte_identical(tmp_path: Path) -> None:
    """A large portfolio of coin-margined positions only: its document names the inverse formula,
    streamed or not (the streamed header once came from an empty portfolio: the linear formula)."""
    n = SMALL_DOCUMENT + 5
    positions = [
        {
            "symbol": "BTCUSD_PERP",
            "side": "long" if i % 2 else "short",
            "contracts": 10 + i,
            "entry_price": 60_000 + i,
            "leverage": 5,
        }
        for i in range(n)
    ]
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"exchange": "binance", "positions": positions}))
    whole, streamed = _Stdout(), _Stdout()
    venue = get_venue("binance")
    specs = [
        build_spec(venue, PositionRequest(**p), None, "", TableCache(), validated=True)
        for p in load_portfolio(path)["positions"]
    ]
    risk = assess(venue, specs, 0.0)
    write_json(portfolio_record(risk, venue), whole)
    write_portfolio(risk, venue, streamed)
    assert streamed.buffer.getvalue() == whole.buffer.getvalue()
    assert json.loads(streamed.buffer.getvalue())["formula"] == venue.inverse_family
