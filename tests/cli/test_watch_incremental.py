"""`liqwatch watch` does no work a second without change does not need (issue #22): an account
whose marks did not move keeps its risk results, records and serialised bytes, and the lines are
byte for byte those computed from scratch."""

from __future__ import annotations

import orjson

from liqwatch.feeds.demo import DemoMarket
from liqwatch.feeds.events import Event, MarkPrice
from liqwatch.monitor import Monitor
from liqwatch.records import SnapshotLines, clear_live_funding, note_market_funding
from liqwatch.state import Snapshot, State, snapshot_record
from tests.alerts.builders import Clock


def _scratch(state: State) -> bytes:
    """The snapshot line from nothing but the store's inputs (every kept input and result dropped)."""
    for acc in state.accounts.values():
        acc.prepared = {}
        acc.solved = None
    return orjson.dumps(snapshot_record(state.snapshot()), option=orjson.OPT_APPEND_NEWLINE)


def _risks(snap: Snapshot) -> list[object]:
    """Each position's result: its risk, or a multi-assets account's cross position's collateral one."""
    return [view.risk if view.risk is not None else view.collateral for view in snap.positions]


def test_an_unchanged_account_keeps_its_results_records_and_bytes() -> None:
    from liqwatch.market.demo import reports

    clear_live_funding()
    try:
        clock = Clock()
        market = DemoMarket(7)
        monitor = Monitor([], clock=clock)
        scratch = Monitor([], clock=clock)  # the same events, assessed from scratch each time

        def send(event: Event) -> None:
            monitor.sink(event)
            scratch.sink(event)

        for event in market.initial_events(clock()):
            send(event)
        for report in reports(market, clock()):
            note_market_funding(report)  # funding on every position: its bytes are reused too
        lines = SnapshotLines()
        clock.t += 0.5
        first = monitor.state.snapshot()
        _, line = lines.snapshot(first)
        assert line == _scratch(scratch.state)
        assert lines.reused == 0
        n = len(first.positions)
        assert n > 10 and any(
            view.risk is not None and view.risk.spec.margin_mode == "cross" for view in first.positions
        )

        clock.t += 1.0  # a second without change: only the marks' ages moved
        second = monitor.state.snapshot()
        record, line = lines.snapshot(second)
        assert [a is b for a, b in zip(_risks(second), _risks(first), strict=True)] == [True] * n
        assert lines.reused == n  # every record reused, only its mark_age_s / stale written anew
        assert line == _scratch(scratch.state) == orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)
        assert record["positions"][0]["mark_age_s"] == 1.5

        clock.t += 1.0
        third = monitor.state.snapshot()
        _, line = lines.snapshot(third)
        assert (lines.reused, lines.reused_bytes) == (n, n)  # and now their bytes too
        assert line == _scratch(scratch.state)

        # one mark of one account moves: that account's cross positions re-solve (every cross
        # liquidation price depends on every mark of the pool); its isolated positions on other
        # symbols and every other account keep theirs
        acc = monitor.state.accounts["demo-binance"]
        symbol, _side = next(iter(acc.positions))
        price = acc.marks[symbol].price * 0.97
        send(MarkPrice(account="demo-binance", exchange="binance", ts=clock(), symbol=symbol, price=price))
        clock.t += 1.0
        fourth = monitor.state.snapshot()
        _, line = lines.snapshot(fourth)
        assert line == _scratch(scratch.state)
        for before, after in zip(third.positions, fourth.positions, strict=True):
            moved = after.account == "demo-binance" and (
                after.data.symbol == symbol or after.data.margin_mode == "cross"
            )
            # a multi-assets account's cross positions: their result is the collateral's
            kept = after.risk is before.risk and after.collateral is before.collateral
            assert kept is not moved, (after.account, after.data.symbol)
        assert 0 < lines.reused < n
    finally:
        clear_live_funding()
