"""No import circles in liqwatch: sources -> state -> sinks reads one way.

Every ``import`` under ``liqwatch/`` counts: module level, inside functions and under
``if TYPE_CHECKING:`` (a type-only import is still a dependency a reader has to follow).

Package ``__init__`` modules: importing ``liqwatch.venues.binance`` runs
``liqwatch/venues/__init__.py`` first, so an import of a module is also an edge to each of its
parent packages — except the packages that contain the importing module itself (Python has
already started running those before the importer's first line, so that edge adds no order). An
explicit import of a package (``from liqwatch.venues import get_home``) is always an edge, even
from inside that package.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "liqwatch"


def _module_name(path: Path) -> tuple[str, bool]:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts.pop()
    return ".".join(parts), is_package


def _ancestors(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool, known: set[str]) -> list[str]:
    """The liqwatch modules one import statement names explicitly."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names if alias.name in known]
    if node.level:  # relative: resolve against the importer's package
        base = module.split(".")
        if not is_package:
            base.pop()
        base = base[: len(base) - (node.level - 1)]
        source = ".".join([*base, node.module] if node.module else base)
    else:
        source = node.module or ""
    if source not in known:
        return []
    out = []
    for alias in node.names:
        sub = f"{source}.{alias.name}"
        out.append(sub if sub in known else source)  # ``from pkg import submodule`` imports the submodule
    return out


def import_graph() -> dict[str, set[str]]:
    files = {path: _module_name(path) for path in sorted(PACKAGE.rglob("*.py"))}
    known = {name for name, _ in files.values()}
    graph: dict[str, set[str]] = {name: set() for name in known}
    for path, (module, is_package) in files.items():
        own = set(_ancestors(module)) | ({module} if is_package else set())
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for target in _imported(node, module, is_package, known):
                graph[module].add(target)
                graph[module].update(p for p in _ancestors(target) if p not in own)
        graph[module].discard(module)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


def one_loop(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """A concrete circle inside ``component``: start -> ... -> start."""
    members = set(component)
    start = component[0]
    parents: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v] & members):
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(parents[path[-1]])
                    return [start, *reversed(path[:-1]), start] if v != start else [start, start]
                if w not in parents:
                    parents[w] = v
                    nxt.append(w)
        frontier = nxt
    return component


def test_the_graph_sees_every_kind_of_import() -> None:
    graph = import_graph()
    assert "liqwatch.core.engine" in graph["liqwatch.state"]  # module level
    assert "liqwatch.scenarios" in graph["liqwatch.cli.common"]  # inside a function
    assert "liqwatch.views" in graph["liqwatch.records"]  # under ``if TYPE_CHECKING:``
    assert "liqwatch.venues.binance" in graph["liqwatch.venues"]  # ``from pkg import submodule``
    # importing liqwatch.feeds.account runs liqwatch/feeds/__init__.py too ...
    assert {"liqwatch.feeds.account", "liqwatch.feeds"} <= graph["liqwatch.config"]
    # ... but a module's own packages are already running when it starts
    assert "liqwatch.venues" not in graph["liqwatch.venues.binance.rest"]
    assert "liqwatch" not in graph["liqwatch.state"]


def test_the_helpers_find_a_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert one_loop(graph, ["a", "b", "c"]) == ["a", "b", "c", "a"]


def test_no_import_cycles() -> None:
    graph = import_graph()
    found = cycles(graph)
    report = [
        f"{len(component)} modules: {', '.join(component)}\n    e.g. {' -> '.join(one_loop(graph, component))}"
        for component in found
    ]
    assert not found, "import circles:\n" + "\n".join(report)
