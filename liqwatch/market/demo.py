"""The demo market's backstop (offline, deterministic): insurance pools, Bybit's ADL alert,
funding and an index beside each mark, all driven by the scripted crash of
:class:`liqwatch.feeds.demo.DemoMarket`.

During the crash (25 s in, 15 s down, then a partial rebound) the Binance pool draws down about
22 % from its 8-hour maximum (the ``insurance_drawdown`` 10 % and 20 % levels fire), the marks
fall below their index by up to ~1.7 % (``mark_index_divergence`` 0.5 % and 1 %), Bybit's shared
USDT pool sees the BTC pnlRatio reach -0.28 against its -0.30 trigger (``adl_risk``: near), and
funding turns negative. Prices come from the demo market; nothing here draws from its random
generator, so the mark paths are unchanged.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from liqwatch.feeds.demo import CRASH_SECONDS, CRASH_START, REBOUND_SECONDS, trusted
from liqwatch.market.compute import HOUR, drawdown_adl_level
from liqwatch.market.history import History, Kind, pool_key
from liqwatch.market.model import AdlRisk, InsurancePool, MarketReport, SymbolMarket
from liqwatch.market.service import enrich
from liqwatch.numfmt import plain

if TYPE_CHECKING:
    from liqwatch.feeds.demo import DemoMarket

TROUGH = CRASH_START + CRASH_SECONDS
"""Simulated second of the crash's trough (``liqwatch market --demo`` shows the market there)."""

FUND_DRAW = 0.22
"""The Binance pool's drawdown at the trough (from its 8-hour maximum)."""
BYBIT_DRAW = 0.12
DIVERGENCE = 0.012
"""The mark's discount to the index at the trough, per unit of beta."""
PNL_RATIO_CALM = -0.01
PNL_RATIO_TROUGH = -0.28
BYBIT_TRIGGER, BYBIT_STOP, BYBIT_THRESHOLD = -0.30, -0.25, 10_000.0
FUNDING_CALM, FUNDING_CRASH = 0.0001, -0.0006

POOLS: dict[str, tuple[str, str, list[str], float, float, bool | None, str]] = {
    # exchange: (pool, asset, symbols, balance, drawdown at the trough, shared, kind)
    "binance": (
        "pool BTCUSDT",
        "USDT",
        ["BTCUSDT", "ETHUSDT", "SOLUSDT"],
        1_150_000_000.0,
        FUND_DRAW,
        None,
        "insurance",
    ),
    "bybit": ("USDT shared BTCUSDT", "USDT", ["BTCUSDT", "ETHUSDT"], 420_000_000.0, BYBIT_DRAW, True, "insurance"),
    "hyperliquid": ("HLP vault", "USDC", [], 380_000_000.0, 0.04, None, "vault"),
}
SOURCES = {
    "binance": "demo: simulated GET /fapi/v1/insuranceBalance",
    "bybit": "demo: simulated GET /v5/market/insurance",
    "hyperliquid": "demo: simulated HLP vault (a vault, not an insurance fund)",
}


def stress(t: float) -> float:
    """0 before the crash, 1 at its trough, easing to 0.6 over the rebound and staying there."""
    if t <= CRASH_START:
        return 0.0
    if t <= TROUGH:
        return (t - CRASH_START) / CRASH_SECONDS
    if t <= TROUGH + REBOUND_SECONDS:
        return 1.0 - 0.4 * (t - TROUGH) / REBOUND_SECONDS
    return 0.6


def _wobble(t: float, k: int) -> float:
    return 0.0002 * math.sin(t / 7.0 + k)


_symbol_market = trusted(SymbolMarket)
_adl_risk = trusted(AdlRisk)
"""The simulation's rows are built unvalidated (:func:`liqwatch.feeds.demo.trusted`): one per held
symbol and venue every second."""


