"""``make desk-demo`` (scripts/desk_demo.py) starts a server, three shards and a reader on the bus,
and stops every process it started when it ends (here: on SIGTERM, headless)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bus.conftest import server_binary

ROOT = Path(__file__).resolve().parents[2]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.slow
def test_desk_demo_starts_three_shards_on_its_own_server_and_stops_everything(tmp_path: Path) -> None:
    if server_binary() is None or not Path(sys.executable).with_name("nats-server").exists():
        pytest.skip("nats-server is not installed in the venv")
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "LIQWATCH_CONFIG_DIR": str(tmp_path / "config"),
        "TMPDIR": str(tmp_path),
    }
    for name in ("XDG_STATE_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME"):
        env.pop(name, None)
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "desk_demo.py"), "--headless", "--keep-running"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().split()
        pids = [int(p) for p in proc.stdout.readline().split()[1:]]
        assert url[0] == "url" and url[1].startswith("nats://127.0.0.1:") and len(pids) == 4  # server + 3 shards
        groups: dict[str, set[str]] = {}
        while len(groups) < 3 or any(len(a) < 3 for a in groups.values()):
            record = json.loads(proc.stdout.readline())
            groups.setdefault(record["group"], set()).add(record["accounts"][0]["account"])
        assert set(groups) == {"desk-a", "desk-b", "desk-c"}
        assert all(alive(pid) for pid in pids)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 128 + signal.SIGTERM
        assert not any(alive(pid) for pid in pids)
        assert "desk-demo: stopped everything it started" in (proc.stderr.read() if proc.stderr else "")
        assert not list(tmp_path.glob("liqwatch-desk-*"))  # its store and logs removed
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
