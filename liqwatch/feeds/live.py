"""A live venue account: REST through ccxt for positions, balance, tiers and ADL, reconciled
periodically and after every stream reconnect; mark prices over the venue's websocket.

Position changes arrive from the venue's private stream where ccxt supports one
(:mod:`liqwatch.feeds.private`), but only as hints (ccxt issues #26407, #27618): this feed trusts the
REST snapshot, taken every ``reconcile_seconds``, immediately after a mark stream reconnects, and
whenever the private stream drops, expires its listen key or reports a closed position; it emits
``resynced`` once the fresh snapshot is in. Venue errors become Status events with one clear
line; auth and permission failures are retried slowly, network trouble with jittered backoff, and
no error in one account touches another.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable
from typing import Any

from liqwatch.config import AccountConfig, resolve_secrets
from liqwatch.core.errors import InputError
from liqwatch.feeds.base import Sink
from liqwatch.feeds.events import Channel, Event, Status, StatusState
from liqwatch.feeds.reconnect import SLOW_KINDS, SLOW_RETRY, Backoff

TIER_REFRESH = 3600.0


class VenueFeed:
    def __init__(
        self,
        account: AccountConfig,
        *,
        environ: dict[str, str] | None = None,
        clock: Callable[[], float] = time.time,
        backoff_initial: float = 1.0,
        backoff_max: float = 60.0,
        rng: random.Random | None = None,
    ) -> None:
        self.account = account
        self.name = account.name
        self.exchange = account.exchange
        self.environ = environ
        self.clock = clock
        self.rng = rng or random.Random()
        self.backoff = Backoff(backoff_initial, backoff_max, self.rng)
        self._resync = asyncio.Event()
        self._stream_down = False

    def _status(
        self, sink: Sink, state: StatusState, channel: Channel, detail: str = "", *, lasting: bool = False
    ) -> None:
        sink(
            Status(
                account=self.name,
                exchange=self.exchange,
                ts=self.clock(),
                state=state,
                channel=channel,
                detail=detail,
                lasting=lasting,
            )
        )

    async def run(self, sink: Sink) -> None:
        from liqwatch.feeds.ccxt_client import FeedError
        from liqwatch.feeds.rest import RestClient

        try:
            secrets = resolve_secrets(self.account, self.environ)
        except InputError as exc:
            self._status(sink, "error", "rest", f"{self.exchange} account '{self.name}': {exc.message}", lasting=True)
            return
        client: Any = RestClient(self.account, secrets)
        stream_task: asyncio.Task[None] | None = None
        hints_task: asyncio.Task[None] | None = None
        symbols: list[str] = []
        tiers_at = 0.0
        attempt = 0
        first = True

        def stream_sink(event: Event) -> None:
            if isinstance(event, Status):
                if event.state in ("disconnected", "reconnecting"):
                    self._stream_down = True
                elif event.state == "connected" and self._stream_down:
                    self._stream_down = False
                    self._resync.set()  # REST resync before trusting the stream again
            sink(event)

        try:
            while True:
                try:
                    if first:
                        self._status(sink, "connecting", "rest")
                        await client.open()
                        self._status(sink, "connected", "rest")
                        if hints_task is None:
                            from liqwatch.feeds.private import PositionHintStream

                            # Position changes as hints; a closed position, a drop or an expired
                            # listen key asks this loop for a REST resync.
                            hints = PositionHintStream(
                                self.account, secrets, sink, on_expired=self._resync.set, clock=self.clock, rng=self.rng
                            )
                            hints_task = asyncio.create_task(hints.run())
                    try:
                        positions, balances = await client.fetch_account_balances()
                    except FeedError:
                        # say the mode anyway: a portfolio-margin key is refused where positions are
                        # read (Binance fapi), and the mode and the venue's ratio say why
                        with contextlib.suppress(FeedError):
                            sink(await client.fetch_account_mode())
                        raise
                    mode = await client.fetch_account_mode()  # before any figure is computed
                    for note in client.notes:  # said once: the client reads on without that part
                        self._status(sink, "connected", "rest", note)
                    client.notes.clear()
                    sink(mode)
                    for balance in balances:
                        sink(balance)
                    sink(positions)
                    wanted = sorted({p.symbol for p in positions.positions})
                    if wanted != symbols or self.clock() - tiers_at > TIER_REFRESH:
                        for tiers in await client.fetch_tiers(wanted):
                            sink(tiers)
                        tiers_at = self.clock()
                    if wanted != symbols or first or self._resync.is_set():
                        for mark in await client.fetch_marks(wanted):
                            sink(mark)
                        if not first:
                            self._status(sink, "resynced", "rest", "positions and marks re-read over REST")
                    if wanted != symbols:
                        if stream_task is not None:
                            stream_task.cancel()
                            with contextlib.suppress(asyncio.CancelledError, Exception):
                                await stream_task
                            stream_task = None
                        symbols = wanted
                        if symbols:
                            stream_task = asyncio.create_task(self._stream(symbols, stream_sink))
                    first = False
                    attempt = 0
                    self._resync.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._resync.wait(), timeout=self.account.reconcile_seconds)
                except FeedError as exc:
                    slow = exc.kind in SLOW_KINDS
                    delay = SLOW_RETRY if slow else self.backoff.delay(attempt)
                    attempt += 1
                    # a bad key or a missing permission does not heal by waiting: said so (lasting)
                    self._status(sink, "error", "rest", f"{exc} (retrying in {delay:.0f} s)", lasting=slow)
                    if first:
                        with contextlib.suppress(Exception):
                            await client.close()
                        client = RestClient(client.account, secrets)  # keeps a dropped inverse part off
                    await asyncio.sleep(delay)
        finally:
            for task in (stream_task, hints_task):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
            with contextlib.suppress(Exception):
                await client.close()
            self._status(sink, "closed", "feed")

    async def _stream(self, symbols: list[str], sink: Sink) -> None:
        from liqwatch.feeds.marks import MarkStream

        stream = MarkStream(
            self.name, self.exchange, symbols, sink, ws_url=self.account.ws_url, testnet=self.account.testnet
        )
        await stream.run()
