"""The poller ``liqwatch watch`` runs over configured venues: real ccxt clients against the fake
servers, history recorded and backfilled (OKX), changes filled in, parts on their own cadence."""

from __future__ import annotations

import asyncio
from pathlib import Path

from liqwatch.market.client import MarketClient
from liqwatch.market.history import History, pool_key
from liqwatch.market.model import MarketReport
from liqwatch.market.service import MarketPoller
from tests.fakes.market_server import HOUR_MS, T0_MS, MarketFakeServer


def test_poller_reports_each_venue_and_backfills(tmp_path: Path) -> None:
    async def body() -> tuple[list[MarketReport], list[tuple[float, float]], list[str]]:
        async with MarketFakeServer("okx") as okx, MarketFakeServer("bybit") as bybit:
            got: list[MarketReport] = []
            done = asyncio.Event()

            def on_report(report: MarketReport) -> None:
                got.append(report)
                if {r.exchange for r in got} == {"okx", "bybit"} and len(got) >= 3:
                    done.set()

            # the fixtures are dated 2025-11-25: keep them whatever the wall clock says
            with History(tmp_path / "m.sqlite3", retention=10 * 365 * 86400.0) as history:
                poller = MarketPoller(
                    [MarketClient("okx", okx.url), MarketClient("bybit", bybit.url)],
                    lambda exchange: ["BTC"],
                    on_report,
                    history,
                    symbols_every=0.05,
                )
                poller.start()
                await done.wait()
                await poller.stop()
                series = history.series("okx", "insurance", pool_key("BTC-USDT", "USDT"))
            return got, series, bybit.paths()

    reports, series, bybit_paths = asyncio.run(body())
    # OKX's three history rows backfilled (the newest is also the polled balance)
    assert series == [((T0_MS - 2 * HOUR_MS) / 1000, 10.0), ((T0_MS - HOUR_MS) / 1000, 9.5), (T0_MS / 1000, 8.5)]
    okx = next(r for r in reports if r.exchange == "okx")
    assert okx.insurance[0].drawdown_8h is not None and abs(okx.insurance[0].drawdown_8h - 0.15) < 1e-9
    assert okx.symbols and okx.symbols[0].symbol == "BTC/USDT:USDT"
    # symbols every 0.05 s, insurance and ADL once a minute: more ticker reads than fund reads
    assert bybit_paths.count("/v5/market/tickers") > bybit_paths.count("/v5/market/insurance") == 1
    later = [r for r in reports if r.exchange == "bybit"][-1]
    assert later.insurance and later.adl_risk  # the latest of every part rides on each line
