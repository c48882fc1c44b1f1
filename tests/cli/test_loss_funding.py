"""`liqwatch calc`, `watch` and `tiers update` surfaces of issue #13's per-position figures:
``liquidation_loss`` and ``funding``, their flags and portfolio keys, and one-line errors."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from liqwatch.cli import main
from liqwatch.cli.tiers_update import add_update_parser, run_update
from liqwatch.core.venues import get_venue
from liqwatch.feeds.events import PositionData, Positions
from liqwatch.markets import bundle
from liqwatch.output import SMALL_DOCUMENT
from liqwatch.state import State, snapshot_record
from liqwatch.tiers_update import Retry
from tests.fakes.calc_run import run_error, run_json
from tests.fakes.rest_harness import secrets
from tests.fakes.rest_server import FakeRestServer

BINANCE_BTC = ["--exchange", "binance", "--symbol", "BTCUSDT", "--side", "long", "--size", "1", "--entry", "20000"]


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIQWATCH_CACHE_DIR", str(tmp_path / "cache"))


def write(path: Path, doc: dict[str, Any]) -> str:
    path.write_text(json.dumps(doc))
    return str(path)


# ---------------------------------------------------------------------- calc, one position


def test_calc_liquidation_loss_binance_bundled_fee(capsys: pytest.CaptureFixture[str]) -> None:
    # the backstop.md worked check through calc: 50x long, bundled BTCUSDT liquidationFee 1.25 %
    data = run_json(capsys, *BINANCE_BTC, "--leverage", "50")
    pos = data["positions"][0]
    loss = pos["liquidation_loss"]
    assert pos["liquidation_loss_unavailable"] is None
    assert loss["model"] == "clearance_fee" and loss["fee_rate"] == 0.0125 and loss["currency"] == "USDT"
    assert "liquidationFee" in loss["rule"]
    assert set(loss["best"]) == {"loss", "fee", "to_insurance_fund", "returned", "fill_price"}
    assert loss["best"]["fill_price"] == pytest.approx(pos["liquidation_price"])
    assert loss["worst"]["fill_price"] == pytest.approx(pos["bankruptcy_price"])
    assert loss["best"]["fee"] == pytest.approx(78.714859, rel=1e-7)  # capped at the equity left
    assert loss["best"]["loss"] == pytest.approx(400.0) == loss["worst"]["loss"]
    assert pos["funding"] is None and pos["funding_unavailable"] is None  # no rate given


def test_calc_binance_symbol_without_a_known_fee(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(
        capsys, "--exchange", "binance", "--symbol", "ETHUSDT", "--side", "short", "--size", "2", "--entry", "3000",
        "--leverage", "20",
    )  # fmt: skip
    loss = data["positions"][0]["liquidation_loss"]
    assert loss["fee_rate"] is None and loss["best"]["fee"] is None and "unknown" in loss["note"]
    assert loss["best"]["loss"] == pytest.approx(300.0)


@pytest.mark.parametrize(
    ("exchange", "symbol", "model"),
    [
        ("bybit", "BTCUSDT", "bankruptcy_close"),
        ("okx", "BTC-USDT-SWAP", "taker_fee"),
        ("gate", "BTC_USDT", "taker_fee"),
        ("bitget", "BTCUSDT", "taker_fee"),
        ("hyperliquid", "BTC", "remainder_returned"),
    ],
)
def test_calc_loss_model_per_venue(capsys: pytest.CaptureFixture[str], exchange: str, symbol: str, model: str) -> None:
    data = run_json(
        capsys, "--exchange", exchange, "--symbol", symbol, "--side", "long", "--size", "0.1", "--entry", "60000",
        "--leverage", "10",
    )  # fmt: skip
    loss = data["positions"][0]["liquidation_loss"]
    assert loss["model"] == model
    assert loss["best"]["loss"] <= loss["worst"]["loss"] + 1e-9
    assert loss["worst"]["loss"] == pytest.approx(600.0)  # the margin: 0.1 x 60,000 / 10


def test_calc_funding_rate_and_time(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(
        capsys, *BINANCE_BTC, "--leverage", "50", "--funding-rate", "0.0001",
        "--next-funding-time", "2026-12-02T00:00:00Z",
    )  # fmt: skip
    funding = data["positions"][0]["funding"]
    assert funding["rate"] == 0.0001 and funding["next_time"] == 1_796_169_600.0  # seconds, as every time
    assert funding["next_payment"] == pytest.approx(-2.0)  # 0.0001 x 20,000, paid by the long
    assert funding["currency"] == "USDT"
    # Binance isolated LP = (EP - M/Q) / (1 - MMR), M = 400 - 2k
    expected = [(20_000.0 - (400.0 - 2.0 * k)) / 0.996 for k in (1, 2, 3)]
    assert funding["liquidation_price_after"] == pytest.approx(expected, rel=1e-12)
    epoch = run_json(capsys, *BINANCE_BTC, "--leverage", "50", "--next-funding-time", "1796169600000")
    assert epoch["positions"][0]["funding"] is None


def test_calc_human_output_names_the_cost_and_the_drift(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calc", *BINANCE_BTC, "--leverage", "50", "--funding-rate", "0.0001"]) == 0
    out = capsys.readouterr().out
    assert "If liquidated at the liquidation price: loses 400.00 USDT (fee 78.71" in out
    assert "the position pays 2.00 USDT each time" in out and "19,680.7 → 19,682.7 → 19,684.7" in out


# ---------------------------------------------------------------------- what-if --funding-periods


def test_funding_periods_what_if(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, *BINANCE_BTC, "--leverage", "50", "--funding-rate", "0.0001", "--funding-periods", "10")
    w = data["what_if"]
    assert w["scenario"] == "funding_periods" and w["funding_periods"] == 10
    row = w["positions"][0]
    assert len(row["liquidation_price_after"]) == 10 and row["paid_total"] == pytest.approx(-20.0)
    assert row["liquidation_price_after"][-1] == pytest.approx((20_000.0 - 380.0) / 0.996, rel=1e-12)
    assert main(["calc", *BINANCE_BTC, "--leverage", "50", "--funding-rate", "0.0001", "--funding-periods", "3"]) == 0
    assert "liquidation price over 3 funding payments" in capsys.readouterr().out


# ---------------------------------------------------------------------- portfolio files


def test_portfolio_funding_rate_per_position(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = {
        "exchange": "binance",
        "wallet_balance": 10_000,
        "positions": [
            {"symbol": "BTCUSDT", "side": "long", "size": 0.5, "entry_price": 60_000, "margin_mode": "cross",
             "funding_rate": 0.0002, "next_funding_time": 1_796_169_600_000},
            {"symbol": "ETHUSDT", "side": "short", "size": 5, "entry_price": 3_000, "leverage": 10},
        ],
    }  # fmt: skip
    data = run_json(capsys, "--portfolio", write(tmp_path / "p.json", doc))
    btc, eth = data["positions"]
    assert btc["funding"]["rate"] == 0.0002 and btc["funding"]["next_time"] == 1_796_169_600.0
    assert btc["funding"]["next_payment"] == pytest.approx(-6.0)  # 0.0002 x 0.5 x 60,000
    assert eth["funding"] is None
    assert btc["liquidation_loss"]["model"] == eth["liquidation_loss"]["model"] == "clearance_fee"
    toml = tmp_path / "p.toml"
    toml.write_text(
        'exchange = "okx"\n[[positions]]\nsymbol = "BTC-USDT-SWAP"\nside = "short"\nsize = 1\n'
        "entry_price = 60000\nleverage = 10\nfunding_rate = -0.0001\n"
    )
    okx = run_json(capsys, "--portfolio", str(toml))["positions"][0]
    assert okx["funding"]["next_payment"] == pytest.approx(-6.0)  # a short pays a negative rate
    drift = okx["funding"]["liquidation_price_after"]
    assert drift == sorted(drift, reverse=True)  # paying: the short's liquidation price falls toward the mark
    w = run_json(capsys, "--portfolio", str(toml), "--funding-periods", "4")["what_if"]
    assert len(w["positions"][0]["liquidation_price_after"]) == 4


def test_large_portfolio_streamed_keeps_the_fields(tmp_path: Path) -> None:
    # one position per symbol (an account holds one of each): 150 of the bundle's Binance symbols
    names = [n for n in bundle(get_venue("binance")).markets if n.endswith("/USDT:USDT")][:150]
    positions = [
        {"symbol": n, "side": "short", "size": 1, "entry_price": 10, "leverage": 2,
         "funding_rate": 0.0001 if i % 2 else None}
        for i, n in enumerate(names)
    ]  # fmt: skip
    path = write(tmp_path / "big.json", {"exchange": "binance", "positions": positions})
    proc = subprocess.run(
        [sys.executable, "-m", "liqwatch.cli", "calc", "--portfolio", path, "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    docs = json.loads(proc.stdout)["positions"]
    assert len(docs) == 150 > SMALL_DOCUMENT  # written a piece at a time
    assert all(d["liquidation_loss"] is not None for d in docs)
    assert [d["funding"] is not None for d in docs] == [bool(i % 2) for i in range(150)]


def test_position_record_keys_are_the_presized_template_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    # position_record fills a copy of _POSITION_RECORD: a key it set that the template lacks would
    # land after the loss and funding keys, and a key it never set would print as null
    from liqwatch import records
    from liqwatch.core.engine import assess
    from liqwatch.records import LossFunding, position_record
    from liqwatch.request import PositionRequest, account_wallet, build_spec

    venue = get_venue("binance")
    reqs = [
        PositionRequest("BTC/USDT:USDT", "long", 0.5, 60_000.0, 10.0),
        PositionRequest("ETH/USDT:USDT", "short", 3.0, 3_000.0, 20.0, margin_mode="cross"),
        PositionRequest("BTC/USD:BTC", "long", 1_000.0, 60_000.0, 5.0),
    ]
    specs = [build_spec(venue, r) for r in reqs]
    risk = assess(venue, specs, account_wallet(venue, specs, {"USDT": 10_000.0, "BTC": 1.0}))
    keys = list(records._POSITION_RECORD)
    unset = object()
    monkeypatch.setattr(records, "_POSITION_RECORD", dict.fromkeys(keys, unset))
    docs = [position_record(p, venue) for p in risk.positions]
    assert all(list(d) == keys for d in docs)
    filled_later = ["liquidation_loss", "liquidation_loss_unavailable", "funding", "funding_unavailable"]
    assert keys[-4:] == filled_later
    assert all(d[key] is not unset for d in docs for key in keys[:-4])
    LossFunding(risk, venue, None).add(docs)
    assert all(d[key] is not unset for d in docs for key in keys)
    assert all(list(d) == keys for d in docs)
    assert all((d["liquidation_loss"] is None) != (d["liquidation_loss_unavailable"] is None) for d in docs)


# ---------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--funding-rate", "2"], "--funding-rate: must be a finite number in (-1, 1)"),
        (["--funding-rate", "nan"], "--funding-rate: must be a finite number in (-1, 1)"),
        (["--next-funding-time", "tomorrow"], "--next-funding-time: must be epoch milliseconds or an ISO 8601"),
        (["--funding-periods", "3"], "--funding-periods: needs a funding rate"),
        (["--funding-rate", "0.0001", "--funding-periods", "0"], "--funding-periods: must be 1-1000, got 0"),
    ],
)
def test_one_line_errors(capsys: pytest.CaptureFixture[str], args: list[str], expected: str) -> None:
    assert run_error(capsys, *BINANCE_BTC, "--leverage", "50", *args).startswith(f"liqwatch: error: {expected}")


def test_portfolio_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = {"symbol": "BTCUSDT", "side": "long", "size": 1, "entry_price": 60_000, "leverage": 10}
    bad = write(tmp_path / "bad.json", {"exchange": "binance", "positions": [{**base, "funding_rate": 5}]})
    line = run_error(capsys, "--portfolio", bad)
    assert "positions[0].funding_rate" in line
    when = write(tmp_path / "when.json", {"exchange": "binance", "positions": [{**base, "next_funding_time": "soon"}]})
    assert "positions[0].next_funding_time: must be epoch milliseconds" in run_error(capsys, "--portfolio", when)
    good = write(tmp_path / "good.json", {"exchange": "binance", "positions": [base]})
    assert "--funding-rate" in run_error(capsys, "--portfolio", good, "--funding-rate", "0.0001")


# ---------------------------------------------------------------------- tiers update reads liquidationFee


def test_tiers_update_stores_liquidation_fee_and_calc_uses_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import argparse

    monkeypatch.setenv("LW_KEY", secrets("binance").ccxt_options()["apiKey"])
    monkeypatch.setenv("LW_SECRET", "s3cr3t")
    config = tmp_path / "config.toml"

    async def instant(_delay: float) -> None:
        return None

    async def update() -> int:
        async with FakeRestServer("binance") as fake:
            for market in fake.data["exchangeInfo"]["symbols"]:
                if market["symbol"] == "BTCUSDT":
                    market["liquidationFee"] = "0.020000"  # not the bundled 1.25 %
            config.write_text(
                '[[accounts]]\nname = "b"\nexchange = "binance"\napi_key_env = "LW_KEY"\n'
                f'api_secret_env = "LW_SECRET"\nrest_url = "{fake.url}"\n'
            )
            parser = argparse.ArgumentParser()
            add_update_parser(parser.add_subparsers(dest="tiers_command"))
            args = parser.parse_args(["update", "--exchange", "binance", "--config", str(config)])
            return await asyncio.to_thread(run_update, args, retry=lambda: Retry(attempts=2, sleep=instant))

    assert asyncio.run(update()) == 0
    from liqwatch import tiercache

    cached = tiercache.read_cache("binance")
    assert cached is not None and cached["symbols"]["BTC/USDT:USDT"]["liquidation_fee"] == 0.02
    capsys.readouterr()
    loss = run_json(capsys, *BINANCE_BTC, "--leverage", "5")["positions"][0]["liquidation_loss"]
    assert loss["fee_rate"] == 0.02


# ---------------------------------------------------------------------- watch


def test_watch_records_carry_loss_and_say_why_funding_is_null() -> None:
    state = State()
    position = PositionData(
        symbol="BTC/USDT:USDT", side="long", size=1.0, entry_price=60_000.0, margin_mode="isolated",
        leverage=10.0, isolated_margin=6_000.0,
    )  # fmt: skip
    state.apply(Positions(account="a", exchange="bybit", ts=1.0, positions=[position]))
    record = snapshot_record(state.snapshot())["positions"][0]
    assert record["liquidation_loss"]["model"] == "bankruptcy_close"
    assert record["liquidation_loss"]["worst"]["loss"] == pytest.approx(6_000.0)
    assert record["funding"] is None and "funding rate" in record["funding_unavailable"]
    json.dumps(record, allow_nan=False)


def test_watch_records_carry_funding_once_a_rate_is_known(monkeypatch: pytest.MonkeyPatch) -> None:
    from liqwatch import records

    monkeypatch.setattr(records, "_LIVE_FUNDING", {})
    state = State()
    position = PositionData(
        symbol="BTC/USDT:USDT", side="long", size=1.0, entry_price=60_000.0, margin_mode="isolated",
        leverage=10.0, isolated_margin=6_000.0,
    )  # fmt: skip
    state.apply(Positions(account="a", exchange="bybit", ts=1.0, positions=[position]))
    records.set_live_funding("bybit", "BTC/USDT:USDT", 0.0001, 1_796_169_600.0)
    record = snapshot_record(state.snapshot())["positions"][0]
    funding = record["funding"]
    assert funding["rate"] == 0.0001 and funding["next_time"] == 1_796_169_600.0  # seconds, as every time
    # Bybit isolated: the long's LP rises by rate x mark = 6 per payment
    lp = record["liquidation_price"]
    assert funding["next_payment"] == pytest.approx(-6.0)
    assert funding["liquidation_price_after"] == pytest.approx([lp + 6.0, lp + 12.0, lp + 18.0], rel=1e-12)
    records.set_live_funding("bybit", "BTC/USDT:USDT", None)
    assert snapshot_record(state.snapshot())["positions"][0]["funding"] is None


def test_watch_funding_projection_is_reused_until_positions_rates_or_time_change(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The projection (three re-assessments of the account) is computed once per account while
    its positions and rates stay the same, for at most FUNDING_REFRESH_S seconds of the clock."""
    from liqwatch import records
    from liqwatch.core import funding as core_funding

    monkeypatch.setattr(records, "_LIVE_FUNDING", {})
    monkeypatch.setattr(records, "_FUNDING_PROJECTIONS", {})
    calls: list[int] = []
    real = core_funding.liquidation_prices_after

    def counting(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(core_funding, "liquidation_prices_after", counting)
    now = [1_000.0]
    state = State(clock=lambda: now[0])
    position = PositionData(
        symbol="BTC/USDT:USDT", side="long", size=1.0, entry_price=60_000.0, margin_mode="isolated",
        leverage=10.0, isolated_margin=6_000.0,
    )  # fmt: skip
    state.apply(Positions(account="a", exchange="bybit", ts=now[0], positions=[position]))
    records.set_live_funding("bybit", "BTC/USDT:USDT", 0.0001, 1_796_169_600.0)
    first = snapshot_record(state.snapshot())["positions"][0]["funding"]
    now[0] += records.FUNDING_REFRESH_S / 2
    assert snapshot_record(state.snapshot())["positions"][0]["funding"] == first
    assert len(calls) == 1  # reused
    records.set_live_funding("bybit", "BTC/USDT:USDT", 0.0002, 1_796_169_600.0)
    assert snapshot_record(state.snapshot())["positions"][0]["funding"]["rate"] == 0.0002
    assert len(calls) == 2  # a new rate: recomputed
    now[0] += records.FUNDING_REFRESH_S
    snapshot_record(state.snapshot())
    assert len(calls) == 3  # stale: recomputed


def test_bundled_rates_have_a_note_each(capsys: pytest.CaptureFixture[str]) -> None:
    import json as _json
    from importlib import resources

    data = _json.loads(resources.files("liqwatch.data").joinpath("liquidation_fees.json").read_text())
    binance = data["binance"]
    assert binance["field"] == get_venue("binance").liquidation_fee_per_symbol
    assert set(binance["rates"]) == set(binance["notes"]) and all(0 < r < 1 for r in binance["rates"].values())
    loss = run_json(
        capsys, "--exchange", "binance", "--symbol", "XAUUSDT", "--side", "short", "--size", "1", "--entry", "2500",
        "--leverage", "10",
    )["positions"][0]["liquidation_loss"]  # fmt: skip
    assert loss["fee_rate"] == 0.015


def test_watch_demo_positions_get_funding_from_the_market_lines() -> None:
    import io

    from liqwatch import records
    from liqwatch.cli import build_parser
    from liqwatch.watch import run_watch

    args = build_parser().parse_args(["watch", "--demo", "--once"])
    out = io.StringIO()
    assert asyncio.run(run_watch(args, out)) == 0
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    rates = {
        (m["exchange"], s["symbol"]): s["funding_rate"] for m in lines if m["type"] == "market" for s in m["symbols"]
    }
    # the multi-assets account's cross positions are priced from its collateral: no single-pool
    # liquidation cost or funding drift (said, not guessed)
    pooled = [p for p in lines[-1]["positions"] if p["account"] == "demo-binance-ma"]
    assert pooled and all(p["liquidation_loss"] is None and p["liquidation_loss_unavailable"] for p in pooled)
    positions = [p for p in lines[-1]["positions"] if p["account"] != "demo-binance-ma"]
    assert positions and all(p["liquidation_loss"] is not None for p in positions)
    for p in positions:
        rate = rates.get((p["exchange"], p["symbol"]))
        if rate is None:
            assert p["funding"] is None and p["funding_unavailable"]
        else:
            assert p["funding"]["rate"] == rate and len(p["funding"]["liquidation_price_after"]) == 3
    assert any(p["funding"] is not None for p in positions)
    assert not records._LIVE_FUNDING  # the run's rates do not outlive it
