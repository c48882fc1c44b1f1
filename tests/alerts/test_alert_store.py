"""The engine's state on disk: a restart neither re-sends nor forgets counts or cooldowns, a
corrupt file starts fresh, and a state file written before the alerts restructure still loads."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

from liqwatch.alerts.engine import AlertEngine, EngineState
from liqwatch.alerts.store import AlertStore, default_store_path
from liqwatch.feeds.events import Status
from tests.alerts.builders import pos, snap

V1_STATE = Path(__file__).parent.parent / "fixtures" / "alerts_state_v1.json"


def test_restart_does_not_resend(tmp_path: Path) -> None:
    store = AlertStore(tmp_path / "state" / "alerts.json")
    engine = AlertEngine(state=store.load_engine_state())
    first = engine.evaluate(snap(pos(mr=0.9)), 0) + engine.evaluate(snap(pos(mr=0.9), pos("b", mr=0.6)), 1)
    assert [a.level for a in first] == ["0.85"]
    engine.mark_delivered(first[0].id, 1)
    assert store.sync(engine) and not store.sync(engine)  # writes only on change
    assert stat.S_IMODE(store.path.stat().st_mode) & 0o077 == 0
    assert not list(store.path.parent.glob(".alerts-*"))  # the temporary file was renamed

    again = AlertEngine(state=AlertStore(store.path).load_engine_state())
    resumed = again.evaluate(snap(pos(mr=0.9), pos("b", mr=0.6)), 2)
    assert [(a.account, a.level) for a in resumed] == [("b", "0.5")]  # b's count went on; a is not re-sent
    # the cooldown survives too: re-arm and cross again within it
    again.evaluate(snap(pos(mr=0.1)), 3)
    assert again.evaluate(snap(pos(mr=0.9)), 4) == []
    assert [a.level for a in again.evaluate(snap(pos(mr=0.9)), 302)] == ["0.85"]


def test_consecutive_count_survives_a_restart(tmp_path: Path) -> None:
    store = AlertStore(tmp_path / "alerts.json")
    engine = AlertEngine()
    assert engine.evaluate(snap(pos(mr=0.6)), 0) == []
    store.sync(engine)
    again = AlertEngine(state=store.load_engine_state())
    assert [a.level for a in again.evaluate(snap(pos(mr=0.6)), 1)] == ["0.5"]


def test_a_corrupt_or_foreign_state_file_starts_fresh(tmp_path: Path) -> None:
    path = tmp_path / "alerts.json"
    for text in ("not json", "[]", '{"engine": {"version": 99}}', '{"engine": {"version": 1, "levels": []}}'):
        path.write_text(text)
        engine = AlertEngine(state=AlertStore(path).load_engine_state())
        assert [a.level for a in engine.evaluate(snap(pos(mr=0.9)), 0)] == ["0.85"]
    assert default_store_path().name == "alerts.json"


def test_a_version_1_state_file_from_before_the_restructure_loads(tmp_path: Path) -> None:
    """tests/fixtures/alerts_state_v1.json was written by the engine before its state was typed:
    a: BTC long at 0.9 (every level fired, 0.85 undelivered), b: one breach of 0.5 counted, c: ETH
    short 1 % from liquidation (every distance level fired), a failed marks connection delivered."""
    path = tmp_path / "alerts.json"
    shutil.copy(V1_STATE, path)
    saved = json.loads(V1_STATE.read_text())["engine"]
    state = EngineState.from_dict(AlertStore(path).load_engine_state())
    assert state.to_dict() == saved  # read, and written back, unchanged
    assert state.levels["b\x1fBTC/USDT:USDT\x1flong\x1fmargin_ratio"]["0.5"].count == 1
    engine = AlertEngine(state=AlertStore(path).load_engine_state())
    views = [pos(mr=0.9), pos("b", mr=0.6), pos("c", symbol="ETH/USDT:USDT", side="short", dist=0.01)]
    assert [(a.account, a.level) for a in engine.evaluate(snap(*views), 10)] == [("b", "0.5")]
    status = Status(account="a", exchange="binance", ts=11, state="error", channel="marks", detail="x")
    assert engine.on_status(status, 11) == []  # fired before the restart, not reconnected since
    [pending_id] = [k for k in saved["pending"] if k.startswith("margin_ratio-")]
    engine.mark_delivered(pending_id, 12)  # an alert fired before the restart: its cooldown starts now
    assert engine.state.delivered["a\x1fBTC/USDT:USDT\x1flong\x1fmargin_ratio\x1f0.85"] == 12
    store = AlertStore(path)
    assert store.sync(engine)
    again = json.loads(path.read_text())["engine"]
    assert again["version"] == 1 and set(again) == {"version", "levels", "connection", "delivered", "pending"}
