"""The layers hold: interfaces stay thin, packages keep their private names, no import cycles,
and `import cvm` works where `fcntl` does not (Windows)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

SRC = ROOT / "src"
PKG = SRC / "cvm"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in PKG.rglob("*.py") if "migrations" not in p.parts}


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def _imports(module: str) -> list[tuple[str, list[str]]]:
    """(imported module, names) for every import of ``module``, at any depth, outside
    ``if TYPE_CHECKING`` blocks."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = []

    def visit(node):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for sub in child.orelse:
                    visit(sub)
                continue
            if isinstance(child, ast.Import):
                out.extend((a.name, []) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                out.append((base, [a.name for a in child.names]))
            visit(child)

    visit(tree)
    return out


def _top_package(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else module


def test_interfaces_do_not_reach_into_storage_or_engines():
    forbidden = ("sqlalchemy", "duckdb", "cvm.store.tables", "cvm.store.db", "pyspark")
    found = []
    for module in MODULES:
        if module.startswith(("cvm.cli", "cvm.api", "cvm.web")):
            for imported, _ in _imports(module):
                if imported.startswith(forbidden):
                    found.append(f"{module} imports {imported}")
    assert found == []


def test_no_private_name_crosses_a_package():
    """A name starting with _ stays in its package; ``cvm._x`` modules are the shared helpers."""
    found = []
    for module in MODULES:
        home = _top_package(module)
        for imported, names in _imports(module):
            if not imported.startswith("cvm.") or _top_package(imported) == home:
                continue
            if _top_package(imported).startswith("cvm._"):
                continue  # the root's shared helper modules (cvm._time, cvm._json, ...)
            private_module = any(p.startswith("_") for p in imported.split(".")[2:])
            private_names = [n for n in names if n.startswith("_")]
            if private_module or private_names:
                found.append(f"{module}: from {imported} import {', '.join(names)}")
    assert found == []


def _resolve(imported: str, names: list[str]) -> list[str]:
    """The cvm modules an import statement loads by name (a submodule named in a from-import
    counts as that module)."""
    hits = []
    for n in names:
        if f"{imported}.{n}" in MODULES:
            hits.append(f"{imported}.{n}")
    if imported in MODULES and len(hits) < max(len(names), 1):
        hits.append(imported)
    return hits


def test_no_import_cycle():
    graph = {m: sorted({t for imp, names in _imports(m) if imp.startswith("cvm")
                        for t in _resolve(imp, names) if t != m}) for m in MODULES}
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def strongconnect(v):  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                strongconnect(w)
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
                cycles.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in graph:
        if v not in index:
            strongconnect(v)
    assert cycles == []


def test_import_cvm_without_fcntl(tmp_path):
    """On Windows there is no fcntl: importing cvm and opening a workspace must still work."""
    code = ("import sys; sys.modules['fcntl'] = None\n"
            "import cvm\n"
            "ws = cvm.Workspace.init(sys.argv[1])\n"
            "print('ok')\n")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path / "w")],
                          capture_output=True, text=True, env={"PYTHONPATH": str(SRC)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


@pytest.mark.parametrize("facade", ["value", "clv", "survey", "churn", "scoring",
                                    "opportunities", "cases", "service", "campaign"])
def test_each_capability_is_a_lazy_facade(tmp_path, facade):
    from cvm import Workspace

    ws = Workspace.init(tmp_path / "w")
    assert facade not in vars(ws)  # built on first use
    first = getattr(ws, facade)
    assert getattr(ws, facade) is first
    assert type(first).__module__ == f"cvm.{facade}.facade"
