"""The suite never reads or writes the user's own liqwatch files (issue #20, point 2): every dir
liqwatch uses is a temporary one in every test, and a session that wrote under the real ones fails."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from liqwatch.alerts.store import default_store_path
from liqwatch.config import default_config_path
from liqwatch.market.history import data_dir as history_dir
from liqwatch.tiercache import cache_dir
from liqwatch.tui.settings import settings_path
from tests.isolation import real_dirs

ROOT = Path(__file__).resolve().parent.parent


def test_every_liqwatch_dir_of_a_test_is_under_its_temporary_home(isolated_dirs: Path) -> None:
    home = isolated_dirs
    assert Path.home() == home
    for path in (default_store_path(), default_config_path(), settings_path(), cache_dir(), history_dir()):
        assert path.is_relative_to(home), path
    assert default_store_path() == Path(os.environ["LIQWATCH_STATE_DIR"]) / "alerts.json"
    assert default_config_path() == Path(os.environ["LIQWATCH_CONFIG_DIR"]) / "config.toml"
    # a process a test starts inherits them
    code = "from liqwatch.alerts.store import default_store_path as p; print(p())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert Path(out.stdout.strip()).is_relative_to(home)


def test_without_overrides_the_xdg_rule_decides(monkeypatch: pytest.MonkeyPatch, isolated_dirs: Path) -> None:
    monkeypatch.delenv("LIQWATCH_STATE_DIR")
    monkeypatch.delenv("LIQWATCH_CONFIG_DIR")
    if sys.platform == "linux":
        assert default_store_path() == isolated_dirs / ".local" / "state" / "liqwatch" / "alerts.json"
        assert default_config_path() == isolated_dirs / ".config" / "liqwatch" / "config.toml"
    assert set(real_dirs()) >= {default_store_path().parent, default_config_path().parent}


INNER = """
import os
from pathlib import Path


def test_writes_the_alert_state() -> None:
    path = Path(os.environ["LW_OUTER_STATE"])
    path.mkdir(parents=True, exist_ok=True)
    (path / "alerts.json").write_text("{}")


def test_clean() -> None:
    assert Path.home() != Path(os.environ["LW_OUTER_HOME"])
"""


@pytest.mark.slow
def test_a_session_that_writes_under_the_real_dirs_fails(tmp_path: Path) -> None:
    """An inner pytest session with the guard (``-p tests.isolation``): its "real" dirs are this
    test's temporary ones. A test writing the alert state there errors, and the session fails."""
    (tmp_path / "test_inner.py").write_text(INNER)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    env = {**os.environ, "LW_OUTER_STATE": os.environ["LIQWATCH_STATE_DIR"], "LW_OUTER_HOME": os.environ["HOME"]}
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # the inner tests need no plugin but the guard: a second less each

    def inner(*select: str) -> subprocess.CompletedProcess[str]:
        args = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.isolation", "--rootdir", str(tmp_path)]
        return subprocess.run(
            [sys.executable, *args, *select],
            check=False,
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            timeout=120,
        )

    clean = inner(str(tmp_path / "test_inner.py") + "::test_clean")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    dirty = inner(str(tmp_path / "test_inner.py"))
    assert dirty.returncode != 0
    state = os.environ["LIQWATCH_STATE_DIR"]
    assert "wrote under the user's real liqwatch directories" in dirty.stdout
    assert f"{state}/alerts.json" in dirty.stdout
    assert "test_inner.py::test_writes_the_alert_state" in dirty.stdout  # named at the end too


def test_the_guard_holds_with_two_xdist_workers(tmp_path: Path) -> None:
    """`make test` runs the suite in two pytest-xdist workers: a test writing under the real dirs
    there still errors, and the whole session fails with the guard's line (the controller checks
    the real dirs too). A test running beside it on the other worker may be named as well."""
    pytest.importorskip("xdist")
    (tmp_path / "test_inner.py").write_text(INNER)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    env = {**os.environ, "LW_OUTER_STATE": os.environ["LIQWATCH_STATE_DIR"], "LW_OUTER_HOME": os.environ["HOME"]}
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    args = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.isolation", "-p", "xdist", "-n", "2"]
    dirty = subprocess.run(
        [sys.executable, *args, "--rootdir", str(tmp_path), str(tmp_path / "test_inner.py")],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert dirty.returncode != 0, dirty.stdout + dirty.stderr
    state = os.environ["LIQWATCH_STATE_DIR"]
    assert "ERROR" in dirty.stdout and "test_inner.py::test_writes_the_alert_state" in dirty.stdout
    assert f"liqwatch test isolation: the suite wrote under the user's real liqwatch directories: {state}" in (
        dirty.stdout
    )
    assert f"{state}/alerts.json" in dirty.stdout
