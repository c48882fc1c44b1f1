"""The engine evaluates a position's rules only when their inputs can change something (issue #22:
the watcher must be light): a calm position, or one whose rules are settled at unchanged values,
is skipped; what time alone changes (a cooldown ending, a feed going stale) still fires on time;
and skipping never changes an alert or the saved state (checked against an engine that skips
nothing, over random runs)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from liqwatch.alerts.engine import GC_AGE, AlertEngine, _Watched
from liqwatch.alerts.model import Alert
from liqwatch.market.model import MarketReport, SymbolMarket
from liqwatch.state import Notice, PositionView
from tests.alerts.builders import pos, snap


def counting(engine: AlertEngine) -> Counter[str]:
    """Counts the rule evaluations of ``engine`` by rule kind, through its one seam
    (``_threshold``: every threshold rule's evaluation goes through it)."""
    calls: Counter[str] = Counter()
    threshold = engine._threshold

    def counted(out: list[Alert], rule: Any, *args: Any) -> None:
        calls[rule.kind] += 1
        threshold(out, rule, *args)

    engine._threshold = counted  # type: ignore[method-assign]
    return calls


def test_an_unchanged_second_evaluates_no_position_rule_while_timers_still_fire_on_time() -> None:
    engine = AlertEngine()
    calls = counting(engine)
    calm = [pos(symbol=f"S{i:02d}/USDT:USDT", mr=0.1, dist=0.5, lights=1) for i in range(40)]

    def second(hot_ratio: float, t: float) -> list[Alert]:
        views = [*calm, pos(symbol="HOT/USDT:USDT", mr=hot_ratio), pos("stale-acct", stale=True)]
        return engine.evaluate(snap(*views), t)

    [first] = second(0.9, 0.0)  # critical at once
    assert (first.symbol, first.level) == ("HOT/USDT:USDT", "0.85")
    engine.mark_delivered(first.id, 0.0)  # its cooldown (300 s) counts from here
    assert second(0.5, 10.0) == []  # re-armed (0.5 <= 0.85 - 0.05)
    assert second(0.9, 20.0) == []  # breached again within the cooldown: held, armed
    calls.clear()
    fired: list[tuple[float, str, str]] = []
    for t in range(21, 320):
        before = calls.copy()
        for alert in second(0.9, float(t)):  # the same values every second
            fired.append((t, alert.rule, alert.level))
            engine.mark_delivered(alert.id, float(t))
        done = calls - before
        # the 41 positions' distance and ADL rules are never evaluated, nor the margin ratio of the
        # 40 calm ones; the held ratio is, every second, until its cooldown ends; each account's
        # stale feed rule is (one call per account: its age moves with time alone)
        assert done["distance"] == done["adl"] == 0, t
        assert done["margin_ratio"] == (1 if t <= 300 else 0), t
        assert done["stale"] == 2, t
    assert fired == [(30, "stale", "30"), (300, "margin_ratio", "0.85")]


def test_a_settled_rule_is_evaluated_again_when_its_value_moves() -> None:
    engine = AlertEngine()
    calls = counting(engine)
    assert [a.level for a in engine.evaluate(snap(pos(mr=0.9)), 0.0)] == ["0.85"]
    calls.clear()
    assert engine.evaluate(snap(pos(mr=0.9)), 1.0) == []
    assert calls["margin_ratio"] == 0  # fired and unchanged: settled
    assert engine.evaluate(snap(pos(mr=0.5)), 2.0) == []  # moved: evaluated, and re-armed
    assert calls["margin_ratio"] == 1
    assert [a.level for a in engine.evaluate(snap(pos(mr=0.9)), 3.0)] == ["0.85"]  # undelivered: no cooldown


def test_a_vanished_position_and_collected_state_start_fresh_despite_unchanged_values() -> None:
    engine = AlertEngine()
    assert len(engine.evaluate(snap(pos(mr=0.9)), 0.0)) == 1
    assert engine.evaluate(snap(pos(mr=0.9)), 1.0) == []  # settled
    gone = Notice("a", "binance", 2.0, "vanished", "BTC/USDT:USDT", "long", 1.0, 0.0, "closed")
    engine.on_notice(gone, 2.0)
    assert [a.rule for a in engine.evaluate(snap(pos(mr=0.9)), 3.0)] == ["margin_ratio"]  # a new position
    # an unknown ratio for longer than GC_AGE: the level state is collected, the next value is fresh
    engine.evaluate(snap(pos(mr=None)), 4.0)
    engine.evaluate(snap(pos(mr=None)), GC_AGE + 100.0)
    assert engine.state.levels == {}
    assert [a.rule for a in engine.evaluate(snap(pos(mr=0.9)), GC_AGE + 101.0)] == ["margin_ratio"]


class EveryRule(AlertEngine):
    """The same engine evaluating every rule of every position every time: the reference."""

    def _position(
        self, out: list[Alert], w: _Watched, where: tuple[str, str, str], view: PositionView, now: float
    ) -> None:
        w.settled = [False, False, False]
        super()._position(out, w, where, view, now)
        w.quiet = False


STEP = st.tuples(
    st.sampled_from([0.1, 0.5, 0.56, 0.72, 0.9, None]),  # margin ratio
    st.sampled_from([0.5, 0.09, 0.04, 0.015, None]),  # distance
    st.sampled_from([1, 4, 5]),  # ADL lights
    st.sampled_from([1, 2]),  # tier
    st.sampled_from(["isolated", "cross"]),
    st.sampled_from([0.0, 1.0, 1.0, 150.0, GC_AGE + 1.0]),  # seconds to the next snapshot
    st.sampled_from(["deliver", "keep", "vanish", "absent"]),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(STEP, STEP), min_size=1, max_size=40))
