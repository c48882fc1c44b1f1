"""The demo's JSON lines over 90 simulated seconds, hashed: what `liqwatch watch --demo` prints
(events, notices, market lines, alerts, mismatches, snapshots) must not change by a byte when the
demo, the market simulation or the alert engine is made cheaper (issue #22: the watcher must be
light). The run is the watch loop's, second by second, on a fake clock.

A digest here changes only with a deliberate change of the demo's output: then say why in the
commit and update it."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
import pytest
from pydantic import BaseModel

from liqwatch.alerts.runner import AlertRunner
from liqwatch.feeds.demo import SNAPSHOT_EVERY, DemoMarket, synthetic_accounts, trusted
from liqwatch.feeds.events import AccountMode, Event, Positions, Status
from liqwatch.market.demo import DemoMarketSource
from liqwatch.monitor import Monitor
from liqwatch.records import clear_live_funding, note_market_funding
from liqwatch.state import Notice, snapshot_record
from liqwatch.watch import _event_line, _notice_line
from tests.alerts.builders import Clock

TICKS = 90


def demo_lines(market: DemoMarket, ticks: int = TICKS) -> list[bytes]:
    """The lines `watch --demo --interval 1` prints over ``ticks`` seconds: the feed's events of a
    second, then the market lines, then the snapshot (with its alerts and mismatches before it)."""
    clear_live_funding()
    clock = Clock(1_760_000_000.0)
    lines: list[bytes] = []

    def line(obj: dict[str, Any]) -> None:
        lines.append(orjson.dumps(obj))

    alerts = AlertRunner(clock=clock, on_alert=lambda alert: line(alert.record()))

    def on_event(event: Event) -> None:
        if isinstance(event, Status):
            line(_event_line(event))
        alerts.on_event(event)

    def on_notice(notice: Notice) -> None:
        line(_notice_line(notice))
        alerts.on_notice(notice)

    monitor = Monitor([], clock=clock, on_event=on_event, on_notice=on_notice)
    source = DemoMarketSource(market, clock=clock)
    for event in market.initial_events(clock(), 1.0):
        monitor.sink(event)
    for _ in range(ticks):
        clock.t += 1.0
        changed = set(market.step())
        now = clock()
        for mark in market.mark_events(now, 1.0):
            monitor.sink(mark)
        for index in market.collateral_events(now):
            monitor.sink(index)
        for acc in market.accounts:
            if acc.name in changed or market.tick % SNAPSHOT_EVERY == 0:
                for event in market.position_events(acc, now):
                    monitor.sink(event)
        for report in source.read():
            line(report.record())
            alerts.on_market(report)
            note_market_funding(report)
        snap = monitor.state.snapshot()
        alerts.on_snapshot(snap)
        for mismatch in monitor.state.mismatches(snap):
            line(mismatch)
        record = snapshot_record(snap)
        alerts.on_position_records(record["positions"])
        line(record)
    clear_live_funding()
    return lines


def digest(lines: list[bytes]) -> str:
    return hashlib.sha256(b"\n".join(lines)).hexdigest()


def _kinds(lines: list[bytes]) -> set[str]:
    out = set()
    for raw in lines:
        obj = orjson.loads(raw)
        out.add(str(obj.get("type")) + ("/" + str(obj.get("rule")) if obj.get("type") == "alert" else ""))
    return out


def test_the_sample_demos_lines_over_90_seconds_are_unchanged() -> None:
    lines = demo_lines(DemoMarket(7))
    kinds = _kinds(lines)
    # the run goes through the crash: liquidations, and alerts of every kind the demo shows
    assert {"snapshot", "market", "event", "alert/margin_ratio", "alert/distance", "alert/position_lost"} <= kinds
    assert {"alert/collateral_depeg", "alert/collateral_haircut", "alert/funding", "alert/adl_risk"} <= kinds
    assert digest(lines) == "26e36579f992d4c19592806c52c5e527ed6d7e74502aa4d700f94e14f7d11907"


def test_a_synthetic_demos_lines_over_90_seconds_are_unchanged() -> None:
    accounts, symbols = synthetic_accounts(400, 80, 7)
    lines = demo_lines(DemoMarket(7, accounts, symbols))
    assert {"snapshot", "market", "alert/distance", "alert/adl", "alert/insurance_drawdown"} <= _kinds(lines)
    assert digest(lines) == "3019db5735c9d181c1a174eeda5a0ec87b5680ee3028daa219589f6d8ba4c129"


def test_the_demos_unvalidated_events_and_rows_are_what_validation_gives() -> None:
    """The demo builds its marks, positions and market rows without validating them (:func:`trusted`): each
    equals the validated model of the same values, field for field, in the same order, with the
    same fields set and the same JSON, over a run through the crash."""
    accounts, symbols = synthetic_accounts(300, 60, 7, 6)
    for market in (DemoMarket(7), DemoMarket(7, accounts, symbols)):
        source = DemoMarketSource(market, clock=Clock(1_760_000_000))  # ints: validation makes floats
        built: list[BaseModel] = []
        for _ in range(45):
            market.step()
            built += market.mark_events(1_760_000_000, 1)
            for acc in market.accounts:
                for event in market.position_events(acc, 1_760_000_000):
                    built += event.positions if isinstance(event, Positions) else []
            for report in source.read():
                built += [*report.symbols, *report.adl_risk]
        assert {type(m).__name__ for m in built} == {"MarkPrice", "PositionData", "SymbolMarket", "AdlRisk"}
        for model in built:
            validated = type(model).model_validate(dict(model.__dict__))
            fields = {name: getattr(model, name) for name in model.model_fields_set}
            assert model == validated == type(model)(**fields)
            assert list(model.__dict__) == list(validated.__dict__)
            assert [type(v) for v in model.__dict__.values()] == [type(v) for v in validated.__dict__.values()]
            assert model.model_fields_set == type(model)(**fields).model_fields_set
            assert model.model_dump_json() == validated.model_dump_json()
    with pytest.raises(TypeError, match="default factory"):
        trusted(AccountMode)
