"""The demo's backstop (the crash draws the fund down, the mark leaves the index, Bybit's ADL
alert nears its trigger, the new alerts fire), ``liqwatch market --demo`` offline, and the
``{"type": "market"}`` lines of ``liqwatch watch`` (keys exactly as the issue spells them)."""

from __future__ import annotations

import asyncio
import io
import json

import pytest

from liqwatch.alerts.engine import AlertEngine
from liqwatch.cli import build_parser
from liqwatch.feeds.demo import DemoMarket
from liqwatch.market.demo import TROUGH, DemoMarketSource, prehistory

LINE_KEYS = {"type", "ts", "exchange", "insurance", "adl_risk", "symbols"}
POOL_KEYS = {"pool", "asset", "symbols", "balance", "balance_usd", "change_24h", "drawdown_8h", "source", "as_of"}
ADL_KEYS = {"symbol", "level", "detail", "source", "as_of"}
SYMBOL_KEYS = {
    "symbol",
    "mark_price",
    "index_price",
    "divergence",
    "funding_rate",
    "next_funding_time",
    "funding_interval_h",
}


def test_demo_crash_fires_the_market_alerts() -> None:
    market = DemoMarket(7)
    clock = [1_800_000_000.0]
    source = DemoMarketSource(market, clock=lambda: clock[0])
    engine = AlertEngine()
    fired: dict[tuple[str, str, str], int] = {}
    worst_dd = 0.0
    closest_ratio = 0.0
    for _ in range(int(TROUGH) + 20):
        market.step()
        clock[0] += 1.0
        for report in source.read():
            for pool in report.insurance:
                worst_dd = max(worst_dd, pool.drawdown_8h or 0.0)
            for adl in report.adl_risk:
                if adl.pnl_ratio is not None:
                    closest_ratio = min(closest_ratio, adl.pnl_ratio)
            for alert in engine.evaluate_market(report, clock[0]):
                engine.mark_delivered(alert.id, clock[0])
                fired.setdefault((alert.account, alert.rule, alert.level), market.tick)
    assert 0.20 < worst_dd < 0.30  # Binance's pool: 22% below its 8-hour max at the trough
    assert -0.30 < closest_ratio <= -0.25  # Bybit BTC: near the -0.30 trigger, not past it
    assert {("binance", "insurance_drawdown", "0.1"), ("binance", "insurance_drawdown", "0.2")} <= set(fired)
    assert ("bybit", "insurance_drawdown", "0.1") in fired
    assert ("bybit", "adl_risk", "1") in fired and ("binance", "adl_risk", "1") in fired
    assert ("bybit", "adl_risk", "2") not in fired
    assert {("binance", "mark_index_divergence", "0.005"), ("binance", "mark_index_divergence", "0.01")} <= set(fired)
    assert all(tick > 25 for tick in fired.values())  # nothing before the crash


def test_market_demo_command_is_offline_json(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    def no_network(*a: object, **k: object) -> None:
        raise AssertionError("the demo must not touch the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    from liqwatch.cli import market as market_cli

    args = build_parser().parse_args(["market", "--demo", "--json"])
    out, err = io.StringIO(), io.StringIO()
    assert market_cli.run(args, out, err) == 0
    doc = json.loads(out.getvalue())
    by = {m["exchange"]: m for m in doc["markets"]}
    assert set(by) == {"binance", "bybit", "hyperliquid"}
    assert by["binance"]["insurance"][0]["drawdown_8h"] > 0.2
    assert by["bybit"]["adl_risk"][0]["level"] == "near"
    assert by["hyperliquid"]["insurance"][0]["kind"] == "vault"
    assert any("no insurance fund" in n for n in by["hyperliquid"]["notes"])


def test_market_demo_summary_filters() -> None:
    from liqwatch.cli import market as market_cli

    args = build_parser().parse_args(["market", "--demo", "--exchange", "bybit", "--symbol", "ETH"])
    out = io.StringIO()
    assert market_cli.run(args, out, io.StringIO()) == 0
    text = out.getvalue()
    assert "bybit" in text and "binance" not in text and "ETH/USDT:USDT: mark" in text
    assert "pnlRatio -0.28 within 0.05" in text


def test_watch_demo_market_lines_have_exactly_the_keys() -> None:
    from liqwatch.watch import run_watch

    args = build_parser().parse_args(["watch", "--demo", "--once"])
    out = io.StringIO()
    assert asyncio.run(run_watch(args, out)) == 0
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    markets = [line for line in lines if line["type"] == "market"]
    assert {m["exchange"] for m in markets} == {"binance", "bybit", "hyperliquid"}
    assert lines[-1]["type"] == "snapshot"
    for m in markets:
        assert set(m) == LINE_KEYS
        assert all(set(p) == POOL_KEYS for p in m["insurance"])
        assert all(set(a) == ADL_KEYS for a in m["adl_risk"])
        assert all(set(s) == SYMBOL_KEYS for s in m["symbols"])
        assert m["symbols"]  # the symbols the demo accounts hold


def test_watch_no_market_flag() -> None:
    from liqwatch.watch import run_watch

    args = build_parser().parse_args(["watch", "--demo", "--once", "--no-market"])
    out = io.StringIO()
    assert asyncio.run(run_watch(args, out)) == 0
    assert all(json.loads(line)["type"] != "market" for line in out.getvalue().splitlines())


def test_demo_history_keeps_only_the_pool_balances_it_reads() -> None:
    """Every simulated second adds one row per pool to the demo's in-memory history (not one per
    symbol's divergence and funding, which nothing reads back: 1,000 rows a second on 500 symbols),
    and the reports are those of a history that records everything."""
    from liqwatch.market.demo import reports
    from liqwatch.market.history import History
    from liqwatch.market.service import enrich

    market = DemoMarket(7)
    clock = [1_800_000_000.0]
    source = DemoMarketSource(market, clock=lambda: clock[0])
    full = History(":memory:")
    prehistory(full, clock[0])
    start, full_start = source.history.count(), full.count()
    pools = 0
    for _ in range(int(TROUGH) + 5):
        market.step()
        clock[0] += 1.0
        kept = source.read()
        everything = [enrich(full, r, clock[0]) for r in reports(market, clock[0])]
        assert [r.record() for r in kept] == [r.record() for r in everything]
        pools += sum(len(r.insurance) for r in kept)
    assert source.history.count() - start == pools
    assert full.count() - full_start > 5 * pools  # three pools, 11 symbols' divergence and funding
