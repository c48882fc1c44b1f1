"""``liqwatch --source URL``: the dashboard on the bus, against a real nats-server (issue #22).

Records are published first (the watchers' own :class:`BusSink`), then the app starts: its cold
start reads the newest snapshot per account; what is published later shows live; a group whose
presence keys expire shows STALE; what-if on a received position gives calc's numbers.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import Callable
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import orjson
import pytest
from textual.pilot import Pilot

from liqwatch.bus.admin import init_bus
from liqwatch.bus.feed import BusFeed, alert_line, snapshot_events
from liqwatch.bus.sink import BusSink
from liqwatch.cli import main
from liqwatch.config import BusConfig
from liqwatch.core import get_venue
from liqwatch.core import whatif as wi
from liqwatch.feeds.events import Balance, Event, MarkPrice, PositionData, Positions
from liqwatch.records import snapshot_record
from liqwatch.state import State
from liqwatch.tui.app import LiqwatchApp
from liqwatch.tui.screens.ladder import LadderScreen
from liqwatch.tui.screens.whatif import WhatIfScreen
from liqwatch.tui.widgets.account_strip import feed_text
from liqwatch.tui.widgets.alerts import AlertLine, AlertsPane
from liqwatch.tui.widgets.positions import PositionsTable
from tests.bus.conftest import NatsServer

SYMBOL = "BTC/USDT:USDT"
WAIT = 30.0


@pytest.fixture(autouse=True)
def _own_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIQWATCH_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setattr(LiqwatchApp, "FREEZE_HEAP", False)


def snapshot(account: str, size: float, *, mark: float = 58_000.0, wallet: float = 10_000.0) -> dict[str, Any]:
    """The snapshot ``watch`` prints for one binance account holding one isolated BTC long."""
    state = State()
    common: dict[str, Any] = {"account": account, "exchange": "binance", "ts": time.time()}
    data = PositionData(
        symbol=SYMBOL,
        side="long",
        size=size,
        entry_price=60_000.0,
        margin_mode="isolated",
        leverage=10.0,
        isolated_margin=size * 6_000.0,
        mark_price=mark,
    )
    events: list[Event] = [
        Positions(**common, positions=[data]),
        Balance(**common, wallet_balance=wallet, currency="USDT"),
        MarkPrice(**common, symbol=SYMBOL, price=mark),
    ]
    for event in events:
        state.apply(event)
    return snapshot_record(state.snapshot())


async def publish(url: str, group: str, records: list[dict[str, Any]], replica: str | None = None) -> BusSink:
    """Publish ``records`` as a watcher of ``group`` does; the sink stays open (its presence too)."""
    sink = BusSink(BusConfig(url=url), group, replica)
    await sink.start()
    for record in records:
        sink.write(record, orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
    assert await sink.flushed(10.0)
    return sink


async def short_presence(url: str, ttl: float) -> None:
    """The presence bucket again, its keys living ``ttl`` seconds (15 s as `bus init` makes it)."""
    import nats
    from nats.js.api import KeyValueConfig

    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        await js.delete_key_value("liqwatch_presence")
        await js.create_key_value(KeyValueConfig(bucket="liqwatch_presence", history=1, ttl=ttl))
    finally:
        await nc.close()


def bus_app(url: str, groups: list[str] | None = None) -> tuple[LiqwatchApp, BusFeed]:
    feed = BusFeed(BusConfig(url=url), groups)
    app = LiqwatchApp([feed], refresh_seconds=0.1, show_clock=False, alert_engine=False)

    def on_alert(record: dict[str, Any]) -> None:
        app.query_one(AlertsPane).add_line(AlertLine(*alert_line(record)))

    feed.on_alert = on_alert
    return app, feed


async def until(pilot: Pilot[None], predicate: Callable[[], bool], timeout: float = WAIT) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await pilot.pause(0.05)


def accounts(app: LiqwatchApp) -> dict[str, Any]:
    snap = app.snapshot
    return {} if snap is None else {a.name: a for a in snap.accounts}


def test_cold_start_shows_every_groups_accounts_then_live_updates(nats_server: NatsServer) -> None:
    asyncio.run(init_bus(BusConfig(url=nats_server.url)))

    async def go() -> None:
        old = [snapshot("main", 0.1)]
        sinks = [
            await publish(nats_server.url, "desk-a", [*old, snapshot("main", 0.5), snapshot("alt", 0.2)], "r1"),
            await publish(nats_server.url, "desk-b", [snapshot("main", 0.3)]),
        ]
        alert = {"type": "alert", "id": "a1", "ts": time.time() - 3600, "account": "main", "rule": "margin_ratio"}
        alert |= {"level": "0.8", "message": "main: margin ratio 80 %", "severity": "critical", "symbol": None}
        sinks[0].write(alert, orjson.dumps(alert, option=orjson.OPT_APPEND_NEWLINE))
        assert await sinks[0].flushed(10.0)
        app, feed = bus_app(nats_server.url)
        async with app.run_test(size=(160, 50)) as pilot:
            await until(pilot, lambda: set(accounts(app)) == {"desk-a/main", "desk-a/alt", "desk-b/main"})
            await until(pilot, lambda: len(app.query_one(PositionsTable).order) == 3)
            sizes = {v.account: v.data.size for v in app.views.values()}
            assert sizes == {"desk-a/main": 0.5, "desk-a/alt": 0.2, "desk-b/main": 0.3}  # the newest per account
            assert all(a.data_status == "ok" and a.risk is not None for a in accounts(app).values())
            # the alerts pane starts with the last 24 h, the group and replica named
            pane = app.query_one(AlertsPane)
            await until(
                pilot, lambda: any("[desk-a@r1] main: margin ratio 80 %" in line for line in pane.plain_lines(200))
            )
            assert app.alerts is None  # no alert engine of its own
            # live: a newer record of one account replaces it
            sinks[1].write(*_line(snapshot("main", 0.7)))
            await until(pilot, lambda: {v.account: v.data.size for v in app.views.values()}.get("desk-b/main") == 0.7)
            assert feed.bad_records == 0
        for sink in sinks:
            await sink.close()

    asyncio.run(go())


def _line(record: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
    return record, orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)


def test_a_group_whose_watchers_stopped_shows_stale_and_recovers(nats_server: NatsServer) -> None:
    asyncio.run(init_bus(BusConfig(url=nats_server.url)))
    asyncio.run(short_presence(nats_server.url, 1.0))

    async def go() -> None:
        live = await publish(nats_server.url, "live", [snapshot("main", 0.1)])
        gone = await publish(nats_server.url, "gone", [snapshot("main", 0.2)])
        app, feed = bus_app(nats_server.url)
        async with app.run_test(size=(160, 50)) as pilot:
            await until(pilot, lambda: set(accounts(app)) == {"live/main", "gone/main"})
            assert feed.ttl == 1.0
            await gone.close()  # its watcher stops: no more presence puts
            await until(pilot, lambda: "gone" in feed.stale)
            await until(pilot, lambda: "STALE: group gone" in accounts(app)["gone/main"].detail)
            card = feed_text(accounts(app)["gone/main"]).plain
            assert card.startswith("error: STALE: group gone: no watcher has reported for 1 s")
            assert "live" not in feed.stale and not accounts(app)["live/main"].detail
            back = await publish(nats_server.url, "gone", [])  # a watcher of the group is back
            await until(pilot, lambda: "gone" not in feed.stale and not accounts(app)["gone/main"].detail)
            await back.close()
        await live.close()

    asyncio.run(go())


def test_whatif_and_ladder_on_a_received_position_give_calcs_numbers(
    nats_server: NatsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(init_bus(BusConfig(url=nats_server.url)))
    record = snapshot("main", 0.5)
    published = record["positions"][0]

    async def go() -> tuple[Any, Any, float | None]:
        sink = await publish(nats_server.url, "desk", [record])
        app, _ = bus_app(nats_server.url)
        async with app.run_test(size=(160, 50)) as pilot:
            table = app.query_one(PositionsTable)
            await until(pilot, lambda: len(table.order) == 1 and next(iter(app.views.values())).risk is not None)
            table.move_cursor(row=0)
            await until(pilot, lambda: table.selected_key() is not None)
            view = next(iter(app.views.values()))
            received_lp = view.risk.liquidation_price if view.risk is not None else None
            await pilot.press("w")
            await until(pilot, lambda: isinstance(app.screen, WhatIfScreen))
            screen = app.screen
            assert isinstance(screen, WhatIfScreen)
            add = wi.add_size(get_venue("binance"), screen.specs, screen.wallet, screen.index, 0.1)
            spec = screen.specs[screen.index]
            await pilot.press("escape")
            await until(pilot, lambda: not isinstance(app.screen, WhatIfScreen))
            await pilot.press("l")  # the ladder, on the received account too
            await until(pilot, lambda: isinstance(app.screen, LadderScreen))
            ladder = app.screen
            assert isinstance(ladder, LadderScreen)
            assert [(name, [s.size for s in specs]) for name, _, specs, _ in ladder.accounts] == [("desk/main", [0.5])]
        await sink.close()
        return add, spec, received_lp

    add, spec, received_lp = asyncio.run(go())
    argv = ["calc", "--offline", "--json", "--exchange", "binance", "--symbol", SYMBOL, "--side", "long"]
    argv += ["--size", "0.5", "--entry", "60000", "--leverage", "10", "--margin-mode", "isolated"]
    argv += ["--margin", "3000", "--mark", "58000", "--wallet-balance", "10000", "--add-size", "0.1"]
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(argv) == 0
    calc = json.loads(out.getvalue())
    # the received position is the published one, and the dashboard computes the watcher's figures
    assert (spec.size, spec.entry_price, spec.leverage, spec.isolated_margin) == (0.5, 60_000.0, 10.0, 3_000.0)
    assert received_lp == published["liquidation_price"] == calc["positions"][0]["liquidation_price"]
    after = calc["what_if"]["after"]["positions"][0]
    mine = add.after.positions[0]
    assert mine.liquidation_price == pytest.approx(after["liquidation_price"], rel=1e-12)
    assert mine.spec.size == pytest.approx(after["size"], rel=1e-12)
    assert mine.margin_ratio == pytest.approx(after["margin_ratio"], rel=1e-12)


def test_a_stalled_dashboard_does_not_slow_the_publisher(nats_server: NatsServer) -> None:
    """A consumer that stops reading (a dashboard stuck on a slow terminal) holds no publisher back:
    the watcher's publish rate with it is that without it (a generous bound on a shared machine)."""
    asyncio.run(init_bus(BusConfig(url=nats_server.url)))
    records = [snapshot(f"acc{i}", 0.1) for i in range(20)]

    async def rate(sink: BusSink, rounds: int) -> float:
        started = time.perf_counter()
        for _ in range(rounds):
            for record in records:
                sink.write(*_line(record))
            assert await sink.flushed(30.0)
        return rounds * len(records) / (time.perf_counter() - started)

    async def go() -> None:
        import nats
        from nats.js.api import DeliverPolicy

        sink = await publish(nats_server.url, "fast", [])
        alone = await rate(sink, 10)
        nc = await nats.connect(nats_server.url)
        stall = asyncio.Event()
        got: list[int] = []

        async def stuck(_: Any) -> None:
            got.append(1)
            await stall.wait()  # never set while publishing: this reader is stalled

        sub = await nc.jetstream().subscribe(
            "liqwatch.snapshot.>", cb=stuck, ordered_consumer=True, deliver_policy=DeliverPolicy.ALL
        )
        await asyncio.wait_for(_wait(lambda: bool(got)), 10.0)
        stalled = await rate(sink, 10)
        assert len(got) == 1  # it has read one message while the publisher sent 200 more
        assert stalled > alone / 3, (alone, stalled)
        assert sink.dropped_snapshots == 0
        stall.set()
        await sub.unsubscribe()
        await nc.close()
        await sink.close()

    asyncio.run(go())