def reports(market: DemoMarket, now: float) -> list[MarketReport]:
    """One report per demo venue at the market's current tick (``now``: the wall-clock stamp)."""
    t = float(market.tick)
    now = float(now)
    s = stress(t)
    held: dict[str, dict[str, None]] = {}  # the symbols held per venue, in first-seen order
    for acc in market.accounts:
        symbols = held.setdefault(acc.exchange, {})
        for p in acc.positions:
            symbols[p.symbol] = None
    out: list[MarketReport] = []
    for exchange, symbols in held.items():
        hourly = exchange == "hyperliquid"
        interval = 1.0 if hourly else 8.0
        rows = []
        for k, symbol in enumerate(symbols):
            mark = market.price(symbol)
            beta = market.beta.get(market.base(symbol), 1.0)
            dev = -DIVERGENCE * beta * s + _wobble(t, k)
            index = mark / (1.0 + dev)
            rate = FUNDING_CALM + (FUNDING_CRASH - FUNDING_CALM) * s
            step = interval * HOUR
            rows.append(
                _symbol_market(
                    symbol=symbol,
                    mark_price=mark,
                    index_price=index,
                    funding_rate=rate / 8.0 if hourly else rate,
                    next_funding_time=math.floor(now / step) * step + step,
                    funding_interval_h=interval,
                    source="demo: simulated mark and index",
                    as_of=now,
                )
            )
        report = MarketReport(exchange=exchange, ts=now, symbols=rows)
        if exchange in POOLS:
            report.insurance = [pool(exchange, s, now)]
        if exchange == "bybit":
            # the adlAlert rows of the shared USDT pool's members, held or not (BTC bears the losses)
            balance = POOLS["bybit"][3] * (1 - BYBIT_DRAW * s)
            report.adl_risk = []
            for sym, share in (("BTC/USDT:USDT", 1.0), ("ETH/USDT:USDT", 0.4)):
                ratio = PNL_RATIO_CALM + (PNL_RATIO_TROUGH - PNL_RATIO_CALM) * s * share
                level, why = drawdown_adl_level(balance, ratio, BYBIT_TRIGGER, BYBIT_THRESHOLD)
                report.adl_risk.append(
                    AdlRisk(
                        symbol=sym,
                        level=level,
                        detail=f"{why}, stop {plain(BYBIT_STOP)}; pool USDT balance {balance:,.0f}",
                        source="demo: simulated GET /v5/market/adlAlert",
                        as_of=now,
                        pnl_ratio=ratio,
                        trigger_ratio=BYBIT_TRIGGER,
                        stop_ratio=BYBIT_STOP,
                    )
                )
        if exchange == "binance":
            rating = "high" if s > 0.7 else "medium" if s > 0.3 else "low"
            report.adl_risk = [
                _adl_risk(
                    symbol=sym,
                    level=rating,
                    detail=f"Binance ADL risk rating {rating} (simulated)",
                    source="demo: simulated GET /fapi/v1/symbolAdlRisk",
                    as_of=now,
                )
                for sym in symbols
            ]
        if exchange == "hyperliquid":
            report.notes = ["Hyperliquid has no insurance fund: its backstop is the liquidator vault inside HLP"]
        out.append(report)
    return out


def pool(exchange: str, s: float, now: float) -> InsurancePool:
    name, asset, members, balance, draw, shared, kind = POOLS[exchange]
    value = balance * (1 - draw * s)
    return InsurancePool(
        pool=name,
        asset=asset,
        symbols=members,
        balance=value,
        balance_usd=value,
        shared=shared,
        kind=kind,
        source=SOURCES[exchange],
        as_of=now,
    )


def prehistory(history: History, now: float, days: int = 7) -> None:
    """Hourly balances for the week before ``now`` (a gentle deterministic drift), so the demo's
    24 h / 7 d change and 8-hour maximum have something to stand on."""
    rows: list[tuple[str, Kind, str, float, float]] = []
    for exchange, (name, asset, _members, balance, _draw, _shared, _kind) in POOLS.items():
        for h in range(days * 24, 0, -1):
            drift = 1.0 + 0.004 * (h / 24.0) / days + 0.0015 * math.sin(h / 5.0)
            rows.append((exchange, "insurance", pool_key(name, asset), now - h * HOUR, balance * drift))
    history.record(rows)


class DemoMarketSource:
    """The demo's market reports, every simulated second, enriched from an in-memory history (the
    demo never writes to disk). That history keeps the pools' balances only: their changes and
    drawdowns are all it is read for, and each symbol's divergence and funding every second (1,000
    rows a second on 500 symbols, kept 35 days) grew the process by ~450 MB an hour."""

    def __init__(self, market: DemoMarket, *, clock: Callable[[], float], speed: float = 1.0) -> None:
        self.market = market
        self.clock = clock
        self.speed = speed
        self.history = History(":memory:")
        prehistory(self.history, clock())

    def read(self) -> list[MarketReport]:
        now = self.clock()
        return [enrich(self.history, r, now, symbols=False) for r in reports(self.market, now)]

    async def run(self, sink: Callable[[MarketReport], None], every: float = 1.0) -> None:
        while True:
            for report in self.read():
                sink(report)
            await asyncio.sleep(every / self.speed)


def trough_reports(seed: int, now: float) -> list[MarketReport]:
    """``liqwatch market --demo``: the demo market stepped to the crash trough, second by second,
    with its history recorded on the way (offline, in memory)."""
    from liqwatch.feeds.demo import DemoMarket

    market = DemoMarket(seed)
    history = History(":memory:")
    start = now - TROUGH
    prehistory(history, start)
    latest: list[MarketReport] = []
    for _ in range(int(TROUGH)):
        market.step()
        stamp = start + market.tick
        latest = [enrich(history, r, stamp) for r in reports(market, stamp)]
    return latest
