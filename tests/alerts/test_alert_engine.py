"""Alerts: the rule engine (tables per rule, properties), persistence across a restart, channels,
and delivery end to end to a local HTTP receiver on 127.0.0.1 (including one that fails a while)."""

from __future__ import annotations

import asyncio
import json
import math
import stat
import sys
import types
from collections.abc import Iterator
from contextlib import asynccontextmanager
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from liqwatch.alerts.channels import (
    CallbackChannel,
    CommandChannel,
    DeliveryFailure,
    DesktopChannel,
    DiscordChannel,
    Dispatcher,
    NtfyChannel,
    SlackChannel,
    TelegramChannel,
    WebhookChannel,
    redact_url,
    send_test,
)
from liqwatch.alerts.config import AlertRuleConfig, ChannelConfig, build_channels, build_engine
from liqwatch.alerts.rules import GC_AGE, Alert, AlertEngine, AlertStore, Rule, default_store_path
from liqwatch.core.errors import InputError
from liqwatch.feeds.demo import SNAPSHOT_EVERY, DemoMarket
from liqwatch.feeds.events import MarkPrice, PositionData, Positions, Status
from liqwatch.state import AccountView, Notice, PositionView, Snapshot, State
from tests.fakes.ws_server import WAIT_TIMEOUT

CHANNEL_LIST = TypeAdapter(list[ChannelConfig])


