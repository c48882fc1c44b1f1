"""Drive the demo market's clock by hand: every tick is one simulated second, applied through the
app's own sink (so alerts and lost-position notices fire as in the live demo), with no sleeps."""

from __future__ import annotations

from textual.pilot import Pilot

from liqwatch.feeds.demo import SNAPSHOT_EVERY, DemoMarket
from liqwatch.market.demo import DemoMarketSource
from liqwatch.tui.app import MARKET_SECONDS, LiqwatchApp

T0 = 1_790_000_000.0
CRASH_DONE = 38
"""Seconds into the seed-7 demo by which the crash has liquidated its victims."""


class Clock:
    def __init__(self, t: float = T0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def demo_app(clock: Clock, market: DemoMarket | None = None) -> tuple[LiqwatchApp, DemoMarket]:
    """The demo at its start, loaded synchronously (no feed tasks, no timers)."""
    market = market or DemoMarket(7)
    app = LiqwatchApp([], clock=clock, refresh_seconds=3600, autostart=False, show_clock=False)
    for event in market.initial_events(clock.t):
        app.monitor.state.apply(event)
    return app, market


def advance(app: LiqwatchApp, market: DemoMarket, clock: Clock) -> None:
    """One simulated second, as the demo feed runs it (and the demo's backstop every
    MARKET_SECONDS, as the app reads it)."""
    changed = set(market.step())
    clock.t += 1.0
    for mark in market.mark_events(clock.t, 1.0):
        app.monitor.sink(mark)
    for index in market.collateral_events(clock.t):  # a multi-assets account's asset index
        app.monitor.sink(index)
    for acc in market.accounts:
        if acc.name in changed or market.tick % SNAPSHOT_EVERY == 0:
            for event in market.position_events(acc, clock.t):
                app.monitor.sink(event)
    if market.tick % int(MARKET_SECONDS) == 0:
        backstop = getattr(market, "backstop", None)
        if not isinstance(backstop, DemoMarketSource):
            backstop = DemoMarketSource(market, clock=clock)
            market.backstop = backstop  # type: ignore[attr-defined]
        for report in backstop.read():
            app.on_market(report)
    app.refresh_view()


async def run_to(pilot: Pilot[None], market: DemoMarket, clock: Clock, tick: int) -> None:
    """Advance to ``tick`` simulated seconds, letting the app handle each second's messages."""
    app = pilot.app
    assert isinstance(app, LiqwatchApp)
    while app.alerts is None:  # the alert engine is built after the first frame
        await pilot.pause()
    while market.tick < tick:
        advance(app, market, clock)
        await pilot.pause()
