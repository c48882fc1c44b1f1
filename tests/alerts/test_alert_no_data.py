"""Issue #20: an account without data is stale for the alerts too — a stale-feed alert naming the
cause once it lasts the stale level, and never a margin-ratio "all clear" from figures it has not."""

from __future__ import annotations

from liqwatch.alerts.engine import AlertEngine
from liqwatch.feeds.events import Status
from liqwatch.state import AccountView, Snapshot, State
from tests.alerts.builders import Clock, pos, snap

KEYLESS = "binance account 'main': environment variable BINANCE_KEY is not set"


def test_an_account_whose_feed_failed_before_any_data_fires_a_stale_alert_with_the_cause() -> None:
    clock = Clock(0.0)
    state = State(clock)
    state.apply(Status(account="main", exchange="binance", ts=0.0, state="error", channel="rest", detail=KEYLESS))
    engine = AlertEngine()
    fired = []
    for t in (0.0, 10.0, 29.0, 31.0, 40.0):
        clock.t = t
        fired += [(t, a) for a in engine.evaluate(state.snapshot(), t)]
    [(t, alert)] = fired
    assert t == 31.0 and (alert.rule, alert.account, alert.level, alert.severity) == ("stale", "main", "30", "critical")
    assert alert.message == "main: no data for 31 s (≥ 30 s): environment variable BINANCE_KEY is not set"


def test_an_account_still_connecting_is_stale_too() -> None:
    clock = Clock(0.0)
    state = State(clock)
    state.apply(Status(account="main", exchange="okx", ts=0.0, state="connecting", channel="rest"))
    engine = AlertEngine()
    assert engine.evaluate(state.snapshot(), 0.0) == []
    [alert] = engine.evaluate(state.snapshot(), 30.0)
    assert alert.rule == "stale" and alert.message.startswith("main: no data yet (connecting) for 30 s")


def _no_data(name: str) -> Snapshot:
    view = AccountView(name, "binance", None, None, {"rest": "error"}, KEYLESS, True, {}, "error", KEYLESS)
    return Snapshot(0.0, [view], [])


def test_no_data_is_no_all_clear_for_a_fired_margin_ratio_level() -> None:
    """A cross margin-ratio level that fired stays fired through snapshots without figures: the
    first snapshot with figures again breaching does not fire it a second time."""
    engine = AlertEngine()
    breach = snap(pos(mode="cross"), cross={"a": 0.9})
    assert [a.rule for a in engine.evaluate(breach, 0.0)] == ["margin_ratio"]
    for t in (1.0, 2.0, 3.0):
        assert engine.evaluate(_no_data("a"), t) == []
    assert [a for a in engine.evaluate(breach, 4.0) if a.rule == "margin_ratio"] == []
