"""``liqwatch bus init URL`` against a real nats-server (issue #22)."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from liqwatch.cli import main
from tests.bus.conftest import NatsServer, free_port, server_binary


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


async def _streams(url: str) -> dict[str, tuple[list[str], float, int, bool]]:
    import nats

    nc = await nats.connect(url, allow_reconnect=False, max_reconnect_attempts=1)
    try:
        js = nc.jetstream()
        out = {}
        for name in ("LIQ_SNAP", "LIQ_ALERT", "LIQ_EVENT", "KV_liqwatch_claims", "KV_liqwatch_presence"):
            c = (await js.stream_info(name)).config
            out[name] = (
                sorted(c.subjects or []),
                float(c.duplicate_window or 0),
                int(c.max_msgs_per_subject or 0),
                bool(c.allow_direct),
            )
        return out
    finally:
        await nc.close()


def test_init_creates_streams_and_buckets_then_changes_nothing(
    nats_server: NatsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "bus", "init", nats_server.url)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[:5] == [
        "stream LIQ_SNAP: created (liqwatch.snapshot.>, liqwatch.market.>)",
        "stream LIQ_ALERT: created (liqwatch.alert.>)",
        "stream LIQ_EVENT: created (liqwatch.event.>)",
        "kv liqwatch_claims: created",
        "kv liqwatch_presence: created",
    ]
    assert lines[5].startswith("bus init: 5 of 5 created or updated")
    streams = asyncio.run(_streams(nats_server.url))
    assert streams["LIQ_SNAP"] == (["liqwatch.market.>", "liqwatch.snapshot.>"], 120.0, 10, True)
    assert streams["LIQ_ALERT"][:2] == (["liqwatch.alert.>"], 120.0)
    assert streams["LIQ_EVENT"][0] == ["liqwatch.event.>"]

    code, again, err = run(capsys, "bus", "init", nats_server.url)
    assert (code, err) == (0, "")
    assert all(line.endswith(": unchanged") for line in again.splitlines()[:5])
    assert again.splitlines()[5] == (
        f"bus init: nothing to change on {nats_server.url} (every stream and bucket already as needed)"
    )
    assert asyncio.run(_streams(nats_server.url)) == streams


def test_init_on_an_unreachable_server_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"nats://127.0.0.1:{free_port()}"
    code, out, err = run(capsys, "bus", "init", url)
    assert code == 2 and out == ""
    assert err.count("\n") == 1
    assert err.startswith(f"liqwatch: error: bus init: cannot reach the NATS server at {url} (")


def test_init_without_jetstream_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    binary = server_binary()
    if binary is None:
        pytest.skip("nats-server is not installed")
    server = NatsServer(binary, tmp_path, tmp_path / "log")
    server.proc = subprocess.Popen(
        [str(binary), "-a", "127.0.0.1", "-p", str(server.port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # polled until it listens (no fixed sleep)
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", server.port)) == 0:
                    break
        code, out, err = run(capsys, "bus", "init", server.url)
    finally:
        server.stop()
    assert code == 2 and out == ""
    assert err == (
        f"liqwatch: error: bus init: the NATS server at {server.url} has no JetStream; "
        "start it with -js (or jetstream {} in its config)\n"
    )


def test_a_password_in_the_url_is_refused_and_never_echoed(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "bus", "init", "nats://desk:hunter22@127.0.0.1:4222")
    assert code == 2 and out == ""
    assert "hunter22" not in err
    assert err == "liqwatch: error: bus init: url: no password in the URL: set user and password_env (or keyring)\n"


SERVER_USERS = """
authorization {
  users = [
    {user: admin, password: admin-pw}
    {user: watcher, password: watcher-pw, permissions: {publish: "liqwatch.>", subscribe: "_INBOX.>"}}
  ]
}
"""


@pytest.fixture
def secured_server(tmp_path: Path) -> Iterator[NatsServer]:
    binary = server_binary()
    if binary is None:
        pytest.skip("nats-server is not installed")
    conf = tmp_path / "server.conf"
    conf.write_text(SERVER_USERS)
    store = tmp_path / "store"
    store.mkdir()
    server = NatsServer(binary, store, tmp_path / "log", ("-c", str(conf)))
    server.admin = {"user": "admin", "password": "admin-pw"}
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_init_with_a_wrong_password_is_one_line_without_the_password(
    secured_server: NatsServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BUS_PW", "not-the-password")
    code, out, err = run(capsys, "bus", "init", secured_server.url, "--user", "admin", "--password-env", "BUS_PW")
    assert (code, out) == (2, "")
    assert err.startswith(
        f"liqwatch: error: bus init: the NATS server at {secured_server.url} refused the credentials ("
    )
    assert err.count("\n") == 1 and "not-the-password" not in err


def test_init_without_jetstream_rights_says_it_needs_them(
    secured_server: NatsServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BUS_PW", "watcher-pw")
    code, out, err = run(capsys, "bus", "init", secured_server.url, "--user", "watcher", "--password-env", "BUS_PW")
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and "watcher-pw" not in err
    assert err.startswith(f"liqwatch: error: bus init: the JetStream API at {secured_server.url} did not answer (")
    assert err.rstrip().endswith("`bus init` needs JetStream admin rights")


def test_init_as_admin_on_a_secured_server(
    secured_server: NatsServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BUS_PW", "admin-pw")
    code, out, err = run(capsys, "bus", "init", secured_server.url, "--user", "admin", "--password-env", "BUS_PW")
    assert (code, err) == (0, "")
    assert out.splitlines()[-1].startswith("bus init: 5 of 5 created or updated")