class Clock:
    def __init__(self, t: float = 1_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


# ---------------------------------------------------------------- building snapshots


@cache
def _base() -> tuple[AccountView, PositionView]:
    """A real account and position view from the state store (binance, BTC isolated), whose risk
    the helpers below then set to the values a test needs."""
    state = State(Clock())
    data = PositionData(
        symbol="BTC/USDT:USDT",
        side="long",
        size=1.0,
        entry_price=60_000.0,
        margin_mode="isolated",
        leverage=10.0,
        isolated_margin=6000.0,
    )
    state.apply(Positions(account="a", exchange="binance", ts=1.0, positions=[data]))
    state.apply(MarkPrice(account="a", exchange="binance", ts=1.0, symbol="BTC/USDT:USDT", price=59_000.0))
    snap = state.snapshot()
    assert snap.positions[0].risk is not None
    return snap.accounts[0], snap.positions[0]


def pos(
    account: str = "a",
    symbol: str = "BTC/USDT:USDT",
    side: str = "long",
    *,
    mr: float | None = 0.1,
    dist: float | None = 0.5,
    lights: int = 1,
    tier: int = 1,
    stale: bool = False,
    mode: str = "isolated",
) -> PositionView:
    _, view = _base()
    risk = view.risk
    assert risk is not None
    risk = replace(
        risk,
        margin_ratio=mr,
        distance_to_liquidation=dist,
        adl=replace(risk.adl, lights=lights),
        tier=replace(risk.tier, index=tier),
    )
    data = view.data.model_copy(update={"symbol": symbol, "side": side, "margin_mode": mode})
    return PositionView(account, "binance", data, view.mark_price, 0.0, stale, risk)


def snap(*views: PositionView, cross: dict[str, float | None] | None = None, ts: float = 0.0) -> Snapshot:
    """A snapshot of ``views``; ``cross`` sets accounts' cross margin ratios."""
    acc0, _ = _base()
    assert acc0.risk is not None
    names = list(dict.fromkeys([v.account for v in views] + list(cross or {})))
    accounts = []
    for name in names:
        ratio = (cross or {}).get(name)
        risk = replace(acc0.risk, account=replace(acc0.risk.account, cross_margin_ratio=ratio))
        accounts.append(AccountView(name, "binance", 1000.0, risk, {}, "", False))
    return Snapshot(ts, accounts, list(views))


def run_values(engine: AlertEngine, make: Any, values: list[Any], dt: float = 1.0) -> list[tuple[int, str]]:
    """Feed one value per step; returns (step, level) for each alert."""
    fired = []
    for i, value in enumerate(values):
        for alert in engine.evaluate(make(value), i * dt):
            fired.append((i, alert.level))
    return fired


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
        lambda v: snap(pos(mr=v)) if v is not None else _bankrupt(),
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


def _bankrupt() -> Snapshot:
    view = pos(mr=None)
    assert view.risk is not None
    view.risk = replace(view.risk, status="bankrupt")
    return snap(view)


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
    assert engine.state["levels"] == {}
    assert len(engine.evaluate(snap(pos("a", mr=0.9)), GC_AGE + 101)) == 1


def test_alert_record_for_watch_is_json() -> None:
    [alert] = AlertEngine().evaluate(_bankrupt(), 0)
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


# ---------------------------------------------------------------- rules: properties

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
def test_exactly_one_alert_per_upward_crossing_with_hysteresis(seq: list[float], h: float) -> None:
    engine = AlertEngine([Rule("margin_ratio", (ONE_LEVEL,), consecutive=1, hysteresis=h, cooldown=0)], defaults=False)
    expected = []
    armed = True
    for i, v in enumerate(seq):  # the reference: a crossing counts once, until cleared by h
        if armed and v >= ONE_LEVEL:
            expected.append(i)
            armed = False
        elif not armed and v <= ONE_LEVEL - h:
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


# ---------------------------------------------------------------- persistence


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


# ---------------------------------------------------------------- channels


def test_redact_url() -> None:
    cases = {
        "https://hooks.slack.com/services/T000/B000/XXXXSECRET": "https://hooks.slack.com/***",
        "https://discord.com/api/webhooks/123/tok-en": "https://discord.com/***",
        "https://user:pw@ntfy.example:8443/topic?auth=abc": "https://ntfy.example:8443/***",
        "http://127.0.0.1:9000": "http://127.0.0.1:9000",
        "tgram://123456:ABCDEF/987654": "tgram://***",
        "not a url": "***",
        "http://[::1]:8080/x": "http://[::1]:8080/***",
    }
    for url, shown in cases.items():
        assert redact_url(url) == shown


class Receiver:
    """A local HTTP receiver on 127.0.0.1 that records what it is sent (and can fail)."""

    def __init__(self) -> None:
        self.hits: list[tuple[str, bytes, dict[str, str]]] = []
        self.attempts = 0
        self.fail = False
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.attempts += 1
        if self.fail:
            return web.Response(status=500, text=f"down: {request.path}")  # echoes the secret path
        self.hits.append((request.path, body, dict(request.headers)))
        return web.Response(text="ok")

    def alerts(self, path: str = "/hook/SECRET") -> list[dict[str, Any]]:
        return [json.loads(body) for p, body, _ in self.hits if p == path]


@asynccontextmanager
async def receiver() -> Any:
    rec = Receiver()
    app = web.Application()
    app.router.add_post("/{tail:.*}", rec.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    rec.url = f"http://{host}:{port}"
    try:
        yield rec
    finally:
        await runner.cleanup()


def _alert(n: int = 1, severity: str = "warning") -> Alert:
    return Alert(
        id=f"t-{n}",
        ts=float(n),
        account="a",
        symbol="BTC/USDT:USDT",
        rule="margin_ratio",
        level="0.7",
        value=0.71,
        threshold=0.7,
        message=f"alert {n}",
        severity=severity,  # type: ignore[arg-type]
    )


def test_http_channel_formats() -> None:
    async def main() -> Receiver:
        async with receiver() as rec:
            channels = [
                WebhookChannel(rec.url + "/hook/SECRET", headers={"X-Token": "hdr-secret"}),
                SlackChannel(rec.url + "/slack/T/B/X"),
                DiscordChannel(rec.url + "/discord/1/tok"),
                NtfyChannel(rec.url + "/my-topic", token="ntfy-token"),
                TelegramChannel("123:ABC", "42", api_url=rec.url),
            ]
            for channel in channels:
                await channel.send(_alert(7, "critical"))
                await channel.close()
            return rec

    rec = asyncio.run(main())
    by_path = {path: (body, headers) for path, body, headers in rec.hits}
    hook = json.loads(by_path["/hook/SECRET"][0])
    assert hook["type"] == "alert" and hook["id"] == "t-7" and hook["severity"] == "critical"
    assert by_path["/hook/SECRET"][1]["X-Token"] == "hdr-secret"
    assert json.loads(by_path["/slack/T/B/X"][0]) == {"text": "[CRITICAL] alert 7"}
    assert json.loads(by_path["/discord/1/tok"][0]) == {"content": "[CRITICAL] alert 7"}
    body, headers = by_path["/my-topic"]
    assert body == b"alert 7" and headers["Priority"] == "urgent" and headers["Authorization"] == "Bearer ntfy-token"
    assert headers["Title"] == "liqwatch critical: a BTC/USDT:USDT"
    assert json.loads(by_path["/bot123:ABC/sendMessage"][0]) == {"chat_id": "42", "text": "[CRITICAL] alert 7"}
    for channel in (SlackChannel(rec.url + "/slack/T/B/X"), TelegramChannel("123:ABC", "42")):
        assert "T/B/X" not in channel.name and "ABC" not in channel.name


def test_secrets_never_appear_in_failures() -> None:
    failures: list[DeliveryFailure] = []

    async def main() -> list[tuple[str, bool, str]]:
        async with receiver() as rec:
            rec.fail = True
            hook = WebhookChannel(rec.url + "/hook/SECRET-TOKEN?key=QUERYSECRET")
            dispatcher = Dispatcher([hook], on_failure=failures.append, retry_initial=0.01)
            dispatcher.start()
            dispatcher.submit(_alert())
            async with asyncio.timeout(WAIT_TIMEOUT):
                while len(failures) < 2:
                    await asyncio.sleep(0.01)
            await dispatcher.stop()
            return await send_test([WebhookChannel(rec.url + "/hook/SECRET-TOKEN?key=QUERYSECRET")])

    results = asyncio.run(main())
    shown = json.dumps([f.record() for f in failures]) + json.dumps(results)
    assert "HTTP 500" in shown and "SECRET" not in shown and "retrying in 0.01 s" in shown
    assert failures[1].attempt == 2 and failures[1].retry_in == 0.02  # exponential backoff


def test_command_channel_gets_the_alert_on_stdin(tmp_path: Path) -> None:
    out = tmp_path / "got.json"
    script = "import sys, pathlib; pathlib.Path(sys.argv[1]).write_text(sys.stdin.read())"
    channel = CommandChannel([sys.executable, "-c", script, str(out)], timeout=10)
    failing = CommandChannel([sys.executable, "-c", "import sys; print('boom', file=sys.stderr); sys.exit(3)"])
    slow = CommandChannel([sys.executable, "-c", "import time; time.sleep(30)"], timeout=0.3)
    missing = CommandChannel([str(tmp_path / "no-such-program")])
    results = asyncio.run(send_test([channel, failing, slow, missing]))
    assert json.loads(out.read_text())["type"] == "alert"
    assert [(ok, detail) for _, ok, detail in results] == [
        (True, "delivered"),
        (False, "exit code 3: boom"),
        (False, "timed out after 0.3 s"),
        (False, "cannot run " + str(tmp_path / "no-such-program") + ": No such file or directory"),
    ]
    assert results[0][0] == "command " + Path(sys.executable).name


def test_desktop_channel_is_a_noop_without_a_service(tmp_path: Path) -> None:
    none = DesktopChannel(which=lambda _: None)
    assert not none.available
    asyncio.run(none.send(_alert()))  # graceful no-op
    log = tmp_path / "argv"
    fake = tmp_path / "notify-send"
    fake.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {log}\n')
    fake.chmod(0o755)
    desktop = DesktopChannel(which=lambda name: str(fake) if name == "notify-send" else None)
    results = asyncio.run(send_test([none, desktop]))
    assert [ok for _, ok, _ in results] == [False, True]
    assert log.read_text().splitlines()[:4] == ["-a", "liqwatch", "-u", "low"]


def test_build_channels_from_toml_and_apprise_is_optional(monkeypatch: pytest.MonkeyPatch) -> None:
    configs = CHANNEL_LIST.validate_python(
        [
            {"type": "webhook", "url_env": "HOOK", "min_severity": "critical"},
            {"type": "slack", "url": "https://hooks.slack.com/services/T/B/X"},
            {"type": "discord", "url": "https://discord.com/api/webhooks/1/tok"},
            {"type": "ntfy", "url": "https://ntfy.sh/topic-secret", "name": "phone"},
            {"type": "telegram", "bot_token_env": "TG", "chat_id": 42},
            {"type": "command", "command": ["notify.sh", "--x"]},
            {"type": "desktop", "enabled": False},
        ]
    )
    channels = build_channels(configs, {"HOOK": "https://example.invalid/h/SECRET", "TG": "1:tok"})
    assert [c.name for c in channels] == [
        "webhook https://example.invalid/***",
        "slack https://hooks.slack.com/***",
        "discord https://discord.com/***",
        "ntfy phone",
        "telegram https://api.telegram.org chat ***",
        "command notify.sh",
    ]
    assert channels[0].min_severity == "critical" and not channels[0].accepts(_alert())
    with pytest.raises(InputError, match=r"channels\[0\]\.url_env: environment variable HOOK is not set"):
        build_channels(configs[:1], {})
    for bad in ({"type": "webhook"}, {"type": "webhook", "url": "x", "url_env": "Y"}, {"type": "telegram"}):
        with pytest.raises(ValidationError):
            CHANNEL_LIST.validate_python([bad])
    monkeypatch.setitem(sys.modules, "apprise", None)  # as if not installed
    slack = CHANNEL_LIST.validate_python([{"type": "slack", "url": "slack://tokenA/tokenB/tokenC"}])
    with pytest.raises(InputError) as err:
        build_channels(slack)
    message = str(err.value)
    assert "\n" not in message and "apprise" in message and "token" not in message


def test_apprise_channel_with_a_stand_in_module(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[dict[str, Any]] = []

    class FakeApprise:
        def add(self, url: str) -> bool:
            return url.startswith("tgram://")

        def notify(self, **kw: Any) -> bool:
            sent.append(kw)
            return True

    fake = types.ModuleType("apprise")
    fake.Apprise = FakeApprise  # type: ignore[attr-defined]
    fake.NotifyType = types.SimpleNamespace(INFO="info", WARNING="warning", FAILURE="failure")  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "apprise", fake)
    [channel] = build_channels(CHANNEL_LIST.validate_python([{"type": "telegram", "url": "tgram://tok/chat"}]))
    assert channel.name == "apprise tgram://***"
    assert asyncio.run(send_test([channel]))[0][1] is True
    assert sent[0]["notify_type"] == "info" and "test alert" in sent[0]["body"]
    with pytest.raises(InputError, match="does not recognise"):
        build_channels(CHANNEL_LIST.validate_python([{"type": "apprise", "url": "weird://x"}]))


def test_queue_is_bounded_and_drops_the_least_severe() -> None:
    failures: list[DeliveryFailure] = []
    dispatcher = Dispatcher([CallbackChannel(lambda a: None)], queue_size=3, on_failure=failures.append)
    for n, severity in enumerate(["warning", "critical", "info", "critical", "warning"]):
        dispatcher.submit(_alert(n, severity))  # not started: nothing is sent yet
    dispatcher.submit(_alert(1))  # already queued: idempotent
    assert [a["id"] for a in next(iter(dispatcher.outbox().values()))] == ["t-0", "t-1", "t-3"]
    assert [f.alert_id for f in failures] == ["t-2", "t-4"] and all(f.retry_in is None for f in failures)


def test_outbox_survives_a_restart() -> None:
    got: list[str] = []

    async def main() -> None:
        first = Dispatcher([CallbackChannel(lambda a: None, "tui")])
        first.submit(_alert(1))
        first.submit(_alert(2))
        saved = json.loads(json.dumps(first.outbox()))
        second = Dispatcher([CallbackChannel(lambda a: got.append(a.id), "tui")])
        assert second.restore(saved) == 2 and second.restore(saved) == 0
        second.start()
        assert await second.drain(WAIT_TIMEOUT)
        await second.stop()

    asyncio.run(main())
    assert got == ["t-1", "t-2"]


# ---------------------------------------------------------------- end to end


SCRIPT: list[tuple[float, float, float]] = [
    # (t, margin ratio, distance) for one isolated BTC long
    (0, 0.20, 0.40),
    (1, 0.52, 0.30),
    (2, 0.55, 0.20),  # 0.5 fires (2nd breach)
    (3, 0.60, 0.09),
    (4, 0.88, 0.08),  # 0.85 fires at once (critical); distance 0.1 fires (2nd breach)
    (5, 0.90, 0.01),  # distance 0.02 fires (critical)
    (6, 0.91, 0.01),
    (7, 0.30, 0.50),  # everything clears
    (8, 0.90, 0.50),  # within the 0.85 cooldown (delivered at ~4): held
]
EXPECTED = [(2, "margin_ratio", "0.5"), (4, "margin_ratio", "0.85"), (4, "distance", "0.1"), (5, "distance", "0.02")]


def test_end_to_end_scripted_snapshots_to_a_webhook_that_fails_a_while() -> None:
    async def main() -> tuple[list[Alert], Receiver, list[DeliveryFailure]]:
        failures: list[DeliveryFailure] = []
        clock = Clock(0.0)
        async with receiver() as rec:
            engine = AlertEngine()
            hook = WebhookChannel(rec.url + "/hook/SECRET")
            slack = SlackChannel(rec.url + "/slack/T/B/X", min_severity="critical")
            dispatcher = Dispatcher(
                [hook, slack],
                on_delivered=lambda _name, alert: engine.mark_delivered(alert.id, clock.t),
                on_failure=failures.append,
                retry_initial=0.05,
                retry_max=0.2,
            )
            dispatcher.start()
            fired: list[Alert] = []
            rec.fail = True  # the receiver is down for the first alerts
            for t, mr, dist in SCRIPT:
                clock.t = t
                if t == 4:
                    async with asyncio.timeout(WAIT_TIMEOUT):
                        while len(failures) < 2:  # a few failed attempts
                            await asyncio.sleep(0.01)
                    rec.fail = False
                if t >= 4:
                    assert await dispatcher.drain(WAIT_TIMEOUT)  # delivered before the script goes on
                for alert in engine.evaluate(snap(pos(mr=mr, dist=dist)), t):
                    fired.append(alert)
                    dispatcher.submit(alert)  # never blocks
                await asyncio.sleep(0.02)
            assert await dispatcher.drain(WAIT_TIMEOUT)
            sent = len(rec.hits)
            dispatcher.submit(fired[0])  # delivered already: never sent twice
            assert await dispatcher.drain(WAIT_TIMEOUT) and len(rec.hits) == sent
            await dispatcher.stop()
            return fired, rec, failures

    fired, rec, failures = asyncio.run(main())
    assert [(a.ts, a.rule, a.level) for a in fired] == EXPECTED
    got = rec.alerts()
    assert [g["id"] for g in got] == [a.id for a in fired]  # every alert, once, in order
    assert got[0] == fired[0].record()
    assert len(failures) >= 2 and all(f.channel == "webhook " + rec.url + "/***" for f in failures)
    assert [f.attempt for f in failures] == list(range(1, len(failures) + 1))
    assert {f.alert_id for f in failures} == {fired[0].id}  # the one sent while the receiver was down
    critical = [json.loads(b)["text"] for p, b, _ in rec.hits if p.startswith("/slack")]
    assert critical == [f"[CRITICAL] {a.message}" for a in fired if a.severity == "critical"]


def _demo_run(ticks: int, engine: AlertEngine) -> Iterator[tuple[float, list[Alert]]]:
    """The demo market through the state store, the way DemoFeed drives it, with a fake clock."""
    clock = Clock()
    state = State(clock)
    market = DemoMarket(7)
    for event in market.initial_events(clock.t):
        state.apply(event)
    for _ in range(ticks):
        changed = set(market.step())
        clock.t += 1.0
        notices = []
        for mark in market.mark_events(clock.t, 1.0):
            state.apply(mark)
        for acc in market.accounts:
            if acc.name in changed or market.tick % SNAPSHOT_EVERY == 0:
                for event in market.position_events(acc, clock.t):
                    notices.extend(state.apply(event))
        alerts = [a for n in notices for a in engine.on_notice(n, clock.t)]
        alerts += engine.evaluate(state.snapshot(), clock.t)
        yield clock.t, alerts


def test_end_to_end_demo_market_crash() -> None:
    async def main() -> tuple[list[Alert], Receiver]:
        async with receiver() as rec:
            engine = AlertEngine()
            now = [0.0]
            hook = WebhookChannel(rec.url + "/hook/SECRET")
            dispatcher = Dispatcher([hook], on_delivered=lambda _n, a: engine.mark_delivered(a.id, now[0]))
            dispatcher.start()
            fired: list[Alert] = []
            for t, alerts in _demo_run(60, engine):
                now[0] = t
                fired.extend(alerts)
                for alert in alerts:
                    dispatcher.submit(alert)
                assert await dispatcher.drain(WAIT_TIMEOUT)  # delivered before the next simulated second
            assert await dispatcher.drain(WAIT_TIMEOUT)
            await dispatcher.stop()
            return fired, rec

    fired, rec = asyncio.run(main())
    rules = {a.rule for a in fired}
    assert {"position_lost", "distance", "margin_ratio"} <= rules
    lost = [a for a in fired if a.rule == "position_lost"]
    assert lost and all(a.severity == "critical" and a.level == "vanished" for a in lost)
    assert [g["id"] for g in rec.alerts()] == [a.id for a in fired]  # once each, in order
    assert len({a.id for a in fired}) == len(fired)
    # delivered alerts start their cooldowns (300 s): no level alert repeats within the minute
    keys = [(a.account, a.symbol, a.side, a.rule, a.level) for a in fired if a.rule != "position_lost"]
    assert len(keys) == len(set(keys))
