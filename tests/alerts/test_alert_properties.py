"""Properties of the alert engine over random value sequences (hypothesis): no alert below a
level, at most one while above, one per upward crossing with hysteresis, cooldowns honoured,
escalation edges only."""

from __future__ import annotations

import math

from hypothesis import example, given, settings
from hypothesis import strategies as st

from liqwatch.alerts.engine import AlertEngine
from liqwatch.alerts.model import Rule
from tests.alerts.builders import pos, run_values, snap

ONE_LEVEL = 0.7
values = st.floats(min_value=0.0, max_value=1.5, allow_nan=False)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.floats(min_value=0.0, max_value=ONE_LEVEL - 1e-9), max_size=40), st.integers(1, 3))
def test_no_alert_while_below_a_level(seq: list[float], consecutive: int) -> None:
    engine = AlertEngine([Rule("margin_ratio", (ONE_LEVEL,), consecutive=consecutive, cooldown=0)], defaults=False)
    assert run_values(engine, lambda v: snap(pos(mr=v)), seq) == []


@settings(max_examples=150, deadline=None)
@given(st.lists(st.floats(min_value=ONE_LEVEL, max_value=5.0), min_size=1, max_size=40))
def test_at_most_one_alert_while_above_a_level(seq: list[float]) -> None:
    engine = AlertEngine([Rule("margin_ratio", (ONE_LEVEL,), consecutive=2, cooldown=0)], defaults=False)
    fired = run_values(engine, lambda v: snap(pos(mr=v)), seq)
    assert len(fired) == (1 if len(seq) >= 2 else 0)


@settings(max_examples=200, deadline=None)
@given(st.lists(values, max_size=60), st.sampled_from([0.0, 0.05, 0.2]))
@example([1.0, 0.7, 1.0], 0.0)  # at the level with no hysteresis: still a breach, so not re-armed
def test_exactly_one_alert_per_upward_crossing_with_hysteresis(seq: list[float], h: float) -> None:
    engine = AlertEngine([Rule("margin_ratio", (ONE_LEVEL,), consecutive=1, hysteresis=h, cooldown=0)], defaults=False)
    expected = []
    armed = True
    for i, v in enumerate(seq):  # the reference: a crossing counts once, until cleared by h
        if armed and v >= ONE_LEVEL:
            expected.append(i)
            armed = False
        elif not armed and v < ONE_LEVEL and v <= ONE_LEVEL - h:  # cleared: below the level by h
            armed = True
    assert [i for i, _ in run_values(engine, lambda v: snap(pos(mr=v)), seq)] == expected


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(values, st.floats(min_value=0.1, max_value=200.0)), max_size=60))
def test_cooldown_is_honoured(steps: list[tuple[float, float]]) -> None:
    cooldown = 300.0
    engine = AlertEngine([Rule("margin_ratio", (0.5, 0.85), critical=0.85, cooldown=cooldown)], defaults=False)
    now = 0.0
    last: dict[str, float] = {}
    for value, dt in steps:
        now += dt
        for alert in engine.evaluate(snap(pos(mr=value)), now):
            assert now - last.get(alert.level, -math.inf) >= cooldown
            last[alert.level] = now
            engine.mark_delivered(alert.id, now)


@settings(max_examples=200, deadline=None)
@given(st.lists(values, max_size=60))
def test_escalation_edges_only(seq: list[float]) -> None:
    """Every alert is for the highest level the value breaches; a level fires again only after
    the value cleared it by the hysteresis margin."""
    engine = AlertEngine([Rule("margin_ratio", (0.5, 0.7, 0.85), critical=0.85, hysteresis=0.05)], defaults=False)
    fired_at: dict[str, int] = {}
    for i, v in enumerate(seq):
        for alert in engine.evaluate(snap(pos(mr=v)), float(i)):
            assert alert.threshold == max(lvl for lvl in (0.5, 0.7, 0.85) if v >= lvl)
            prev = fired_at.get(alert.level)
            if prev is not None:
                assert alert.threshold is not None
                assert any(x <= alert.threshold - 0.05 for x in seq[prev + 1 : i])
            fired_at[alert.level] = i
