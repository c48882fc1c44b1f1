"""What `liqwatch watch` reuses from one second to the next (its CPU budget, issue #4) must never
change a number: the state store's prepared position inputs, the marks it updates in place, the
demo market's per-tick prices and held symbols, and the fee rates shared by a snapshot's records."""

from __future__ import annotations

import math
from typing import Any

from liqwatch.core.engine import assess
from liqwatch.core.venues import get_venue
from liqwatch.feeds.demo import SNAPSHOT_EVERY, DemoMarket
from liqwatch.feeds.events import MarkPrice, Positions, TierRowData, Tiers
from liqwatch.monitor import Monitor
from liqwatch.records import clear_live_funding, live_position_record
from liqwatch.state import State, snapshot_record
from tests.alerts.builders import Clock, btc_isolated_state


def _full(state: State) -> dict[str, Any]:
    """The snapshot record computed from nothing but the store's inputs (every prepared input
    dropped first): what the reused one must equal."""
    for acc in state.accounts.values():
        acc.prepared = {}
    return snapshot_record(state.snapshot())


def test_snapshots_equal_a_full_recomputation_every_second() -> None:
    """The demo market through the crash (liquidations, hedge legs, isolated and cross, three
    venues), a hint changing one position and new tier tables mid-run: each second's snapshot,
    with the inputs prepared in earlier seconds reused, is the full recomputation's."""
    clear_live_funding()
    clock = Clock()
    market = DemoMarket(7)
    monitor = Monitor([], clock=clock)
    for event in market.initial_events(clock()):
        monitor.sink(event)
    retiered = False
    reused = 0
    for tick in range(1, 61):
        clock.t += 1.0
        changed = set(market.step())
        for mark in market.mark_events(clock(), 1.0):
            monitor.sink(mark)
        for acc in market.accounts:
            if acc.name in changed or tick % SNAPSHOT_EVERY == 0:
                for event in market.position_events(acc, clock()):
                    monitor.sink(event)
        if tick == 12:  # a private-stream hint: one position's data object replaced
            state_acc = monitor.state.accounts["demo-binance"]
            key = next(k for k, p in state_acc.positions.items() if p.margin_mode == "isolated")
            old = state_acc.positions[key]
            hint = old.model_copy(update={"size": old.size * 1.5, "isolated_margin": (old.isolated_margin or 0) * 2})
            hinted = Positions(account="demo-binance", exchange="binance", ts=clock(), positions=[hint], complete=False)
            monitor.sink(hinted)
        if tick == 20:  # the venue's tables change (a tiers refresh): a stricter first bracket
            before = snapshot_record(monitor.state.snapshot())
            _retier(monitor, clock())
            retiered = True
        reused += sum(len(acc.prepared) for acc in monitor.state.accounts.values())
        got = snapshot_record(monitor.state.snapshot())
        assert got == _full(monitor.state), f"second {tick}"
        if tick == 20:
            assert got["positions"] != before["positions"]  # the new tables moved the numbers
    assert retiered and reused > 0


def _retier(monitor: Monitor, ts: float) -> None:
    for name, acc in monitor.state.accounts.items():
        for symbol in {p.symbol for p in acc.positions.values()}:
            rows = [
                TierRowData(min_notional=0, max_notional=10_000, mmr=0.02, max_leverage=25, maint_amount=0.0),
                TierRowData(min_notional=10_000, max_notional=None, mmr=0.05, max_leverage=10),
            ]
            monitor.sink(Tiers(account=name, exchange=acc.venue.name, ts=ts, symbol=symbol, tiers=rows))


def test_a_mark_updated_in_place_leaves_earlier_views_alone() -> None:
    clock = Clock()
    state = btc_isolated_state(clock)
    first = state.snapshot().positions[0]
    clock.t += 2.0
    state.apply(MarkPrice(account="a", exchange="binance", ts=2.0, symbol="BTC/USDT:USDT", price=58_000.0))
    state.apply(MarkPrice(account="a", exchange="binance", ts=1.5, symbol="BTC/USDT:USDT", price=1.0))  # older
    second = state.snapshot().positions[0]
    assert (first.mark_price, first.mark_age_s) == (59_000.0, 0.0)
    assert first.risk is not None and first.risk.spec.mark_price == 59_000.0
    assert (second.mark_price, second.mark_age_s) == (58_000.0, 0.0)  # received at the new clock
    assert second.risk is not None and second.risk.unrealized_pnl == -2_000.0


def test_demo_prices_and_held_symbols_follow_every_tick() -> None:
    """Each tick's price is the exponential of that tick's log price (asked once or many times),
    and the marks published are those of the symbols still held once the crash liquidates."""
    market = DemoMarket(7)
    gone = False
    for _ in range(60):
        changed = market.step()
        gone = gone or bool(changed)
        for symbol in ("BTC/USDT:USDT", "SOL/USDC:USDC", "BTC/USDT:USDT"):
            assert market.price(symbol) == math.exp(market.log_price[market.base(symbol)])
        marks = market.mark_events(0.0, 1.0)
        expected = [(acc.name, s) for acc in market.accounts for s in sorted({p.symbol for p in acc.positions})]
        assert [(m.account, m.symbol) for m in marks] == expected
        assert all(m.price == market.price(m.symbol) for m in marks)
    assert gone  # the held symbols did change on the way


def test_shared_fee_rates_give_the_same_records() -> None:
    clear_live_funding()
    clock = Clock()
    market = DemoMarket(3)
    monitor = Monitor([], clock=clock)
    for event in market.initial_events(clock()):
        monitor.sink(event)
    snap = monitor.state.snapshot()
    shared = snapshot_record(snap)["positions"]
    alone = [live_position_record(view) for view in snap.positions]
    assert shared == alone
    assert any(r["liquidation_loss"] is not None for r in alone)


def test_demo_isolated_liquidation_prices_are_those_of_the_whole_account() -> None:
    """The simulated venue plans its liquidations from the isolated positions alone: their prices
    are the ones an assessment of the whole account gives, at every tick of the crash, any seed."""
    for seed in range(1, 6):
        market = DemoMarket(seed)
        for _ in range(60):
            market.step()
            for acc in market.accounts:
                if not acc.positions:
                    continue
                lps, legs = market._plan(acc)
                whole = assess(get_venue(acc.exchange), market.specs(acc), acc.wallet)
                isolated = {id(p): r.liquidation_price for p, r in zip(acc.positions, whole.positions, strict=True)
                            if p.margin_mode == "isolated"}  # fmt: skip
                assert lps == isolated
                assert len(legs) == len(acc.positions) - len(isolated)
