"""Every venue's market adapter with the real ccxt client against the fake servers (shapes from
backstop.md): insurance pools, ADL risk, mark / index / funding; malformed and missing fields
are one line each and nothing else is lost."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from liqwatch.market.client import MarketClient
from liqwatch.market.model import MarketReport
from tests.fakes.market_server import HOUR_MS, T0_MS, MarketFakeServer

T0 = T0_MS / 1000


def read(
    venue: str, symbols: list[str], mutate: Callable[[MarketFakeServer], None] | None = None
) -> tuple[MarketReport, list[str]]:
    async def body() -> tuple[MarketReport, list[str]]:
        async with MarketFakeServer(venue) as fake:
            if mutate is not None:
                mutate(fake)
            async with MarketClient(venue, fake.url) as client:
                return await client.read(symbols), fake.paths()

    return asyncio.run(body())


def test_binance_pools_adl_marks() -> None:
    report, paths = read("binance", ["BTC", "SOLUSDT"])
    assert report.problems == []
    assert "/fapi/v1/insuranceBalance" in paths and "/fapi/v1/symbolAdlRisk" in paths
    pools = {(p.pool, p.asset): p for p in report.insurance}
    assert set(pools) == {("pool BTCUSDT", "USDT"), ("pool BTCUSDT", "BTC"), ("pool SOLUSDT", "USDT")}
    usdt = pools[("pool BTCUSDT", "USDT")]
    assert usdt.balance == 793930579.315848 and usdt.balance_usd == usdt.balance
    assert usdt.symbols == ["BTCUSDT", "BTCUSDC", "ETHUSDT"] and usdt.as_of == T0
    assert pools[("pool BTCUSDT", "BTC")].balance == 61.73 and pools[("pool BTCUSDT", "BTC")].balance_usd is None
    assert {(a.symbol, a.level) for a in report.adl_risk} == {("BTC/USDT:USDT", "low"), ("SOL/USDT:USDT", "medium")}
    assert all(a.source == "GET /fapi/v1/symbolAdlRisk" and a.as_of == T0 for a in report.adl_risk)
    marks = {s.symbol: s for s in report.symbols}
    btc = marks["BTC/USDT:USDT"]
    assert (btc.mark_price, btc.index_price) == (61000.0, 60990.12)
    assert btc.divergence == pytest.approx((61000 - 60990.12) / 60990.12)
    assert btc.funding_rate == 0.0001 and btc.next_funding_time == 1764086400.0
    assert btc.funding_interval_h == 8.0  # not in fundingInfo: the default
    assert marks["SOL/USDT:USDT"].funding_interval_h == 4.0  # fundingInfo's adjusted interval


def test_bybit_pools_shared_isolated_and_adl_alert() -> None:
    report, _ = read("bybit", ["BTC", "ETH", "SOL"])
    assert report.problems == []
    (pool,) = report.insurance  # only pools holding a requested symbol
    assert pool.pool == "USDT shared BTCUSDT" and pool.shared is True
    assert pool.symbols == ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
    assert (pool.balance, pool.balance_usd, pool.as_of) == (402531234.5, 402611111.1, T0)
    adl = {a.symbol: a for a in report.adl_risk}
    assert adl["BTC/USDT:USDT"].level == "near"  # -0.27 within 0.05 of -0.30
    assert (adl["BTC/USDT:USDT"].pnl_ratio, adl["BTC/USDT:USDT"].trigger_ratio) == (-0.27, -0.3)
    assert adl["BTC/USDT:USDT"].stop_ratio == -0.25
    assert adl["ETH/USDT:USDT"].level == "none"  # ZORAUSDT's row of the doc: no ADL
    assert adl["SOL/USDT:USDT"].level == "active"  # FWOGUSDT's row: balance <= 0
    marks = {s.symbol: s for s in report.symbols}
    assert marks["BTC/USDT:USDT"].funding_interval_h == 8.0  # fundingInterval 480 minutes
    assert marks["BTC/USDT:USDT"].next_funding_time == 1764086400.0


def test_bybit_isolated_pool_and_all_pools() -> None:
    def only_isolated(fake: MarketFakeServer) -> None:
        fake.data["market_insurance"]["list"][0]["symbols"] = "BTCUSDT"

    report, _ = read("bybit", ["BTC"], only_isolated)
    assert [(p.pool, p.shared) for p in report.insurance] == [("USDT isolated BTCUSDT", False)]


def test_bybit_drawdown_trigger_active() -> None:
    def crossed(fake: MarketFakeServer) -> None:
        fake.data["market_adl_alert"]["list"][0]["pnlRatio"] = "-0.35"  # the doc's scenario 1

    report, _ = read("bybit", ["BTC"], crossed)
    assert report.adl_risk[0].level == "active"


def test_okx_fund_family_maxbal_adltype_marks() -> None:
    report, paths = read("okx", ["BTC", "ETH"])
    assert report.problems == []
    pools = {p.pool: p for p in report.insurance}
    btc = pools["BTC-USDT"]
    assert (btc.balance, btc.asset, btc.balance_usd, btc.max_8h) == (8.5, "USDT", 1369179138.7489, 10.0)
    assert btc.drawdown_8h == pytest.approx(0.15)  # 1 - 8.5 / maxBal 10
    assert btc.as_of == T0
    adl = {a.symbol: a.level for a in report.adl_risk}
    assert adl == {"BTC/USDT:USDT": "none", "ETH/USDT:USDT": "active"}  # ETH: bal_adl_start
    marks = {s.symbol: s for s in report.symbols}
    assert (marks["BTC/USDT:USDT"].mark_price, marks["BTC/USDT:USDT"].index_price) == (61000.0, 60990.1)
    assert marks["BTC/USDT:USDT"].funding_interval_h == 8.0
    assert marks["BTC/USDT:USDT"].next_funding_time == (T0_MS + 6 * HOUR_MS) / 1000
    assert marks["ETH/USDT:USDT"].funding_interval_h == 4.0 and marks["ETH/USDT:USDT"].funding_rate == -0.00025
    assert "/api/v5/market/index-tickers" in paths


def test_gate_fund_history_and_marks() -> None:
    report, _ = read("gate", ["BTC"])
    assert report.problems == [] and report.adl_risk == []
    assert any("no public ADL" in n for n in report.notes)
    (pool,) = report.insurance
    assert (pool.pool, pool.balance, pool.as_of) == ("USDT futures", 66000000.5, T0)
    (btc,) = report.symbols
    assert (btc.mark_price, btc.index_price, btc.funding_rate) == (61000.0, 60990.1, 0.0001)
    assert btc.funding_interval_h == 8.0 and btc.next_funding_time == 1764086400.0


def test_bitget_says_no_fund_and_reads_funding() -> None:
    report, _ = read("bitget", ["BTC", "ETH"])
    assert report.problems == [] and report.insurance == []
    assert any("no insurance fund" in n for n in report.notes)
    marks = {s.symbol: s for s in report.symbols}
    assert marks["ETH/USDT:USDT"].funding_interval_h == 4.0
    assert marks["BTC/USDT:USDT"].next_funding_time == (T0_MS + 6 * HOUR_MS) / 1000
    assert marks["BTC/USDT:USDT"].index_price == 60990.1


def test_hyperliquid_no_fund_hlp_vault_and_oracle() -> None:
    report, _ = read("hyperliquid", ["BTC/USDC:USDC"])
    assert report.problems == []
    assert any("no insurance fund" in n for n in report.notes)
    (vault,) = report.insurance
    assert vault.kind == "vault" and vault.balance == 371500000.5 and vault.as_of == T0
    (btc,) = report.symbols
    assert (btc.mark_price, btc.index_price, btc.funding_rate, btc.funding_interval_h) == (
        61000.0,
        60990.0,
        0.0000125,
        1.0,
    )


# ---------------------------------------------------------------- malformed and missing fields


def _drop(path: tuple[Any, ...], field: str) -> Callable[[MarketFakeServer], None]:
    def mutate(fake: MarketFakeServer) -> None:
        holder: Any = fake.data
        for part in path:
            holder = holder[part]
        holder.pop(field)

    return mutate


def _garble(path: tuple[Any, ...], field: str) -> Callable[[MarketFakeServer], None]:
    def mutate(fake: MarketFakeServer) -> None:
        holder: Any = fake.data
        for part in path:
            holder = holder[part]
        holder[field] = "n/a"

    return mutate


CASES = [
    (
        "binance",
        ["BTC", "SOL"],
        _drop(("market_insurance", 1, "assets", 0), "marginBalance"),
        "'marginBalance' missing",
        2,
    ),
    ("binance", ["BTC", "SOL"], _garble(("market_adl_risk", 0), "adlRisk"), "'adlRisk'", 3),
    ("bybit", ["BTC", "ETH"], _garble(("market_adl_alert", "list", 0), "pnlRatio"), "'pnlRatio'", 1),
    ("bybit", ["BTC"], _drop(("market_insurance", "list", 0), "balance"), "'balance' missing", 0),
    ("okx", ["BTC", "ETH"], _garble(("market_insurance_fund", "ETH-USDT", "details", 0), "balance"), "'balance'", 1),
    ("gate", ["BTC"], _garble(("market_insurance", 0), "b"), "'b'", 1),
    ("binance", ["BTC", "SOL"], _drop(("premiumIndex", 0), "indexPrice"), "'indexPrice'", 3),
]


@pytest.mark.parametrize(("venue", "symbols", "mutate", "says", "pools_left"), CASES)
def test_bad_field_is_one_line_and_the_rest_is_kept(
    venue: str, symbols: list[str], mutate: Callable[[MarketFakeServer], None], says: str, pools_left: int
) -> None:
    good, _ = read(venue, symbols)
    bad, _ = read(venue, symbols, mutate)
    assert len(bad.problems) == 1, bad.problems
    (line,) = bad.problems
    assert says in line and "\n" not in line and line.startswith(f"{venue}: ")
    assert len(bad.insurance) == pools_left
    kept = len(good.insurance) + len(good.adl_risk) + len(good.symbols)
    assert len(bad.insurance) + len(bad.adl_risk) + len(bad.symbols) >= kept - 1


def test_failed_endpoint_is_one_line_others_kept() -> None:
    def fail_adl(fake: MarketFakeServer) -> None:
        fake.set("market_adl_alert", None)

    report, _ = read("bybit", ["BTC"], fail_adl)
    assert report.insurance and report.symbols
    assert len(report.problems) == 1 and "adlAlert" in report.problems[0]


def test_unknown_symbol_is_one_line() -> None:
    report, _ = read("binance", ["NOPE"])
    assert report.problems == ["binance: --symbol NOPE: not a binance perpetual"]


def test_venue_unreachable_is_one_line() -> None:
    from tests.fakes.ports import refused_port

    async def body() -> MarketReport:
        with refused_port() as port:
            async with MarketClient("bybit", f"http://127.0.0.1:{port}") as client:
                return await client.read(["BTC"])

    import ccxt

    with pytest.raises(ccxt.NetworkError):  # open() in __aenter__ raises; read() alone reports
        asyncio.run(body())

    async def body2(port: int) -> MarketReport:
        client = MarketClient("bybit", f"http://127.0.0.1:{port}")
        try:
            return await client.read(["BTC"])
        finally:
            await client.close()

    with refused_port() as port:
        report = asyncio.run(body2(port))
    assert report.problems == [
        f"bybit: cannot reach 127.0.0.1:{port} (connection refused): "
        "check the network (`liqwatch market --demo` shows the demo market offline)"
    ]
