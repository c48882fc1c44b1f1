"""``watch --publish`` and ``watch --source`` against a real nats-server (issue #22)."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from liqwatch.alerts.model import Alert
from liqwatch.bus.admin import init_bus
from liqwatch.bus.sink import BusSink, split_snapshot
from liqwatch.cli import build_parser, main
from liqwatch.config import BusConfig
from tests.bus.conftest import NatsServer

ROOT = Path(__file__).resolve().parents[2]


def init(url: str) -> None:
    asyncio.run(init_bus(BusConfig(url=url)))


async def _read(url: str, stream: str) -> list[tuple[str, bytes, dict[str, str]]]:
    """Every message of ``stream``: (subject, payload, headers)."""
    import nats

    nc = await nats.connect(url, allow_reconnect=False, max_reconnect_attempts=1)
    try:
        js = nc.jetstream()
        info = await js.stream_info(stream)
        out = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            try:
                msg = await js.get_msg(stream, seq)
            except Exception:
                continue
            out.append((msg.subject or "", msg.data or b"", dict(msg.headers or {})))
        return out
    finally:
        await nc.close()


def read(url: str, stream: str) -> list[tuple[str, bytes, dict[str, str]]]:
    return asyncio.run(_read(url, stream))


def test_every_bus_payload_is_the_stdout_line(nats_server: NatsServer) -> None:
    from liqwatch.watch import run_watch

    init(nats_server.url)
    out = io.StringIO()
    args = build_parser().parse_args(
        ["watch", "--demo", "--once", "--publish", nats_server.url, "--group", "g1", "--replica", "r1"]
    )
    assert asyncio.run(run_watch(args, out)) == 0
    lines = [line.encode() + b"\n" for line in out.getvalue().splitlines()]
    records = [orjson.loads(line) for line in lines]
    events = [(s, p, h) for s, p, h in read(nats_server.url, "LIQ_EVENT")]
    snaps = read(nats_server.url, "LIQ_SNAP")
    # events and market lines: the very bytes printed, on their subjects, with the headers
    printed_events = [line for line, r in zip(lines, records, strict=True) if r["type"] == "event"]
    assert printed_events and [p for _, p, _ in events] == printed_events
    for (subject, _, headers), line in zip(events, printed_events, strict=True):
        assert subject == f"liqwatch.event.g1.{orjson.loads(line)['account']}"
        assert headers["Liqwatch-Schema"] == "1" and headers["Liqwatch-Replica"] == "r1"
        assert headers["Nats-Msg-Id"]
    printed_market = [line for line, r in zip(lines, records, strict=True) if r["type"] == "market"]
    market = [(s, p) for s, p, _ in snaps if s.startswith("liqwatch.market.")]
    assert printed_market and [p for _, p in market] == printed_market
    assert [s for s, _ in market] == [f"liqwatch.market.g1.{orjson.loads(p)['exchange']}" for p in printed_market]
    # the snapshot: one record per account, the same keys, its own entries, serialised as stdout does
    (snapshot,) = [r for r in records if r["type"] == "snapshot"]
    parts = [(s, p) for s, p, _ in snaps if s.startswith("liqwatch.snapshot.")]
    assert [s for s, _ in parts] == [f"liqwatch.snapshot.g1.{a['account']}" for a in snapshot["accounts"]]
    for (_, payload), (name, part) in zip(parts, split_snapshot(snapshot), strict=True):
        assert payload == orjson.dumps(part, option=orjson.OPT_APPEND_NEWLINE)
        record = orjson.loads(payload)
        assert list(record) == list(snapshot)
        assert [a["account"] for a in record["accounts"]] == [name]
        assert record["positions"] == [p for p in snapshot["positions"] if p["account"] == name]
    assert sum(len(orjson.loads(p)["positions"]) for _, p in parts) == len(snapshot["positions"])


def alert(n: int) -> Alert:
    return Alert(
        id=f"alert-{n}", ts=1_700_000_000.0 + n, account="acct-1", rule="margin_ratio", level="0.8", message=f"#{n}"
    )


def test_an_alert_carries_its_id_and_the_printed_bytes(nats_server: NatsServer) -> None:
    init(nats_server.url)

    async def go() -> None:
        sink = BusSink(BusConfig(url=nats_server.url), "g1", None)
        await sink.start()
        record = alert(1).record()
        line = orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)
        sink.write(record, line)
        sink.write(record, line)  # a retried publish: stored once
        await sink.close()

    asyncio.run(go())
    ((subject, payload, headers),) = read(nats_server.url, "LIQ_ALERT")
    assert subject == "liqwatch.alert.g1.acct-1"
    assert payload == orjson.dumps(alert(1).record(), option=orjson.OPT_APPEND_NEWLINE)
    assert headers["Nats-Msg-Id"] == "alert-1" and "Liqwatch-Replica" not in headers


@pytest.mark.slow
def test_alerts_fired_while_the_server_is_killed_arrive_once(nats_server: NatsServer) -> None:
    """SIGKILL the server mid-run: alerts fired before, during and after the outage are each stored
    exactly once (counted by id in LIQ_ALERT), with no alert lost and no duplicate."""
    init(nats_server.url)
    err = io.StringIO()

    async def go() -> BusSink:
        sink = BusSink(BusConfig(url=nats_server.url), "g1", "r1", err)
        await sink.start()
        for n in range(5):
            record = alert(n).record()
            sink.write(record, orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
        assert await sink.flushed(10)
        nats_server.stop(kill=True)  # a crash
        for n in range(5, 25):  # fired during the outage
            record = alert(n).record()
            sink.write(record, orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
        snap = {"type": "snapshot", "ts": 1.0, "accounts": [{"account": "acct-1"}], "positions": []}
        for _ in range(sink.snapshot_limit + 3):  # snapshots beyond the buffer are dropped, counted
            sink.write(snap, orjson.dumps(snap))
        await asyncio.to_thread(nats_server.start)  # same port, same store
        for n in range(25, 30):
            record = alert(n).record()
            sink.write(record, orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
        assert await sink.flushed(30)
        await sink.close()
        return sink

    sink = asyncio.run(go())
    ids = [orjson.loads(p)["id"] for _, p, _ in read(nats_server.url, "LIQ_ALERT")]
    assert sorted(ids) == sorted(f"alert-{n}" for n in range(30))
    assert ids[5:25] == [f"alert-{n}" for n in range(5, 25)]  # in order
    assert sink.dropped_snapshots == 3
    assert "3 snapshot/market records and 0 events dropped" in err.getvalue()


def test_a_full_outbox_drops_events_never_alerts() -> None:
    async def go() -> BusSink:
        sink = BusSink(BusConfig(url="nats://127.0.0.1:1"), "g1", None, outbox_limit=3)
        for n in range(4):
            record = alert(n).record()
            sink.write(record, orjson.dumps(record))
        event = {"type": "event", "ts": 1.0, "account": "acct-1", "kind": "drop"}
        sink.write(event, orjson.dumps(event))
        return sink

    sink = asyncio.run(go())
    assert [m.msg_id for m in sink.outbox] == [f"alert-{n}" for n in range(4)] + [sink.outbox[-1].msg_id]
    assert sink.dropped_events == 0 and len(sink.outbox) == 5  # alerts only: nothing dropped, it grows


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--group", "desk.one"], "--group: 'desk.one' is not a valid bus name (1-64 of A-Z a-z 0-9 _ -)"),
        (["--group", "g1", "--replica", "r 1"], "--replica: 'r 1' is not a valid bus name (1-64 of A-Z a-z 0-9 _ -)"),
        ([], "--group: --publish needs --group G (or group in [bus]): the shard's name on the bus"),
    ],
)
def test_bad_names_are_refused_at_start(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    code, out, err = run_cli(capsys, "watch", "--demo", "--once", "--publish", "nats://127.0.0.1:1", *argv)
    assert (code, out) == (2, "")
    assert err == f"liqwatch: error: {message}\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--quiet"], "--quiet: only with --publish URL (or a [bus] url): nothing would be printed or published"),
        (["--group", "g1"], "--group: only with --publish URL or --source URL (or a [bus] url in the config)"),
        (["--replica", "r1"], "--replica: only with --publish URL or --source URL (or a [bus] url in the config)"),
    ],
)
def test_bus_flags_without_the_bus_are_refused(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = run_cli(capsys, "watch", "--demo", "--once", *argv)
    assert (code, out) == (2, "")
    assert err == f"liqwatch: error: {message}\n"


def test_a_bad_account_name_is_refused_at_start(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[bus]\nurl = "nats://127.0.0.1:1"\ngroup = "g1"\n\n'
        '[[accounts]]\nname = "desk one"\nexchange = "hyperliquid"\nwallet = "0x' + "ab" * 20 + '"\n'
    )
    config.chmod(0o600)
    code, out, err = run_cli(capsys, "watch", "--config", str(config), "--once")
    assert (code, out) == (2, "")
    assert err == (
        "liqwatch: error: accounts: 'desk one' is not a valid bus name (1-64 of A-Z a-z 0-9 _ -); "
        "rename it to publish it\n"
    )


def test_a_bad_bus_table_names_its_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[bus]\nurl = "nats://127.0.0.1:1"\ngroup = "g.1"\n')
    code, _, err = run_cli(capsys, "watch", "--config", str(config), "--once")
    assert code == 2
    assert err.startswith(f"liqwatch: error: {config}: bus.group: 'g.1' is not a valid bus name")
    assert err.count("\n") == 1


@pytest.mark.slow
def test_a_watcher_subprocess_publishes_and_source_once_reads_every_account(
    nats_server: NatsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    init(nats_server.url)
    exe = [sys.executable, "-m", "liqwatch.cli"]
    published = subprocess.run(
        [*exe, "watch", "--demo", "--once", "--publish", nats_server.url, "--group", "g1", "--quiet"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (published.returncode, published.stdout, published.stderr) == (0, "", "")
    # read back in this process, through the CLI's main (`watch --source URL --once` as a process of
    # its own: scripts/desk_demo.py runs it, tests/bus/test_desk_demo.py checks its lines)
    code, out, err = run_cli(capsys, "watch", "--source", nats_server.url, "--once")
    assert (code, err) == (0, ""), err
    records: list[dict[str, Any]] = [orjson.loads(line) for line in out.splitlines()]
    assert [r["accounts"][0]["account"] for r in records] == [
        "demo-binance",
        "demo-binance-ma",
        "demo-bybit",
        "demo-hyperliquid",
    ]
    assert all(r["type"] == "snapshot" and r["group"] == "g1" and "replica" not in r for r in records)
    assert all(all(p["account"] == r["accounts"][0]["account"] for p in r["positions"]) for r in records)
    assert all(list(r)[-1] == "group" for r in records)


def test_source_once_with_no_snapshot_says_how_to_publish(
    nats_server: NatsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    init(nats_server.url)
    code, out, err = run_cli(capsys, "watch", "--source", nats_server.url, "--once", "--group", "g9")
    assert (code, out) == (1, "")
    assert err == (
        f"liqwatch: error: --source: no snapshot on the bus at {nats_server.url} for group g9 in the last hour; "
        "start a watcher with `liqwatch watch --publish URL --group G`\n"
    )


def test_source_live_prints_alerts_with_group_and_replica(nats_server: NatsServer) -> None:
    """The live reader: an alert published after it subscribed comes out as the line plus group/replica."""
    from liqwatch.bus.source import run_source

    init(nats_server.url)
    out = io.StringIO()

    async def go() -> None:
        args = build_parser().parse_args(["watch", "--source", nats_server.url])
        reader = asyncio.create_task(run_source(args, out))
        sink = BusSink(BusConfig(url=nats_server.url), "g2", "r7")
        await sink.start()
        deadline = time.monotonic() + 20
        n = 0
        while not out.getvalue() and time.monotonic() < deadline:  # until the reader has subscribed
            n += 1
            record = alert(n).record()
            sink.write(record, orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
            await sink.flushed(5)
            await asyncio.sleep(0.02)
        await sink.close()
        reader.cancel()
        with pytest.raises(asyncio.CancelledError):
            await reader

    asyncio.run(go())
    first = orjson.loads(out.getvalue().splitlines()[0])
    assert first == {**alert(int(first["id"].split("-")[1])).record(), "group": "g2", "replica": "r7"}


@pytest.mark.slow
def test_a_watcher_subprocess_survives_a_server_sigkill_and_publishes_each_alert_once(
    nats_server: NatsServer,
) -> None:
    """`watch --demo --publish` as a process; the server is SIGKILLed once the watcher is up and
    restarted once an alert was printed during the outage: every alert the watcher printed is in
    LIQ_ALERT exactly once (by id)."""
    import os
    import signal

    init(nats_server.url)
    demo = ["watch", "--demo", "--speed", "30", "--interval", "0.2", "--no-market"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "liqwatch.cli", *demo, "--publish", nats_server.url, "--group", "g1"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    printed: list[str] = []
    during: list[str] = []
    try:
        assert proc.stdout is not None
        proc.stdout.readline()  # the watcher is up (its first line)
        nats_server.stop(kill=True)
        deadline = time.monotonic() + 60
        while not during and time.monotonic() < deadline:
            record = orjson.loads(proc.stdout.readline())
            if record["type"] == "alert":
                during.append(record["id"])
        printed.extend(during)
        nats_server.start()
        while len(printed) < len(during) + 3 and time.monotonic() < deadline:
            record = orjson.loads(proc.stdout.readline())
            if record["type"] == "alert":
                printed.append(record["id"])
        os.kill(proc.pid, signal.SIGINT)  # it drains its outbox before it exits
        rest = proc.stdout.read()  # not communicate(): it would skip what readline() buffered
        assert proc.stderr is not None
        err = proc.stderr.read().decode()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
    printed += [orjson.loads(line)["id"] for line in rest.splitlines() if orjson.loads(line)["type"] == "alert"]
    assert during, "no alert fired while the server was down"
    assert proc.returncode == 0, err
    assert "not published" not in err
    stored = [orjson.loads(p)["id"] for _, p, _ in read(nats_server.url, "LIQ_ALERT")]
    assert sorted(stored) == sorted(printed)
    assert len(set(stored)) == len(stored)


@pytest.mark.slow
def test_source_live_goes_on_after_a_server_restart(nats_server: NatsServer) -> None:
    """The reader's consumers die with the server (SIGKILL); it re-creates them from the next stream
    sequence, so an alert published once after the restart is still printed, once."""
    from liqwatch.bus.source import run_source

    init(nats_server.url)
    out = io.StringIO()

    async def wait_for(text: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while text not in out.getvalue():
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.02)
        return True

    async def go() -> None:
        args = build_parser().parse_args(["watch", "--source", nats_server.url])
        reader = asyncio.create_task(run_source(args, out))
        sink = BusSink(BusConfig(url=nats_server.url), "g1", None)
        await sink.start()
        n = 0
        while not out.getvalue():  # until the reader has subscribed
            n += 1
            record = alert(n).record()
            sink.write(record, orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
            await sink.flushed(5)
            await asyncio.sleep(0.02)
        await asyncio.to_thread(nats_server.restart, True)
        record = alert(1000).record()
        sink.write(record, orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
        assert await sink.flushed(20)
        assert await wait_for('"alert-1000"', 8)  # nats-py's default heartbeat: 10-20 s
        await sink.close()
        reader.cancel()
        with pytest.raises(asyncio.CancelledError):
            await reader

    asyncio.run(go())
    assert out.getvalue().count('"alert-1000"') == 1


def test_a_record_over_max_payload_is_skipped_not_blocking(nats_server: NatsServer) -> None:
    init(nats_server.url)
    err = io.StringIO()

    async def go() -> BusSink:
        sink = BusSink(BusConfig(url=nats_server.url), "g1", None, err)
        await sink.start()
        for size in (2_000_000, 10):  # the first is over the server's 1 MB max_payload
            snap = {
                "type": "snapshot",
                "ts": 1.0,
                "accounts": [{"account": f"a{size}"}],
                "positions": [{"account": f"a{size}", "pad": "x" * size}],
            }
            sink.write(snap, orjson.dumps(snap))
        record = alert(1).record()
        sink.write(record, orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
        assert await sink.flushed(10)
        await sink.close()
        return sink

    sink = asyncio.run(go())
    assert sink.too_large == 1
    assert [s for s, _, _ in read(nats_server.url, "LIQ_SNAP")] == ["liqwatch.snapshot.g1.a10"]
    assert len(read(nats_server.url, "LIQ_ALERT")) == 1
    assert err.getvalue().startswith("liqwatch: bus: liqwatch.snapshot.g1.a2000000: a record of 2,000,")
    assert "over the server's max_payload (1,048,576); raise max_payload" in err.getvalue()


def test_the_bus_table_gives_url_group_replica_and_the_flags_win(tmp_path: Path) -> None:
    from liqwatch.bus.sink import bus_settings
    from liqwatch.config import load_config

    path = tmp_path / "config.toml"
    path.write_text(
        '[bus]\nurl = "nats://10.0.0.5:4222"\ngroup = "desk-a"\nreplica = "r1"\nuser = "watch-a"\n'
        'password_env = "LIQWATCH_BUS_PASSWORD"\n'
    )
    config = load_config(path)
    from_table = build_parser().parse_args(["watch", "--config", str(path)])
    cfg, group, replica = bus_settings(from_table, config)
    assert (cfg.url, group, replica, cfg.user) == ("nats://10.0.0.5:4222", "desk-a", "r1", "watch-a")
    flags = build_parser().parse_args(
        ["watch", "--config", str(path), "--publish", "nats://127.0.0.1:4222", "--group", "g2", "--replica", "r9"]
    )
    cfg, group, replica = bus_settings(flags, config)
    assert (cfg.url, group, replica, cfg.password_env) == ("nats://127.0.0.1:4222", "g2", "r9", "LIQWATCH_BUS_PASSWORD")


def test_the_bus_password_comes_from_the_environment_and_is_never_shown(tmp_path: Path) -> None:
    from liqwatch.bus.connect import connect_error, connect_options
    from liqwatch.core.errors import InputError

    cfg = BusConfig(url="nats://127.0.0.1:4222", user="watch-a", password_env="LIQWATCH_BUS_PASSWORD")
    assert connect_options(cfg, environ={"LIQWATCH_BUS_PASSWORD": "s3cret-pw"})["password"] == "s3cret-pw"
    with pytest.raises(InputError, match=r"^bus\.password_env: environment variable LIQWATCH_BUS_PASSWORD is not set$"):
        connect_options(cfg, environ={})
    error = connect_error(
        cfg.url or "", Exception("nats: 'Authorization Violation' for s3cret-pw"), "--publish", ("s3cret-pw",)
    )
    assert "s3cret-pw" not in str(error)
    assert str(error).startswith("--publish: the NATS server at nats://127.0.0.1:4222 refused the credentials")