def test_skipping_never_changes_an_alert_or_the_state(steps: list[tuple[Any, Any]]) -> None:
    lazy, full = AlertEngine(), EveryRule()
    t = 0.0
    for step in steps:
        views = []
        for symbol, (mr, dist, lights, tier, mode, dt, what) in zip(
            ("BTC/USDT:USDT", "ETH/USDT:USDT"), step, strict=True
        ):
            t += dt
            if what == "vanish":
                gone = Notice("a", "binance", t, "vanished", symbol, "long", 1.0, 0.0, "closed")
                assert [a.record() for a in lazy.on_notice(gone, t)] == [a.record() for a in full.on_notice(gone, t)]
            if what != "absent":
                views.append(pos(symbol=symbol, mr=mr, dist=dist, lights=lights, tier=tier, mode=mode))
        got, expected = lazy.evaluate(snap(*views), t), full.evaluate(snap(*views), t)
        assert [a.record() for a in got] == [a.record() for a in expected]
        if step[0][6] == "deliver":
            for a, b in zip(got, expected, strict=True):
                lazy.mark_delivered(a.id, t)
                full.mark_delivered(b.id, t)
        assert lazy.state.to_dict() == full.state.to_dict()


def test_market_rules_are_evaluated_only_when_a_value_can_act() -> None:
    engine = AlertEngine()
    calls = counting(engine)

    def report(diverged: float) -> MarketReport:
        rows = [SymbolMarket(symbol=f"S{i:02d}/USDT:USDT", mark_price=100.0, index_price=100.01) for i in range(30)]
        rows.append(SymbolMarket(symbol="HOT/USDT:USDT", mark_price=100.0 * (1 + diverged), index_price=100.0))
        return MarketReport(exchange="binance", ts=0.0, symbols=rows)

    [alert] = engine.evaluate_market(report(0.03), 0.0)  # beyond the critical 2 %: at once
    assert (alert.symbol, alert.level) == ("HOT/USDT:USDT", "0.02")
    assert calls["mark_index_divergence"] == 1  # the 30 calm symbols: no call
    assert engine.evaluate_market(report(0.03), 1.0) == []
    assert calls["mark_index_divergence"] == 1  # fired and unchanged: settled
    assert engine.evaluate_market(report(0.001), 2.0) == []  # moved: evaluated, re-armed
    assert [a.level for a in engine.evaluate_market(report(0.03), 3.0)] == ["0.02"]
    assert calls["mark_index_divergence"] == 3
