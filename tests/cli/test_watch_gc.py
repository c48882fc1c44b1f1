"""`liqwatch watch`'s second on 2,000 positions leaves the garbage collector nearly idle once the heap
is settled (issue #22): the snapshot's short-lived records and figures were walked by a young
collection a dozen times a second at a threshold of 10,000 allocations."""

from __future__ import annotations

import gc
from typing import Any

from liqwatch.feeds.demo import DemoMarket, synthetic_accounts
from liqwatch.heap import settle
from liqwatch.monitor import Monitor
from liqwatch.records import SnapshotLines
from tests.alerts.builders import Clock


def test_a_settled_watch_second_on_2000_positions_three_seconds_run_at_most_one_young_collection() -> None:
    accounts, symbols = synthetic_accounts(2000, 500, 7)
    market = DemoMarket(7, accounts, symbols)
    clock = Clock()
    monitor = Monitor([], clock=clock)
    for event in market.initial_events(clock()):
        monitor.sink(event)
    lines = SnapshotLines()
    lines.snapshot(monitor.state.snapshot())
    threshold = gc.get_threshold()
    young: list[int] = []

    def count(phase: str, info: dict[str, Any]) -> None:
        if phase == "start" and info["generation"] == 0:
            young.append(1)

    try:
        settle()
        gc.callbacks.append(count)
        for _ in range(3):  # three demo seconds: every mark moves, every position is recomputed
            market.step()
            clock.t += 1.0
            for mark in market.mark_events(clock(), 1.0):
                monitor.sink(mark)
            snap = monitor.state.snapshot()
            record, line = lines.snapshot(snap)
            assert len(record["positions"]) == 2000 and line
        assert len(young) <= 1, len(young)  # 4 at a threshold of 10,000
    finally:
        gc.callbacks.remove(count)
        gc.unfreeze()
        gc.set_threshold(*threshold)