async def _wait(predicate: Callable[[], bool]) -> None:
    while not predicate():
        await asyncio.sleep(0.01)


def test_a_record_from_the_bus_becomes_the_accounts_events_under_its_group() -> None:
    record = snapshot("main", 0.5) | {"group": "g1", "replica": "r2"}
    record["accounts"] = record["accounts"][:1]
    events = snapshot_events(record)
    assert {e.account for e in events} == {"g1/main"}
    (positions,) = [e for e in events if e.type == "positions"]
    assert positions.positions[0].isolated_margin == 3_000.0 and positions.positions[0].leverage == 10.0
    assert [e.currency for e in events if e.type == "balance"] == ["USDT"]


def test_the_source_flags_are_checked_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    for argv, message in (
        (["--group", "g1"], "liqwatch: error: --group: only with --source URL (the dashboard on the bus)\n"),
        (["--source", "nats://127.0.0.1:1", "demo"], "liqwatch: error: --source: not with `demo`"),
        (["--source", "nats://127.0.0.1:1", "--group", "a.b"], "liqwatch: error: --group: 'a.b' is not a valid"),
        (
            ["--source", "nats://127.0.0.1:1"],
            "liqwatch: error: --source: cannot reach the NATS server at nats://127.0.0.1:1",
        ),
    ):
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        assert exit_.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith(message) and err.count("\n") == 1, err


def test_the_dashboard_goes_on_after_the_server_is_killed(nats_server: NatsServer) -> None:
    """SIGKILL the server mid-run: the publisher and the dashboard reconnect, and a record published
    after the restart shows (the ordered consumers are re-created from the stream)."""
    asyncio.run(init_bus(BusConfig(url=nats_server.url)))

    async def go() -> None:
        sink = await publish(nats_server.url, "desk", [snapshot("main", 0.1)])
        app, feed = bus_app(nats_server.url)
        async with app.run_test(size=(160, 50)) as pilot:
            await until(pilot, lambda: {v.data.size for v in app.views.values()} == {0.1})
            await asyncio.to_thread(nats_server.restart, True)
            sink.write(*_line(snapshot("main", 0.9)))
            assert await sink.flushed(WAIT)
            await until(pilot, lambda: {v.data.size for v in app.views.values()} == {0.9})
            assert feed.bad_records == 0
        await sink.close()

    asyncio.run(go())
