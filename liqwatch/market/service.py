"""From reads to reports: record what was polled in the history, fill in the 24 h / 7 d change
and the drawdown from the 8-hour maximum, and poll venues at their cadence
(:class:`MarketPoller`, used by ``liqwatch watch``; the dashboard can run it the same way).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from liqwatch.market.history import History, Kind, pool_key
from liqwatch.market.model import MarketReport

if TYPE_CHECKING:
    from liqwatch.market.client import MarketClient, Part

log = logging.getLogger(__name__)

READY_WAIT = 10.0
SYMBOLS_EVERY = 15.0
"""Seconds between mark / index / funding reads (the divergence alert's cadence)."""


def record_history(history: History, report: MarketReport, *, symbols: bool = True) -> None:
    """Write the report's balances, divergences and funding rates (one transaction); ``symbols``
    False: the balances only."""
    rows: list[tuple[str, Kind, str, float, float]] = []
    for pool in report.insurance:
        rows.append(
            (report.exchange, "insurance", pool_key(pool.pool, pool.asset), pool.as_of or report.ts, pool.balance)
        )
    for s in report.symbols if symbols else ():
        if s.divergence is not None:
            rows.append((report.exchange, "divergence", s.symbol, report.ts, s.divergence))
        if s.funding_rate is not None:
            rows.append((report.exchange, "funding", s.symbol, report.ts, s.funding_rate))
    history.record(rows)


def enrich(
    history: History | None, report: MarketReport, now: float | None = None, *, symbols: bool = True
) -> MarketReport:
    """Record the report, then fill each pool's changes and drawdown from the history (a venue's
    own 8-hour figure, OKX ``maxBal``, is kept where it gave one). ``symbols`` False records the
    pools' balances only (what the enrichment reads back), not each symbol's divergence and funding."""
    if history is None:
        return report
    record_history(history, report, symbols=symbols)
    at = report.ts if now is None else now
    pools = []
    for pool in report.insurance:
        # at the time of the figure (Gate's newest history row may be hours old)
        c24, c7, dd = history.pool_stats(report.exchange, pool.pool, pool.asset, pool.as_of or at)
        pools.append(
            pool.model_copy(
                update={
                    "change_24h": c24,
                    "change_7d": c7,
                    "drawdown_8h": pool.drawdown_8h if pool.drawdown_8h is not None else dd,
                }
            )
        )
    report.insurance = pools
    return report


async def backfill(history: History, client: MarketClient, symbols: list[str]) -> tuple[int, list[str]]:
    """Insert the venue's insurance history (Gate, OKX) without overwriting recorded samples."""
    rows, problems = await client.history(symbols)
    written = history.record(
        [(client.exchange, "insurance", pool_key(pool, asset), ts, bal) for pool, asset, ts, bal in rows], replace=False
    )
    return written, problems


class MarketPoller:
    """Polls each venue's market on its own cadence and hands a full report (the latest of every
    part) to ``on_report`` after every read. ``symbols(exchange)`` says which symbols are held
    (asked at every read, so new positions are picked up)."""

    def __init__(
        self,
        clients: Sequence[MarketClient],
        symbols: Callable[[str], list[str]],
        on_report: Callable[[MarketReport], None],
        history: History | None = None,
        *,
        symbols_every: float = SYMBOLS_EVERY,
        speed: float = 1.0,
        ready: Callable[[str], bool] | None = None,
        ready_wait: float = READY_WAIT,
    ) -> None:
        self.clients = list(clients)
        self.symbols = symbols
        self.on_report = on_report
        self.history = history
        self.symbols_every = symbols_every
        self.speed = speed
        self.ready = ready
        """Whether the venue's positions are in (its held symbols known); the first read waits
        for it up to ``ready_wait`` seconds."""
        self.ready_wait = ready_wait
        self._tasks: list[asyncio.Task[None]] = []
        self.reads = 0

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._run(c), name=f"market-{c.exchange}") for c in self.clients]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for client in self.clients:
            with contextlib.suppress(Exception):
                await client.close()

    async def _run(self, client: MarketClient) -> None:
        a = client.adapter
        every: dict[Part, float] = {
            "insurance": a.insurance_interval,
            "adl": a.adl_interval,
            "symbols": self.symbols_every,
        }
        due: dict[Part, float] = dict.fromkeys(every, 0.0)
        latest = MarketReport(exchange=client.exchange, ts=time.time())
        if self.ready is not None:
            give_up = time.monotonic() + self.ready_wait
            while not self.ready(client.exchange) and time.monotonic() < give_up:
                await asyncio.sleep(0.05)
        if self.history is not None and a.backfill:
            _, problems = await backfill(self.history, client, self.symbols(client.exchange))
            for p in problems:
                log.warning("market history backfill: %s", p)
        while True:
            now = time.monotonic()
            parts = tuple(p for p in every if due[p] <= now)
            if parts:
                read = await client.read(self.symbols(client.exchange), parts)
                for p in parts:
                    due[p] = now + every[p] / self.speed
                latest = _merge(latest, read, parts)
                enriched = enrich(self.history, latest.model_copy(deep=True)) if "insurance" in parts else latest
                if "insurance" in parts:
                    latest.insurance = enriched.insurance
                self.reads += 1
                self.on_report(enriched.model_copy(update={"problems": read.problems}))
            await asyncio.sleep(max(0.01, min(due.values()) - time.monotonic()))


def _merge(latest: MarketReport, read: MarketReport, parts: tuple[Part, ...]) -> MarketReport:
    update: dict[str, object] = {"ts": read.ts, "notes": read.notes or latest.notes}
    if "insurance" in parts:
        update["insurance"] = read.insurance
    if "adl" in parts:
        update["adl_risk"] = read.adl_risk
    if "symbols" in parts:
        update["symbols"] = read.symbols
    return latest.model_copy(update=update)
