"""The test suite never touches the user's own liqwatch files (issue #20, point 2).

* Every test runs with HOME, the XDG homes (config, cache, data, state) and every ``LIQWATCH_*``
  directory override pointing into its own temporary directory (:func:`isolated_dirs`, autouse),
  so the processes a test starts inherit them too.
* The user's real liqwatch directories (as the environment of the pytest process names them when
  the session starts) are listed before the first test; after each test and at the end of the
  session they are listed again. A test that wrote under them errors, naming the path, and the
  session fails (non-zero exit status) with a clear line.

``tests/conftest.py`` imports these hooks and the fixture; ``python -m pytest -p tests.isolation``
loads them into any other session (the test of this guard does).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

DIR_VARS = ("LIQWATCH_CONFIG_DIR", "LIQWATCH_CACHE_DIR", "LIQWATCH_DATA_DIR", "LIQWATCH_STATE_DIR")
"""liqwatch's own directory overrides (config + dashboard settings, tier cache, market history,
alert state)."""
XDG_VARS = ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME")

Listing = dict[str, tuple[int, int] | None]


def real_dirs(environ: dict[str, str] | os._Environ[str] | None = None) -> list[Path]:
    """Every directory the user's liqwatch may write, as ``environ`` names them: the XDG rule
    (what liqwatch uses on Linux), platformdirs' answer (what it uses elsewhere) and any
    ``LIQWATCH_*_DIR`` override set in the user's shell."""
    env = os.environ if environ is None else environ
    home = Path(env.get("HOME") or Path.home())
    found: list[Path] = []
    for var, default in zip(XDG_VARS, (".config", ".cache", ".local/share", ".local/state"), strict=True):
        base = (env.get(var) or "").strip()
        found.append((Path(base) if base else home / default) / "liqwatch")
    if sys.platform != "linux":
        import platformdirs

        found += [
            platformdirs.user_config_path("liqwatch"),
            platformdirs.user_cache_path("liqwatch"),
            platformdirs.user_data_path("liqwatch"),
            platformdirs.user_state_path("liqwatch"),
        ]
    found += [Path(env[var]).expanduser() for var in DIR_VARS if env.get(var)]
    return list(dict.fromkeys(found))


def listing(dirs: list[Path]) -> Listing:
    """Every file and directory under ``dirs`` with its (mtime_ns, size); a missing dir as None."""
    out: Listing = {}
    for root in dirs:
        if not root.exists():
            out[str(root)] = None
            continue
        out[str(root)] = (root.stat().st_mtime_ns, 0)
        for dirpath, dirnames, filenames in os.walk(root):
            for name in dirnames + filenames:
                path = os.path.join(dirpath, name)
                try:
                    st = os.lstat(path)
                except OSError:
                    continue
                out[path] = (st.st_mtime_ns, st.st_size)
    return out


def changed(before: Listing, after: Listing) -> list[str]:
    """The paths created, modified or removed between two listings."""
    return sorted(path for path in before.keys() | after.keys() if before.get(path) != after.get(path))


@dataclass
class _Guard:
    dirs: list[Path] = field(default_factory=list)
    start: Listing = field(default_factory=dict)
    last: Listing = field(default_factory=dict)
    offenders: list[str] = field(default_factory=list)
    """The tests after which a write was first seen."""


_GUARD = _Guard()


def pytest_sessionstart(session: pytest.Session) -> None:
    dirs = real_dirs()
    _GUARD.dirs, _GUARD.offenders = dirs, []
    _GUARD.start = _GUARD.last = listing(dirs)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    paths = changed(_GUARD.start, listing(_GUARD.dirs))
    if not paths:
        return
    message = (
        "liqwatch test isolation: the suite wrote under the user's real liqwatch directories: "
        + ", ".join(paths[:5])
        + (f" (+{len(paths) - 5} more)" if len(paths) > 5 else "")
        + (f"; first seen after {', '.join(_GUARD.offenders[:3])}" if _GUARD.offenders else "")
    )
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(message, red=True, bold=True)
    else:
        sys.stderr.write(message + "\n")
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(autouse=True)
def isolated_dirs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """HOME, the XDG homes and the LIQWATCH_* dirs of this test, all in one temporary directory;
    after the test, the user's real liqwatch directories must be as they were."""
    root = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(root))
    for var, sub in zip(XDG_VARS, (".config", ".cache", ".local/share", ".local/state"), strict=True):
        monkeypatch.setenv(var, str(root / sub))
    for var in DIR_VARS:
        monkeypatch.setenv(var, str(root / "liqwatch" / var.removeprefix("LIQWATCH_").removesuffix("_DIR").lower()))
    yield root
    if not _GUARD.dirs:
        return  # loaded without the session hooks
    now = listing(_GUARD.dirs)
    paths = changed(_GUARD.last, now)
    _GUARD.last = now
    if paths:
        _GUARD.offenders.append(request.node.nodeid)
        pytest.fail(f"wrote under the user's real liqwatch directories: {', '.join(paths[:5])}", pytrace=False)
