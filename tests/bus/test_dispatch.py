"""``liqwatch alerts dispatch --source URL`` against a real nats-server (issue #22): a dispatcher
SIGKILLed midway loses nothing (repeats at most one batch), two dispatchers share the work."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

import orjson
import pytest
from aiohttp import web

from liqwatch.bus.sink import BusSink
from liqwatch.config import BusConfig
from tests.bus.conftest import NatsServer
from tests.bus.test_publish import alert, init
from tests.fakes.webhook_receiver import Receiver, receiver

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60.0


class GatedReceiver(Receiver):
    """Answers the first ``hold_after`` POSTs, then holds every further one until ``gate`` is set."""

    def __init__(self, hold_after: int) -> None:
        super().__init__()
        self.hold_after = hold_after
        self.gate = asyncio.Event()
        self.held = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        if len(self.hits) >= self.hold_after and not self.gate.is_set():
            self.held.set()
            await self.gate.wait()
        return await super().handle(request)


def config(tmp_path: Path, name: str, url: str) -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(f'[[channels]]\ntype = "webhook"\nurl = "{url}"\ntimeout_seconds = 2\n')
    path.chmod(0o600)
    return path


async def dispatcher(server: NatsServer, cfg: Path, *more: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "liqwatch.cli",
        "alerts",
        "dispatch",
        "--source",
        server.url,
        "--config",
        str(cfg),
        *more,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def until(check: Callable[[], bool | Awaitable[bool]], timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while True:
        done = check()
        if not isinstance(done, bool):
            done = await done
        if done:
            return
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)  # polling, bounded by the deadline


async def publish(url: str, first: int, count: int) -> list[str]:
    sink = BusSink(BusConfig(url=url), "g1", None)
    await sink.start()
    for n in range(first, first + count):
        record = alert(n).record()
        sink.write(record, orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
    assert await sink.flushed(30)
    await sink.close()
    return [f"alert-{n}" for n in range(first, first + count)]


async def waiting_pulls(url: str) -> int:
    import nats

    nc = await nats.connect(url)
    try:
        info = await nc.jetstream().consumer_info("LIQ_ALERT", "dispatch")
        return int(info.num_waiting or 0)
    except Exception:
        return 0
    finally:
        await nc.close()


async def stop(proc: asyncio.subprocess.Process, sig: int = signal.SIGINT) -> tuple[bytes, bytes]:
    if proc.returncode is None:
        os.kill(proc.pid, sig)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    return out, err


@pytest.mark.slow
def test_a_dispatcher_killed_midway_loses_nothing(nats_server: NatsServer, tmp_path: Path) -> None:
    """200 alerts; the receiver holds every POST after the 30th; the dispatcher is SIGKILLed while
    it holds a batch; a second one (ack wait 1 s) delivers the rest: every id at least once, the
    repeats at most one batch."""
    init(nats_server.url)

    async def go() -> tuple[Counter[str], list[str], bytes]:
        rec = GatedReceiver(hold_after=30)
        app = web.Application()
        app.router.add_post("/{tail:.*}", rec.handle)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        cfg = config(tmp_path, "d", f"http://{host}:{port}/hook/SECRET")
        procs: list[asyncio.subprocess.Process] = []
        try:
            ids = await publish(nats_server.url, 0, 200)
            first = await dispatcher(nats_server, cfg, "--ack-wait", "1")
            procs.append(first)
            await asyncio.wait_for(rec.held.wait(), TIMEOUT)  # midway: 30 delivered, one batch held
            os.kill(first.pid, signal.SIGKILL)
            await first.wait()
            rec.gate.set()
            second = await dispatcher(nats_server, cfg, "--ack-wait", "1")
            procs.append(second)
            await until(lambda: set(ids) <= {a["id"] for a in rec.alerts()})
            _, err = await stop(second)
            assert second.returncode == 0, err
            return Counter(a["id"] for a in rec.alerts()), ids, err
        finally:
            for proc in procs:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
            await runner.cleanup()

    delivered, ids, err = asyncio.run(go())
    assert set(delivered) == set(ids)
    assert sum(delivered.values()) - len(ids) <= 10, delivered.most_common(12)
    assert b"SECRET" not in err


@pytest.mark.slow
def test_two_dispatchers_share_the_work(nats_server: NatsServer, tmp_path: Path) -> None:
    """Two dispatchers bound to the one consumer (each posts to its own path): 300 alerts published
    once both wait for work are each delivered once, by one of them, and both did some."""
    init(nats_server.url)

    async def go() -> tuple[list[str], list[str], list[str]]:
        async with receiver() as rec:
            procs = [
                await dispatcher(nats_server, config(tmp_path, name, f"{rec.url}/hook/{name}")) for name in ("a", "b")
            ]
            try:
                await until(lambda: _at_least(waiting_pulls(nats_server.url), 2))
                ids = await publish(nats_server.url, 0, 300)
                await until(lambda: len(rec.hits) >= len(ids))
                for proc in procs:
                    _, err = await stop(proc)
                    assert proc.returncode == 0, err
            finally:
                for proc in procs:
                    if proc.returncode is None:
                        proc.kill()
                        await proc.wait()
            return ids, [a["id"] for a in rec.alerts("/hook/a")], [a["id"] for a in rec.alerts("/hook/b")]

    ids, by_a, by_b = asyncio.run(go())
    assert sorted(by_a + by_b) == sorted(ids)
    assert by_a and by_b


async def _at_least(value: Awaitable[int], least: int) -> bool:
    return await value >= least


def test_dispatch_without_channels_or_bus_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.bus.test_publish import run_cli

    empty = tmp_path / "empty.toml"
    empty.write_text("")
    empty.chmod(0o600)
    cfg = config(tmp_path, "c", "http://127.0.0.1:1/hook")
    base = ["alerts", "dispatch", "--config"]
    cases = [
        (
            [*base, str(empty), "--source", "nats://127.0.0.1:1"],
            "channels: the config has no [[channels]] to deliver to (add one; `liqwatch alerts test` checks it)",
        ),
        ([*base, str(cfg)], "--source: say where the bus is: --source nats://HOST:PORT (or url in [bus])"),
        (
            [*base, str(cfg), "--source", "nats://127.0.0.1:1", "--batch", "0"],
            "--batch: must be >= 1 and < 86400, got 0",
        ),
        (
            [*base, str(cfg), "--source", "nats://u:pw@127.0.0.1:1"],
            "--source: use nats://HOST:PORT or tls://HOST:PORT with no password in it (nats://127.0.0.1:1)",
        ),
    ]
    for argv, message in cases:
        assert run_cli(capsys, *argv) == (2, "", f"liqwatch: error: {message}\n")


def test_an_alert_is_acked_only_once_its_channel_confirmed(nats_server: NatsServer) -> None:
    """While the webhook answers 500 the dispatcher keeps the alerts unacknowledged (past the
    1-second ack wait); once it answers, each is delivered once and acknowledged; the failures are
    the `watch` event lines, with no secret path."""
    import io

    import nats

    from liqwatch.alerts.channels.webhook import WebhookNotifier
    from liqwatch.bus.dispatch import BusDispatcher

    init(nats_server.url)

    async def ack_pending(js: object) -> int:
        info = await js.consumer_info("LIQ_ALERT", "dispatch")  # type: ignore[attr-defined]
        return int(info.num_ack_pending or 0)

    async def go() -> tuple[list[str], str]:
        out = io.StringIO()
        async with receiver() as rec:
            rec.fail = True
            await publish(nats_server.url, 0, 5)
            nc = await nats.connect(nats_server.url)
            js = nc.jetstream()
            worker = BusDispatcher(
                js, [WebhookNotifier(f"{rec.url}/hook/SECRET", timeout=2)], ack_wait=1.0, out=out, retry_initial=0.05
            )
            stop = asyncio.Event()
            task = asyncio.create_task(worker.run(stop))
            try:
                await until(lambda: rec.attempts >= 6)  # failing for ~3 s, past the 1 s ack wait
                assert await ack_pending(js) == 5 and rec.hits == []
                rec.fail = False
                await until(lambda: len(rec.hits) >= 5)

                async def all_acked() -> bool:
                    return await ack_pending(js) == 0

                await until(all_acked)
            finally:
                stop.set()
                await task
                await nc.close()
            assert worker.acked == 5
            return [a["id"] for a in rec.alerts()], out.getvalue()

    delivered, lines = asyncio.run(go())
    assert sorted(delivered) == [f"alert-{n}" for n in range(5)]
    records = [orjson.loads(line) for line in lines.splitlines()]
    assert records and all(r["kind"] == "alert_delivery_failed" for r in records)
    assert "SECRET" not in lines
