"""The risk core stays pure: it imports only the standard library's computational modules and
itself — no I/O, no pydantic, no ccxt, Textual or websockets."""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "liqwatch" / "core"
# gc and contextlib: the shock pauses the cyclic collector while it builds its records (no I/O).
ALLOWED = {"__future__", "bisect", "collections", "contextlib", "dataclasses", "gc", "math", "re", "typing", "liqwatch"}


def test_core_imports_only_pure_modules() -> None:
    offenders = []
    for path in sorted(CORE.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top not in ALLOWED or (top == "liqwatch" and not name.startswith("liqwatch.core")):
                    offenders.append(f"{path.relative_to(CORE.parent.parent)}: {name}")
    assert offenders == []


def test_core_does_no_io() -> None:
    banned = {"open", "print", "input", "exec", "eval", "__import__"}
    for path in sorted(CORE.rglob("*.py")):
        tree = ast.parse(path.read_text())
        calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
        assert not (calls & banned), (path, calls & banned)
