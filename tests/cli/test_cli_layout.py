"""The cli package: no import cycles, one scenario table behind calc's flags and its output."""

from __future__ import annotations

import argparse
import ast
import importlib
import subprocess
import sys
from pathlib import Path

from liqwatch.cli.whatif import RENDER
from liqwatch.scenarios import SCENARIOS

ROOT = Path(__file__).resolve().parents[2]
CLI = ROOT / "liqwatch" / "cli"


def _cli_imports(path: Path) -> set[str]:
    """The liqwatch.cli modules ``path`` imports, at module level or inside functions."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("liqwatch.cli"):
            if node.module == "liqwatch.cli":
                out.update(f"liqwatch.cli.{alias.name}" for alias in node.names)
                out.add("liqwatch.cli")
            else:
                out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("liqwatch.cli"))
    return out


def _module(path: Path) -> str:
    return "liqwatch.cli" if path.stem == "__init__" else f"liqwatch.cli.{path.stem}"


def test_cli_modules_have_no_import_cycle() -> None:
    # __main__ (``python -m liqwatch.cli``) is an entry point that nothing imports
    graph = {_module(p): _cli_imports(p) - {_module(p)} for p in sorted(CLI.glob("*.py")) if p.stem != "__main__"}
    # only the package's __init__ (the dispatcher) imports from "liqwatch.cli" itself
    assert [m for m, deps in graph.items() if m != "liqwatch.cli" and "liqwatch.cli" in deps] == []
    seen: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, f"import cycle: {' -> '.join((*path, module))}"
        if module in seen:
            return
        for dep in graph.get(module, set()):
            if dep != "liqwatch.cli" or module == "liqwatch.cli":
                visit(dep, (*path, module))
        seen.add(module)

    for module in graph:
        if module != "liqwatch.cli":
            visit(module, ())


def test_each_cli_module_imports_alone() -> None:
    names = [_module(p) for p in sorted(CLI.glob("*.py")) if p.stem != "__main__"]
    code = "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)\n"
    for name in names:  # each in a fresh interpreter: an import cycle fails as an ImportError there
        subprocess.run([sys.executable, "-c", code, name], cwd=ROOT, check=True, capture_output=True)
    for name in names:
        importlib.import_module(name)


def test_every_scenario_has_flags_output_and_a_record() -> None:
    from liqwatch.cli import build_parser

    assert set(RENDER) == set(SCENARIOS)
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    calc = sub.choices["calc"]
    flags = {opt for action in calc._actions for opt in action.option_strings}
    for scenario in SCENARIOS.values():
        assert {p.flag for p in scenario.params} <= flags
        assert callable(scenario.compute) and callable(scenario.record)
