"""``make desk-demo``: a desk on one machine (issue #22).

Starts a local ``nats-server`` from the venv (127.0.0.1, a free port, its store in a temporary
directory), runs ``liqwatch bus init``, three ``liqwatch watch --demo`` shards in three groups
(``desk-a``, ``desk-b``, ``desk-c``, each its own seed) publishing on it, and the dashboard on the
bus (``liqwatch --source URL``). When the dashboard quits (or on SIGINT/SIGTERM) it stops every
process it started, by PID, and removes the temporary directory.

``--headless``: instead of the dashboard, ``liqwatch watch --source URL --once`` once every group's
accounts are on the bus (for tests and CI); ``--keep-running`` with it: wait for a signal first.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType

GROUPS = ("desk-a", "desk-b", "desk-c")
READY_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def say(text: str) -> None:
    sys.stderr.write(f"desk-demo: {text}\n")
    sys.stderr.flush()


class Desk:
    def __init__(self, work: Path) -> None:
        self.work = work
        self.port = free_port()
        self.url = f"nats://127.0.0.1:{self.port}"
        self.procs: list[subprocess.Popen[bytes]] = []

    def spawn(self, argv: list[str], log: str | None) -> subprocess.Popen[bytes]:
        out = (self.work / log).open("ab") if log else None
        try:
            proc: subprocess.Popen[bytes] = subprocess.Popen(
                argv, stdout=out, stderr=subprocess.STDOUT if out else None
            )
        finally:
            if out is not None:
                out.close()
        self.procs.append(proc)
        return proc

    def liqwatch(self, *args: str) -> list[str]:
        return [str(BIN / "liqwatch"), *args]

    def start(self) -> None:
        server = BIN / "nats-server"
        if not server.exists():
            raise SystemExit(f"desk-demo: {server} not found: run `make .venv/.liqwatch-installed` first")
        store = self.work / "store"
        store.mkdir()
        self.spawn([str(server), "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(store)], "nats-server.log")
        deadline = time.monotonic() + READY_TIMEOUT
        while True:  # bus init answers once JetStream is up (polled, no fixed wait)
            init = subprocess.run(self.liqwatch("bus", "init", self.url), check=False, capture_output=True, text=True)
            if init.returncode == 0:
                break
            if time.monotonic() > deadline or self.procs[0].poll() is not None:
                raise SystemExit(f"desk-demo: nats-server did not come up: {init.stderr.strip()}")
            time.sleep(0.1)
        say(f"nats-server on {self.url} (store {store})")
        for seed, group in enumerate(GROUPS, start=7):
            self.spawn(
                self.liqwatch(
                    "watch", "--demo", "--seed", str(seed), "--no-market", "--quiet",
                    "--publish", self.url, "--group", group, "--replica", "r1",
                ),
                f"watch-{group}.log",
            )  # fmt: skip
            say(f"watcher {group} publishing (log {self.work / f'watch-{group}.log'})")

    def wait_groups(self) -> None:
        """Until every group's accounts are on the bus (``watch --source --once`` sees them)."""
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            once = subprocess.run(
                self.liqwatch("watch", "--source", self.url, "--once"), check=False, capture_output=True
            )
            seen = {json.loads(line).get("group", "") for line in once.stdout.splitlines() if line.strip()}
            if set(GROUPS) <= seen:
                return
            time.sleep(0.2)
        raise SystemExit("desk-demo: the watchers published nothing in time (see their logs)")

    def stop(self) -> None:
        """Every process started, newest first: SIGTERM, then SIGKILL after :data:`STOP_TIMEOUT`."""
        for proc in reversed(self.procs):
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGTERM)
        for proc in reversed(self.procs):
            try:
                proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
        self.procs = []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--headless", action="store_true", help="print the bus once instead of the dashboard")
    parser.add_argument("--keep-running", action="store_true", help="with --headless: then wait for a signal")
    args = parser.parse_args(argv)

    def on_signal(signum: int, _: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    work = Path(tempfile.mkdtemp(prefix="liqwatch-desk-"))
    desk = Desk(work)
    try:
        desk.start()
        if args.headless:
            desk.wait_groups()
            sys.stdout.write(f"url {desk.url}\npids {' '.join(str(p.pid) for p in desk.procs)}\n")
            sys.stdout.flush()
            once = subprocess.run(desk.liqwatch("watch", "--source", desk.url, "--once"), check=False)
            if args.keep_running:
                signal.pause()
            return once.returncode
        dash = subprocess.run(desk.liqwatch("--source", desk.url), check=False)
        return dash.returncode
    except KeyboardInterrupt:
        return 130
    finally:
        desk.stop()
        import shutil

        shutil.rmtree(work, ignore_errors=True)
        say("stopped everything it started")


if __name__ == "__main__":
    sys.exit(main())
