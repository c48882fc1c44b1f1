"""The fast paths of `calc --portfolio --json` (issue 9, point 5) give what the general ones give:
the msgspec reader (tier lists kept raw, parsed once per distinct list) reads every document as
the json module does, and the streamed output is byte for byte the one-piece document."""

from __future__ import annotations

import dataclasses
import io
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from liqwatch.cli import main
from liqwatch.core.engine import assess
from liqwatch.core.errors import InputError
from liqwatch.core.venues import get_venue
from liqwatch.output import SMALL_DOCUMENT, STREAM_CHUNK, write_json, write_portfolio
from liqwatch.portfolio import FAST_JSON_BYTES, _read_json, _typed_reader, _typed_requests, load_portfolio
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
COLLATERAL_ROW = st.fixed_dictionaries(  # issue #21: a multi-collateral account's rows
    {"asset": st.sampled_from(["USDT", "BTC", "", 5])},
    optional={
        "amount": VALUE,
        "price": VALUE,
        "ratio": st.one_of(st.floats(0, 1), VALUE),
        "tiers": st.one_of(
            st.lists(st.fixed_dictionaries({"min": st.floats(0, 10), "ratio": st.floats(0, 1)},
                                           optional={"max": st.one_of(st.none(), st.floats(0, 100))}), max_size=3),
            VALUE,
        ),
        "tier_basis": st.sampled_from(["quantity", "value", "usd", None]),
        "bid_buffer": VALUE,
        "ask_buffer": VALUE,
    },
)  # fmt: skip
ACCOUNT = {
    "account_mode": st.sampled_from(["single", "multi_assets", "portfolio", "unified", None]),
    "collateral": st.one_of(st.lists(COLLATERAL_ROW, max_size=3), VALUE),
}
DOCUMENT = st.fixed_dictionaries(
    {"positions": st.lists(POSITION, max_size=6)},
    optional={
        "exchange": VALUE,
        "wallet_balance": st.one_of(VALUE, st.dictionaries(st.text(max_size=4), VALUE)),
        **ACCOUNT,
    },
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


# ---------------------------------------------------------------- typed requests (msgspec)

_GOOD = st.one_of(st.floats(1e-6, 1e12), st.integers(1, 2**60))
NUMBER = st.one_of(  # mostly numbers every field takes, now and then one a field refuses or a lax form
    *[_GOOD] * 150,
    st.none(),
    st.floats(0.0, 0.999),
    st.booleans(),
    st.integers(-5, 0),
    st.floats(-2.0, 0.0),
    st.sampled_from(["1.5", "", "x"]),
)
TYPED_POSITION = st.fixed_dictionaries(
    {
        "symbol": st.sampled_from(["BTC/USDT:USDT"] * 10 + ["ETHUSDT", "", 5]),
        "side": st.sampled_from(["long", "short"] * 10 + ["LONG", None]),
        "entry_price": NUMBER,
    },
    optional={
        "size": NUMBER,
        "contracts": NUMBER,
        "contract_size": NUMBER,
        "leverage": NUMBER,
        "margin_mode": st.sampled_from(["isolated", "cross"] * 10 + [None, "x"]),
        "position_side": st.sampled_from(["both", "long", "short"] * 10 + [None, "hedge"]),
        "isolated_margin": NUMBER,
        "mark_price": NUMBER,
        "mmr": NUMBER,
        "maint_amount": NUMBER,
        "max_leverage": NUMBER,
        "fee_rate": NUMBER,
        "adl_lights": st.one_of(*[st.integers(0, 5)] * 10, st.integers(-1, 6), st.just(3.0), st.none(), st.booleans()),
        "funding_rate": NUMBER,
        "next_funding_time": st.one_of(NUMBER, st.just("2026-12-01T16:00:00Z")),
        "tiers": st.one_of(st.none(), *[st.lists(ROW, max_size=3)] * 6, st.just(5)),
    },
)
TYPED_DOCUMENT = st.fixed_dictionaries(
    {
        "exchange": st.sampled_from(["binance"] * 40 + ["OKX", "nowhere", 3]),
        "positions": st.lists(TYPED_POSITION, min_size=1, max_size=3),
    },
    optional={
        "wallet_balance": st.one_of(NUMBER, st.just({"usdt": 5, "BTC": 1.5}), st.just({"x y": 1})),
        "exchange_liquidation_price": st.just(1.0),  # not a file's key: refused by both paths
        "account_mode": st.sampled_from(["multi_assets"] * 4 + ["single", "portfolio", "x"]),
        "collateral": st.one_of(
            *[
                st.lists(
                    st.fixed_dictionaries(
                        {"asset": st.sampled_from(["USDT", "BTC"]), "amount": NUMBER},
                        optional={"price": NUMBER, "ratio": NUMBER},
                    ),
                    min_size=1,
                    max_size=2,
                )
            ]
            * 4,
            st.just([]),
            st.just([{"asset": "USDT", "amount": 1, "colour": 1}]),
        ),
    },
)


def _general(path: Path) -> tuple[Any, ...] | str:
    try:
        doc = load_portfolio(path)
    except InputError as exc:
        return str(exc)
    requests = tuple(tuple(sorted(vars_of(PositionRequest(**p)).items())) for p in doc["positions"])
    return (doc["exchange"], doc["wallet_balance"], requests, doc["account_mode"], doc["collateral"])


def vars_of(req: Any) -> dict[str, Any]:
    return {f.name: getattr(req, f.name) for f in dataclasses.fields(PositionRequest)}


@settings(max_examples=400, deadline=None)
@given(TYPED_DOCUMENT)
def test_typed_reader_takes_only_what_the_general_path_takes_with_the_same_values(doc: dict[str, Any]) -> None:
    """msgspec's typed requests are the general path's (pydantic's schema, then a request per
    position), value for value and type for type; what it declines (None), the general path reads
    and words. A tier list the schema refuses is refused in the same words by both."""
    raw = json.dumps(doc).encode()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.json"
        path.write_bytes(raw)  # small: load_portfolio takes the general path
        want = _general(path)
    try:
        got = _typed_requests(raw)
    except InputError as exc:
        event("tier list refused")
        assert str(exc) == want  # a tier list refused: the same line
        return
    if got is None:
        event("declined" + (" (general path refuses too)" if isinstance(want, str) else " (general path takes it)"))
        return
    event("taken")
    assert not isinstance(want, str), f"the typed reader took a document the schema refuses: {want}"
    requests = tuple(tuple(sorted(vars_of(r).items())) for r in got.positions)
    assert (got.exchange, got.wallet_balance, requests, got.account_mode, got.collateral) == want
    for r, w in zip(requests, want[2], strict=True):  # 1 and 1.0 are equal: the types must be too
        assert [type(v) for _, v in r] == [type(v) for _, v in w]


def test_typed_reader_serves_calc_on_a_large_file(tmp_path: Path, capsys: Any) -> None:
    """A large file is read by the typed reader (checked by its decoder having been built) and
    gives the document the general path gives."""
    positions = [
        {"symbol": f"C{i}/USDT:USDT", "side": "long", "size": 1 + i % 3, "entry_price": 100, "leverage": 10,
         "tiers": [{"min_notional": 0, "max_leverage": 50, "mmr": 0.01}]}
        for i in range(600)
    ]  # fmt: skip
    path = tmp_path / "big.json"
    path.write_text(json.dumps({"exchange": "binance", "positions": positions}))
    assert path.stat().st_size > FAST_JSON_BYTES
    _typed_reader.cache_clear()
    assert main(["calc", "--portfolio", str(path), "--json"]) == 0
    assert _typed_reader.cache_info().currsize == 1
    fast = json.loads(capsys.readouterr().out)
    doc = load_portfolio(path)
    venue = get_venue("binance")
    specs = [build_spec(venue, PositionRequest(**p), None, "", TableCache(), validated=True) for p in doc["positions"]]
    assert fast == json.loads(orjson.dumps(portfolio_record(assess(venue, specs, 0.0), venue)))


def test_typed_reader_shares_equal_tier_lists() -> None:
    """Equal lists (next to each other or not) are one validated list object, so one table."""
    a = [{"min_notional": 0, "max_leverage": 125, "mmr": 0.004}]
    b = [{"min_notional": 0, "max_leverage": 50, "mmr": 0.01}]
    doc = {
        "exchange": "binance",
        "positions": [
            {"symbol": f"C{i}/USDT:USDT", "side": "long", "size": 1, "entry_price": 100, "tiers": t}
            for i, t in enumerate([a, a, b, a, None, b])
        ],
    }
    got = _typed_requests(json.dumps(doc).encode())
    assert got is not None
    tiers = [p.tiers for p in got.positions]
    assert tiers[0] is tiers[1] is tiers[3] and tiers[2] is tiers[5] and tiers[4] is None
    assert tiers[0] is not tiers[2]
    assert tiers[0] == [
        {"min_notional": 0.0, "max_notional": None, "mmr": 0.004, "max_leverage": 125.0, "maint_amount": None}
    ]


LAX_ROW = st.fixed_dictionaries(  # tier rows with now and then a value the schema refuses or takes laxly
    {"min_notional": st.one_of(*[st.integers(0, 10**6)] * 8, st.just("0"), st.just(-1), st.none()),
     "max_leverage": st.one_of(*[st.integers(1, 125)] * 8, st.just("50"), st.just(0), st.just(True))},
    optional={
        "max_notional": st.one_of(st.none(), st.floats(1, 1e9), st.just(-5)),
        "mmr": st.one_of(st.none(), st.floats(0, 0.5), st.just(1.5), st.just("0.01")),
        "maint_amount": st.one_of(st.floats(-1e6, 1e6), st.none(), st.just(False)),
        "colour": st.just(1),
    },
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(LAX_ROW, max_size=3))
def test_typed_tier_lists_are_the_schemas(rows: list[dict[str, Any]]) -> None:
    """A tier list of a large file (msgspec first, pydantic's schema for what msgspec declines)
    gives the rows the general path gives, type for type, or refuses it in the same words."""
    doc = {
        "exchange": "binance",
        "positions": [{"symbol": "C1/USDT:USDT", "side": "long", "size": 1, "entry_price": 100, "tiers": rows}],
    }
    raw = json.dumps(doc).encode()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.json"
        path.write_bytes(raw)
        want = _general(path)
    try:
        got = _typed_requests(raw)
    except InputError as exc:
        assert str(exc) == want
        return
    assert got is not None and not isinstance(want, str), want
    tiers = got.positions[0].tiers
    assert tiers == dict(want[2][0])["tiers"]
    assert [[type(v) for v in row.values()] for row in tiers] == [
        [type(v) for v in row.values()] for row in dict(want[2][0])["tiers"]
    ]
    assert [list(row) for row in tiers] == [list(row) for row in dict(want[2][0])["tiers"]]


def test_large_file_is_read_without_pydantic(tmp_path: Path) -> None:
    """`calc --portfolio` on a large JSON file of valid positions and tier lists never imports
    pydantic's core (~4 % of a 10,000-position run, issue #22): msgspec checks them under the same
    constraints; the schema is built only for what msgspec declines."""
    positions = [
        {"symbol": f"C{i}/USDT:USDT", "side": "long", "size": 1 + i % 3, "entry_price": 100, "margin_mode": "cross",
         "tiers": [{"min_notional": 0, "max_notional": 50_000, "max_leverage": 50, "mmr": 0.01}]}
        for i in range(600)
    ]  # fmt: skip
    path = tmp_path / "big.json"
    path.write_text(json.dumps({"exchange": "binance", "wallet_balance": 1e6, "positions": positions}))
    assert path.stat().st_size > FAST_JSON_BYTES
    code = (
        "import sys\n"
        "from liqwatch.cli import main\n"
        f"assert main(['calc', '--portfolio', {str(path)!r}, '--json']) == 0\n"
        "print(sorted(m for m in sys.modules if m.startswith('pydantic')), file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stderr.strip().splitlines()[-1] == "[]"
    assert len(json.loads(out.stdout)["positions"]) == 600
