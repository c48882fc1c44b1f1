"""nats is loaded only where the bus is used: never by the core, calc or a watch without the bus."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import io, sys, asyncio, pkgutil, importlib
import liqwatch.core
for mod in pkgutil.walk_packages(liqwatch.core.__path__, "liqwatch.core."):
    importlib.import_module(mod.name)
import liqwatch.config, liqwatch.sinks, liqwatch.bus.names, liqwatch.bus.args
from liqwatch.cli import build_parser
from liqwatch.watch import run_watch
args = build_parser().parse_args(["watch", "--demo", "--once", "--no-market"])
asyncio.run(run_watch(args, io.StringIO()))
print(",".join(sorted(m for m in sys.modules if m == "nats" or m.startswith("nats."))))
"""


@pytest.mark.slow
def test_the_core_config_and_a_watch_without_the_bus_never_import_nats() -> None:
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
