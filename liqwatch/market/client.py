"""One venue's public market data through ccxt (no keys): :class:`MarketClient`.

ccxt is imported when a client opens (``liqwatch market`` and ``liqwatch watch`` only).
``rest_url`` points every REST base URL at another host (a proxy, a test server), as the
account's ``rest_url`` does for the private feeds.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from liqwatch.feeds.parse import as_dict
from liqwatch.market.model import MarketReport
from liqwatch.market.venue import HistoryRow, VenueMarket, get_market, guarded

Part = Literal["insurance", "adl", "symbols"]
ALL_PARTS: tuple[Part, ...] = ("insurance", "adl", "symbols")


def resolve_symbol(ex: Any, name: str, settle: str) -> str | None:
    """A unified symbol ccxt loaded for ``name``: a unified symbol, a venue id (``BTCUSDT``,
    ``BTC-USDT-SWAP``) or a base (``BTC`` -> the settle currency's perpetual)."""
    markets = as_dict(ex.markets)
    if name in markets:
        return name
    by_id = as_dict(getattr(ex, "markets_by_id", None) or {})
    found = by_id.get(name)
    if isinstance(found, list) and found:
        found = found[0]
    symbol = as_dict(found).get("symbol")
    if isinstance(symbol, str):
        return symbol
    upper = name.upper()
    guess = f"{upper}/{settle}:{settle}"
    return guess if guess in markets else None


class MarketClient:
    """A ccxt async client for one venue's public endpoints."""

    def __init__(self, exchange: str, rest_url: str | None = None) -> None:
        from liqwatch.venues import get_home

        self.home = get_home(exchange)
        self.exchange = self.home.name
        self.adapter: VenueMarket = get_market(exchange)
        self.rest_url = rest_url
        self._ex: Any = None

    @property
    def settle(self) -> str:
        return self.home.maths.settle

    async def open(self) -> Any:
        if self._ex is None:
            import ccxt.async_support as ccxt_async

            from liqwatch.feeds.ccxt_client import override_urls

            ex = getattr(ccxt_async, self.home.ccxt_id)({"enableRateLimit": True, "options": self.home.rest.options()})
            ex.has["fetchCurrencies"] = False
            if self.rest_url:
                ex.urls["api"] = override_urls(ex.urls["api"], self.rest_url)
            try:
                await ex.load_markets()
            except BaseException:
                await ex.close()
                raise
            self._ex = ex
        return self._ex

    async def close(self) -> None:
        ex, self._ex = self._ex, None
        if ex is not None:
            await ex.close()

    async def __aenter__(self) -> MarketClient:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def unreachable(self, exc: BaseException) -> str:
        """The one line for a venue whose markets could not be loaded: what, why, what to do."""
        from liqwatch.feeds.ccxt_client import explain

        return explain(
            self.exchange,
            exc,
            host=self.rest_url or self.home.rest.public_host,
            offline="check the network (`liqwatch market --demo` shows the demo market offline)",
        )

    def resolve(self, names: list[str], problems: list[str]) -> list[str]:
        """Unified symbols for ``names`` (one line in ``problems`` per name not listed)."""
        out: list[str] = []
        for name in names:
            found = resolve_symbol(self._ex, name, self.settle)
            if found is None:
                problems.append(f"--symbol {name}: not a {self.exchange} perpetual")
            elif found not in out:
                out.append(found)
        return out

    async def read(self, symbols: list[str], parts: tuple[Part, ...] = ALL_PARTS) -> MarketReport:
        """One read of the requested parts for ``symbols`` (unified or venue names). Never raises
        for a venue failure: each becomes one line in ``problems``."""
        problems: list[str] = []
        notes: list[str] = []
        report = MarketReport(exchange=self.exchange, ts=time.time())
        try:
            ex = await self.open()
        except Exception as exc:
            report.problems.append(self.unreachable(exc))
            return report
        wanted = self.resolve(symbols, problems)
        a = self.adapter
        if "insurance" in parts:
            if a.no_insurance:
                notes.append(a.no_insurance)
            if a.insurance_endpoint:
                report.insurance = (
                    await guarded(problems, a.insurance_endpoint, lambda: a.insurance(ex, wanted, problems)) or []
                )
        if "adl" in parts:
            if a.no_adl:
                notes.append(a.no_adl)
            elif wanted:
                report.adl_risk = (
                    await guarded(problems, a.adl_endpoint, lambda: a.adl_risk(ex, wanted, problems)) or []
                )
        if "symbols" in parts and wanted:
            report.symbols = (
                await guarded(problems, "mark/index/funding", lambda: a.symbols(ex, wanted, problems)) or []
            )
        report.notes = notes
        report.problems = [f"{self.exchange}: {p}" for p in problems]
        report.ts = time.time()
        return report

    async def history(self, symbols: list[str]) -> tuple[list[HistoryRow], list[str]]:
        """The venue's insurance history (Gate, OKX), for a backfill; ([], []) elsewhere."""
        if not self.adapter.backfill:
            return [], []
        problems: list[str] = []
        try:
            ex = await self.open()
        except Exception as exc:
            return [], [self.unreachable(exc)]
        wanted = self.resolve(symbols, [])
        rows = await guarded(problems, "history", lambda: self.adapter.insurance_history(ex, wanted, problems)) or []
        return rows, [f"{self.exchange}: {p}" for p in problems]
