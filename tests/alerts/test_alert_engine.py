"""The alert rule engine: one table per rule (values in, alerts out), and each behaviour on its
own: stale feeds, lost positions, failed connections, cooldowns, scoping, hedge legs, forgetting,
the record ``liqwatch watch`` prints, and the ``[[alerts]]`` config models."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from liqwatch.alerts.config import AlertRuleConfig, build_engine
from liqwatch.alerts.engine import GC_AGE, AlertEngine
from liqwatch.alerts.model import Alert, default_rules
from liqwatch.core.bands import BANDS
from liqwatch.feeds.events import Status
from liqwatch.state import Notice, Snapshot
from tests.alerts.builders import bankrupt, pos, run_values, snap

# ---------------------------------------------------------------- rules: tables


RULE_TABLE = [
    (
        "margin ratio: escalation, consecutive, critical at once, hysteresis",
        lambda v: snap(pos(mr=v)),
        [0.3, 0.55, 0.56, 0.72, 0.73, 0.9, 0.95, 0.6, 0.4, 0.9],
        [(2, "0.5"), (4, "0.7"), (5, "0.85"), (9, "0.85")],
    ),
    (
        "margin ratio: a jump fires the top level only; a flap never reaches 2 in a row",
        lambda v: snap(pos(mr=v)),
        [0.1, 0.75, 0.45, 0.75, 0.45, 0.76, 0.77],
        [(6, "0.7")],
    ),
    (
        "margin ratio past bankruptcy (None, status bankrupt) is beyond every level",
        lambda v: snap(pos(mr=v)) if v is not None else bankrupt(),
        [0.1, None],
        [(1, "0.85")],
    ),
    (
        "cross margin ratio: one alert per account, not per position",
        lambda v: snap(pos(mode="cross"), pos(symbol="ETH/USDT:USDT", mode="cross"), cross={"a": v}),
        [0.2, 0.9, 0.95, 0.3, 0.9],
        [(1, "0.85"), (4, "0.85")],
    ),
    (
        "distance: falling levels; re-arm above level x 1.2",
        lambda v: snap(pos(dist=v)),
        [0.5, 0.09, 0.08, 0.04, 0.045, 0.015, 0.01, 0.03, 0.1, 0.2, 0.015],
        [(2, "0.1"), (4, "0.05"), (5, "0.02"), (10, "0.02")],
    ),
    (
        "distance: no liquidation price is never an alert",
        lambda v: snap(pos(dist=v)),
        [None, None, 0.5],
        [],
    ),
    (
        "ADL lights >= 4 (5 is critical)",
        lambda v: snap(pos(lights=v)),
        [1, 4, 4, 5, 5, 3, 4, 4],
        [(2, "4"), (3, "5"), (7, "4")],
    ),
    (
        "tier change: confirmed by two snapshots; a one-snapshot flap is ignored",
        lambda v: snap(pos(tier=v)),
        [1, 1, 2, 2, 2, 1, 2, 2, 1, 1],
        [(3, "up"), (9, "down")],
    ),
]


@pytest.mark.parametrize(("name", "make", "values", "expected"), RULE_TABLE, ids=[r[0] for r in RULE_TABLE])
def test_rule_table(name: str, make: Any, values: list[Any], expected: list[tuple[int, str]]) -> None:
    assert run_values(AlertEngine(), make, values) == expected, name


def test_stale_feed_while_positions_are_open() -> None:
    engine = AlertEngine()
    steps = [(0, True), (10, True), (29, True), (31, True), (40, True), (50, False), (60, True), (89, True), (95, True)]
    fired = [(t, a.level, a.severity) for t, s in steps for a in engine.evaluate(snap(pos(stale=s)), t)]
    assert fired == [(31, "30", "critical"), (95, "30", "critical")]
    # no open positions: nothing is stale
    assert AlertEngine().evaluate(Snapshot(0, [], []), 0) == []


def test_position_lost_is_immediate_and_resets_the_position() -> None:
    engine = AlertEngine()
    assert engine.evaluate(snap(pos(mr=0.9)), 0)[0].level == "0.85"
    vanished = Notice("a", "binance", 5.0, "vanished", "BTC/USDT:USDT", "long", 1.0, 0.0, "BTC closed")
    shrunk = Notice("a", "binance", 6.0, "shrunk", "ETH/USDT:USDT", "short", 2.0, 1.0, "ETH reduced")
    [lost] = engine.on_notice(vanished, 5.0)
    assert (lost.rule, lost.level, lost.severity, lost.value, lost.threshold) == (
        "position_lost",
        "vanished",
        "critical",
        0.0,
        1.0,
    )
    assert lost.message == "a: BTC closed" and lost.symbol == "BTC/USDT:USDT" and lost.side == "long"
    assert [a.severity for a in engine.on_notice(shrunk, 6.0)] == ["warning"]
    # a new position on the symbol starts armed again
    assert [a.level for a in engine.evaluate(snap(pos(mr=0.9)), 7)] == ["0.85"]


def test_failed_connection_fires_once_until_reconnected() -> None:
    engine = AlertEngine()

    def status(state: str, t: float, channel: str = "rest") -> list[Alert]:
        event = Status(account="a", exchange="binance", ts=t, state=state, channel=channel, detail="HTTP 401")  # type: ignore[arg-type]
        return engine.on_status(event, t)

    [first] = status("error", 1)
    assert first.rule == "connection" and first.level == "rest" and "HTTP 401" in first.message
    assert status("error", 2) == [] and status("reconnecting", 3) == []
    assert [a.level for a in status("error", 4, "marks")] == ["marks"]  # per channel
    assert status("connected", 5) == []
    [second] = status("error", 6)  # re-armed, and nothing delivered yet: no cooldown
    engine.mark_delivered(second.id, 6)
    assert status("connected", 7) == [] and status("error", 8) == []  # within the cooldown
    assert status("error", 307) != []


def test_cooldown_counts_from_delivery() -> None:
    engine = AlertEngine()
    [alert] = engine.evaluate(snap(pos(mr=0.9)), 0)
    engine.evaluate(snap(pos(mr=0.5)), 10)  # re-arms 0.85
    assert [a.level for a in engine.evaluate(snap(pos(mr=0.9)), 20)] == ["0.85"]  # undelivered: no cooldown
    engine.evaluate(snap(pos(mr=0.5)), 30)
    engine.mark_delivered(alert.id, 30)
    engine.mark_delivered(alert.id, 200)  # a second channel's delivery changes nothing
    assert engine.evaluate(snap(pos(mr=0.9)), 40) == []  # re-crossed within the cooldown
    assert engine.evaluate(snap(pos(mr=0.9)), 329) == []
    assert [a.level for a in engine.evaluate(snap(pos(mr=0.9)), 330)] == ["0.85"]  # still breached when it ends


def test_claim_gives_the_cooldown_key_and_cooldown_until_delivered() -> None:
    """What replicas of a bus group claim (issue #22): the same key for the same firing in two
    engines (ids differ), the rule's cooldown; nothing once delivered or for an unknown id."""
    one, two = AlertEngine(), AlertEngine()
    [first] = one.evaluate(snap(pos(mr=0.9)), 0)
    [second] = two.evaluate(snap(pos(mr=0.9)), 1)
    assert first.id != second.id
    claimed = one.claim(first.id)
    assert claimed is not None and claimed == two.claim(second.id)
    assert claimed[1] == 300.0 and "0.85" in claimed[0]
    vanished = Notice("a", "binance", 5.0, "vanished", "BTC/USDT:USDT", "long", 1.0, 0.0, "BTC closed")
    [lost] = one.on_notice(vanished, 5.0)
    lost_claim = one.claim(lost.id)
    assert lost_claim is not None and lost_claim[1] == 0.0 and lost_claim[0] != claimed[0]
    one.mark_delivered(first.id, 2)
    assert one.claim(first.id) is None and one.claim("nope") is None


def test_scoping_most_specific_rule_wins() -> None:
    rules = [
        AlertRuleConfig(rule="margin_ratio", levels=[0.3]),
        AlertRuleConfig(rule="margin_ratio", account="quiet", enabled=False),
        AlertRuleConfig(rule="margin_ratio", symbol="eth", levels=[0.6], consecutive=1),
        AlertRuleConfig(rule="margin_ratio", account="b*", symbol="ETH", levels=[0.2]),
    ]
    engine = build_engine(rules)
    views = [
        pos("a", "BTC/USDT:USDT", mr=0.35),
        pos("a", "ETH/USDT:USDT", mr=0.35),
        pos("quiet", "BTC/USDT:USDT", mr=0.99),
        pos("b1", "ETH/USDT:USDT", mr=0.25),
    ]
    fired = [(a.account, a.symbol, a.level, a.severity) for t in (0, 1) for a in engine.evaluate(snap(*views), t)]
    assert fired == [("a", "BTC/USDT:USDT", "0.3", "critical"), ("b1", "ETH/USDT:USDT", "0.2", "critical")]
    fired = [(a.account, a.symbol, a.level) for a in engine.evaluate(snap(pos("a", "ETH/USDT:USDT", mr=0.7)), 2)]
    assert fired == [("a", "ETH/USDT:USDT", "0.6")]


def test_hedge_legs_are_separate() -> None:
    engine = AlertEngine()
    views = [pos(side="long", mr=0.9), pos(side="short", mr=0.9)]
    assert [(a.side, a.level) for a in engine.evaluate(snap(*views), 0)] == [("long", "0.85"), ("short", "0.85")]
    assert engine.evaluate(snap(*views), 1) == []


def test_state_of_positions_gone_without_a_notice_is_forgotten() -> None:
    engine = AlertEngine()
    assert len(engine.evaluate(snap(pos("a", mr=0.9)), 0)) == 1
    assert engine.evaluate(snap(pos("a", mr=0.9)), 1) == []
    engine.evaluate(snap(pos("b")), GC_AGE + 100)  # "a" not seen for longer than GC_AGE
    assert engine.state.levels == {}
    assert len(engine.evaluate(snap(pos("a", mr=0.9)), GC_AGE + 101)) == 1


def test_alert_record_for_watch_is_json() -> None:
    [alert] = AlertEngine().evaluate(bankrupt(), 0)
    record = alert.record()
    assert record["type"] == "alert"
    assert record.keys() >= {"id", "ts", "account", "symbol", "rule", "level", "value", "threshold", "message"}
    assert record["value"] is None  # infinite ratio: no number to show
    json.dumps(record, allow_nan=False)


def test_rule_config_validation() -> None:
    for bad in (
        {"rule": "margin_ratio", "levels": [85]},
        {"rule": "distance", "levels": [2]},
        {"rule": "adl", "levels": [4.5]},
        {"rule": "tier_change", "levels": [1]},
        {"rule": "margin_ratio", "levels": []},
        {"rule": "nope"},
        {"rule": "stale", "cooldown_seconds": -1},
        {"rule": "adl", "bogus": 1},
    ):
        with pytest.raises(ValidationError):
            AlertRuleConfig.model_validate(bad)
    rule = AlertRuleConfig(rule="distance", levels=[0.2, 0.1]).to_rule()
    assert rule.levels == (0.2, 0.1) and rule.critical == 0.1 and rule.hysteresis == 0.2


def test_default_margin_ratio_levels_are_the_risk_bands() -> None:
    [rule] = [r for r in default_rules() if r.kind == "margin_ratio"]
    assert rule.levels == BANDS.levels == (0.5, 0.7, 0.85) and rule.critical == BANDS.critical == 0.85
