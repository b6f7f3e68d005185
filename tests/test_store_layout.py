"""The data path is visible in the code: SQL lives in monitor/store and nowhere else.

Everything else reaches the database through Store methods, so a schema change is
one package to read and the transaction rules cannot be bypassed by accident.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STORE = ROOT / "monitor" / "store"
APP_DIRS = ("monitor", "web")  # the shipped code
ALL_DIRS = (*APP_DIRS, "bench", "scripts", "examples", "tests")
SQL_CALLS = {"execute", "executemany", "executescript"}
SQL_TEXT = re.compile(
    r"\b(SELECT\b.*\bFROM|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM"
    r"|CREATE\s+(TABLE|INDEX|TRIGGER)|BEGIN\s+IMMEDIATE|PRAGMA\s+\w+)",
    re.DOTALL,
)


def _sources(dirs) -> list[Path]:
    files = []
    for d in dirs:
        files += sorted((ROOT / d).rglob("*.py"))
    return [f for f in files if STORE not in f.parents]


def _where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(ROOT)}:{node.lineno}"


def _name(node: ast.AST) -> str:
    """Dotted text of a Name/Attribute chain, e.g. 'self._store' ('' for anything else)."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _name(node.value)
        return f"{inner}.{node.attr}" if inner else ""
    return ""


@pytest.fixture(scope="module")
def trees() -> dict[Path, ast.Module]:
    return {p: ast.parse(p.read_text(encoding="utf-8"), str(p)) for p in _sources(ALL_DIRS)}


def _app(trees):
    return {p: t for p, t in trees.items() if p.relative_to(ROOT).parts[0] in APP_DIRS}


def test_the_scan_sees_the_code(trees):
    names = {p.relative_to(ROOT).as_posix() for p in trees}
    assert {"monitor/nights.py", "monitor/mqtt/recorder.py", "web/app.py"} <= names
    assert not any(n.startswith("monitor/store/") for n in names)


def test_no_sql_is_executed_outside_monitor_store(trees):
    found = [
        _where(path, node)
        for path, tree in _app(trees).items()
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in SQL_CALLS
    ]
    assert found == []


def test_no_sql_text_or_sqlite_connection_outside_monitor_store(trees):
    found = []
    for path, tree in _app(trees).items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if SQL_TEXT.search(node.value):
                    found.append(_where(path, node))
            elif isinstance(node, ast.Call) and _name(node.func) == "sqlite3.connect":
                found.append(_where(path, node))
    assert found == []


def test_nothing_outside_monitor_store_touches_the_store_connection_or_lock(trees):
    found = []
    for path, tree in trees.items():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Attribute):
                continue
            connection = node.attr in {"conn", "_conn"}
            lock = node.attr in {"lock", "_lock"} and "store" in _name(node.value).lower()
            if connection or lock:
                found.append(_where(path, node))
    assert found == []
