"""What a restored alert state may keep quiet (issue #20, point 2): only an alert it proves was
delivered within its cooldown, for the same account identity (never the bare account name).
A file left by a test run, by an older liqwatch, or by a run long ago never silences the first
alert of a new run."""

from __future__ import annotations

import json
from pathlib import Path

from liqwatch.alerts.engine import AlertEngine
from liqwatch.alerts.runner import AlertRunner, account_identity
from liqwatch.alerts.store import AlertStore
from liqwatch.config import AccountConfig
from liqwatch.feeds.events import Status
from tests.alerts.builders import Clock, pos, snap

TEST_RUN = AccountConfig(
    name="main",
    exchange="binance",
    api_key_env="LW_KEY",
    api_secret_env="LW_SECRET",
    rest_url="http://127.0.0.1:40123",
)
REAL = AccountConfig(name="main", exchange="binance", api_key_env="BINANCE_KEY", api_secret_env="BINANCE_SECRET")
CRITICAL = snap(pos("main", mr=0.9))


def _fired_critical(identities: dict[str, str], delivered_at: float) -> dict[str, object]:
    """The saved state of a run that fired main's critical margin-ratio alert and delivered it."""
    engine = AlertEngine(identities=identities)
    [alert] = engine.evaluate(CRITICAL, delivered_at)
    assert alert.severity == "critical"
    engine.mark_delivered(alert.id, delivered_at)
    return engine.state.to_dict()


def test_a_test_runs_file_does_not_silence_a_fresh_critical(tmp_path: Path) -> None:
    """The issue's case: `make test` left main disarmed at critical (and in its cooldown) in
    alerts.json; the real main, near liquidation at the next start, still gets its alert at once."""
    clock = Clock(1_000.0)
    store = AlertStore(tmp_path / "alerts.json")
    test_run = AlertRunner(store=store, accounts=[TEST_RUN], clock=clock)
    test_run.on_snapshot(CRITICAL)
    saved = json.loads(store.path.read_text())["engine"]
    assert saved["levels"] and saved["delivered"] and saved["accounts"] == {"main": account_identity(TEST_RUN)}

    clock.t += 10  # well within the cooldown
    seen: list[str] = []
    real = AlertRunner(
        store=AlertStore(store.path), accounts=[REAL], clock=clock, on_alert=lambda a: seen.append(a.level)
    )
    real.on_snapshot(CRITICAL)
    assert seen == ["0.85"]
    assert real.engine.state.accounts == {"main": account_identity(REAL)}


def test_a_file_without_identities_never_vouches_for_a_named_account() -> None:
    """A state written before identities were saved (or by a run without accounts) is about a
    bare name: it keeps nothing quiet for a configured account."""
    saved = _fired_critical({}, delivered_at=0.0)
    assert "accounts" not in saved
    engine = AlertEngine(state=saved, identities={"main": account_identity(REAL)})
    assert [a.level for a in engine.evaluate(CRITICAL, 5.0)] == ["0.85"]


def test_the_same_account_within_the_cooldown_is_not_re_sent() -> None:
    ident = {"main": account_identity(REAL)}
    engine = AlertEngine(state=_fired_critical(ident, delivered_at=0.0), identities=ident)
    assert engine.evaluate(CRITICAL, 5.0) == []
    assert engine.evaluate(CRITICAL, 400.0) == []  # still the same episode in this run: no repeat
    # covered levels stay quiet too: at 0.6 the 0.5 level was covered by the delivered 0.85
    engine = AlertEngine(state=_fired_critical(ident, delivered_at=0.0), identities=ident)
    assert engine.evaluate(snap(pos("main", mr=0.6)), 5.0) == []
    assert engine.evaluate(snap(pos("main", mr=0.6)), 6.0) == []


def test_a_condition_told_longer_ago_than_its_cooldown_alerts_at_the_first_evaluation() -> None:
    ident = {"main": account_identity(REAL)}
    engine = AlertEngine(state=_fired_critical(ident, delivered_at=0.0), identities=ident)
    assert [a.level for a in engine.evaluate(CRITICAL, 301.0)] == ["0.85"]  # cooldown 300 s
    assert engine.evaluate(CRITICAL, 302.0) == []  # then escalation edges only, as ever
    # a warning level fired long ago: re-armed, it alerts after its consecutive count (2)
    warned = AlertEngine(identities=ident)
    warning = snap(pos("main", mr=0.6))
    [first] = warned.evaluate(warning, 0.0) + warned.evaluate(warning, 1.0)
    warned.mark_delivered(first.id, 1.0)
    again = AlertEngine(state=warned.state, identities=ident)
    assert again.evaluate(warning, 3_600.0) == []
    assert [a.level for a in again.evaluate(warning, 3_601.0)] == ["0.5"]


def test_another_identity_keeps_no_cooldown_count_or_queued_alert() -> None:
    test_ident = {"main": account_identity(TEST_RUN)}
    engine = AlertEngine(identities=test_ident)
    warning = snap(pos("main", mr=0.6))
    assert engine.evaluate(warning, 0.0) == []  # one breach counted
    [alert] = engine.evaluate(CRITICAL, 1.0)  # fired, never delivered: queued
    state = engine.state.to_dict()
    real = AlertEngine(state=state, identities={"main": account_identity(REAL)})
    assert not real.state.levels and not real.state.pending and not real.state.delivered
    real.mark_delivered(alert.id, 2.0)  # the test run's alert delivered late starts no cooldown here
    assert not real.state.delivered
    assert [a.level for a in real.evaluate(CRITICAL, 3.0)] == ["0.85"]


def test_a_failed_connection_marker_is_kept_only_when_it_vouches() -> None:
    ident = {"main": account_identity(REAL)}
    error = Status(account="main", exchange="binance", ts=0.0, state="error", channel="marks", detail="HTTP 503")
    engine = AlertEngine(identities=ident)
    [alert] = engine.on_status(error, 0.0)
    engine.mark_delivered(alert.id, 0.0)
    state = engine.state.to_dict()
    assert AlertEngine(state=state, identities=ident).on_status(error, 10.0) == []  # told 10 s ago
    assert len(AlertEngine(state=state, identities=ident).on_status(error, 400.0)) == 1  # long ago
    stranger = {"main": account_identity(TEST_RUN)}
    assert len(AlertEngine(state=state, identities=stranger).on_status(error, 10.0)) == 1


def test_the_identity_is_the_account_not_its_name() -> None:
    env = {"BINANCE_KEY": "key-one-1234567890"}
    one = account_identity(REAL, env)
    assert one == account_identity(REAL, dict(env))
    assert one != account_identity(REAL, {"BINANCE_KEY": "key-two-1234567890"})  # another key
    assert one != account_identity(TEST_RUN, env)
    assert one != account_identity(REAL.model_copy(update={"testnet": True}), env)
    assert "key-one" not in one and len(one) == 16
