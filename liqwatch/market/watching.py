"""``liqwatch watch``'s market lines (issue #13): which source runs (the demo's simulated
backstop, or a :class:`~liqwatch.market.service.MarketPoller` over the config's venues) and for
which symbols (those the monitor holds, asked at every read). Kept here so ``watch.py`` only
starts and stops it."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from liqwatch.market.model import MarketReport

if TYPE_CHECKING:
    from liqwatch.config import Config
    from liqwatch.state import State


def held_symbols(state: State, exchange: str) -> list[str]:
    """The symbols the monitor's accounts on ``exchange`` hold, in first-seen order."""
    out: list[str] = []
    for acc in list(state.accounts.values()):
        if acc.venue.name != exchange:
            continue
        for symbol, _side in list(acc.positions):
            if symbol not in out:
                out.append(symbol)
    return out


class WatchMarket:
    """Starts the market source matching ``watch``'s feeds and hands each report to ``sink``."""

    def __init__(
        self,
        feeds: Sequence[Any],
        config: Config | None,
        state: State,
        sink: Callable[[MarketReport], None],
        *,
        demo: bool,
        speed: float = 1.0,
        every: float | None = None,
        warnings: list[str] | None = None,
    ) -> None:
        self.sink = sink
        self.state = state
        self.reported: set[str] = set()
        self.expected: set[str] = set()
        self._task: asyncio.Task[None] | None = None
        self._poller: Any = None
        self._demo_market: Any = None
        self._speed = speed
        self._every = every
        self._history: Any = None
        if demo:
            market = getattr(feeds[0], "market", None) if feeds else None
            if market is not None:
                self._demo_market = market
                self.expected = {acc.exchange for acc in market.accounts}
        elif config is not None:
            self._config = config
            self._warnings = warnings if warnings is not None else []
            self.expected = {a.exchange for a in config.accounts if not a.testnet}

    def _emit(self, report: MarketReport) -> None:
        self.reported.add(report.exchange)
        self.sink(report)

    def start(self) -> None:
        if self._demo_market is not None:
            from liqwatch.market.demo import DemoMarketSource

            source = DemoMarketSource(self._demo_market, clock=time.time, speed=self._speed)
            self._task = asyncio.create_task(source.run(self._emit), name="market-demo")
            return
        if not self.expected:
            return
        from liqwatch.market.client import MarketClient
        from liqwatch.market.history import History
        from liqwatch.market.service import SYMBOLS_EVERY, MarketPoller

        urls: dict[str, str | None] = {}
        for account in self._config.accounts:
            if not account.testnet:
                urls.setdefault(account.exchange, account.rest_url)
        clients = []
        for exchange, url in urls.items():
            try:
                clients.append(MarketClient(exchange, url))
            except KeyError as exc:
                self._warnings.append(str(exc.args[0]))
                self.expected.discard(exchange)
        try:
            self._history = History(warn=self._warnings)
        except (OSError, ValueError) as exc:  # the history is optional: the lines still print
            self._warnings.append(f"market history unavailable ({exc}); changes and drawdowns are not computed")
        self._poller = MarketPoller(
            clients,
            lambda exchange: held_symbols(self.state, exchange),
            self._emit,
            self._history,
            symbols_every=self._every or SYMBOLS_EVERY,
            ready=self._positions_in,
        )
        self._poller.start()

    def _positions_in(self, exchange: str) -> bool:
        accounts = [a for a in list(self.state.accounts.values()) if a.venue.name == exchange]
        return bool(accounts) and all(a.positions_ts is not None for a in accounts)

    def waiting(self) -> bool:
        """A venue has not reported yet (``--once`` waits for it)."""
        return not self.expected <= self.reported

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._poller is not None:
            await self._poller.stop()
        if self._history is not None:
            self._history.close()
