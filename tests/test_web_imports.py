"""The web package's imports: no cycle among web.* modules, and a light `import web.app`.

The graph is read from the source (ast), so an import inside a function counts as
much as one at the top of a module: a cycle that only closes at call time is still
a cycle.  A module also depends on its parent package, whose ``__init__`` runs first
(so ``web/__init__.py`` importing ``web.app`` would put every module web.app needs
on a loop).  Imports under ``if TYPE_CHECKING:`` never run and are left out.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("web", "monitor")
HEAVY = ("scipy", "numpy", "statsmodels", "paho")


def module_files(root: Path, packages=PACKAGES) -> dict[str, Path]:
    """Dotted module name -> source file, for every module of the packages under root."""
    found = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST):
    """Every Import/ImportFrom node, at any depth, except under `if TYPE_CHECKING:`."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def _known(name: str, modules) -> str | None:
    """name if it is a module of the graph, else its nearest enclosing one (or None)."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def import_graph(root: Path = ROOT, packages=PACKAGES) -> dict[str, set[str]]:
    """module -> the modules of the packages it imports (module- and function-level).

    ``from pkg import name`` points at ``pkg.name`` when that is a module, else at
    ``pkg``; every module also points at its parent package.
    """
    files = module_files(root, packages)
    graph: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        parent = name.rpartition(".")[0]
        if parent in files:
            graph[name].add(parent)
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in _imports(tree):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = name.split(".")
                    if not is_package:
                        anchor = anchor[:-1]
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in files else base
                    for alias in node.names
                ]
            for target in targets:
                known = _known(target, files)
                if known and known != name:
                    graph[name].add(known)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def a_cycle(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """One concrete loop through a component, for a readable failure message."""
    members = set(component)
    first = component[0]
    paths = {first: [first]}
    queue = [first]
    while queue:
        node = queue.pop(0)
        for child in sorted(graph[node] & members):
            if child == first:
                return [*paths[node], first]
            if child not in paths:
                paths[child] = [*paths[node], child]
                queue.append(child)
    return component


def test_the_graph_sees_function_level_and_relative_imports(tmp_path):
    pkg = tmp_path / "web"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from web import b\n")
    (pkg / "b.py").write_text("def later():\n    from web.sub import c\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "c.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from web import b\n"
        "def later():\n    from .. import a\n"
    )
    graph = import_graph(tmp_path, ("web",))
    assert graph["web.a"] == {"web", "web.b"}
    assert graph["web.b"] == {"web", "web.sub.c"}
    assert graph["web.sub.c"] == {"web.sub", "web.a"}  # no TYPE_CHECKING; relative resolved
    (loop,) = cycles(graph)
    assert loop == ["web.a", "web.b", "web.sub.c"]
    assert a_cycle(graph, loop) == ["web.a", "web.b", "web.sub.c", "web.a"]


def test_the_graph_sees_a_loop_through_a_package_init(tmp_path):
    """The shape of the loop this test was written against: importing web.server runs
    web/__init__.py, which imported web.app, whose security module imported web.server."""
    pkg = tmp_path / "web"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from web.app import create_app\n")
    (pkg / "app.py").write_text("from web import security\n")
    (pkg / "security.py").write_text("def register():\n    from web.server import is_loopback\n")
    (pkg / "server.py").write_text("import ipaddress\n")
    graph = import_graph(tmp_path, ("web",))
    assert cycles(graph) == [["web", "web.app", "web.security", "web.server"]]


def test_no_import_cycle_among_web_modules():
    graph = import_graph()
    assert "web.security" in graph["web.app"]  # the graph is really read
    web_cycles = [c for c in cycles(graph) if any(m.split(".")[0] == "web" for m in c)]
    assert web_cycles == [], "import cycles: " + "; ".join(
        " -> ".join(a_cycle(graph, c)) for c in web_cycles
    )


def test_the_app_module_does_not_import_the_server():
    graph = import_graph()
    assert "web.server" not in graph["web.app"]
    assert "web.server" not in graph["web.security"]


def test_importing_the_app_stays_light():
    """The dashboard starts without the analysis stack (scipy & co.) or the MQTT client."""
    probe = (
        "import sys, web.app; print(web.app.__file__); "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    where, heavy = result.stdout.splitlines()
    assert Path(where).resolve() == ROOT / "web" / "app.py"  # this checkout's, not an install
    assert heavy == "[]", f"import web.app loaded {heavy}"
