"""getsh's own import graph, and its uses of private names, read from the source with ``ast``: every
import, at module level, inside functions and under ``TYPE_CHECKING`` alike (a cycle hidden behind
any of them is still a cycle).

``from pkg import name`` is an edge to the submodule ``pkg.name`` when there is one, else to ``pkg``
(its ``__init__``). Importing ``a.b.c`` from outside ``a.b`` runs ``a.b``'s ``__init__`` first, so it
is an edge to that package too; from inside it, the package is already being imported and it is not.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent.parent / "getsh"


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # the getsh module it imports
    line: int


def modules(root: Path = PACKAGE_ROOT) -> dict[str, Path]:
    """Dotted name → file, for every module and package of getsh."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports(root: Path = PACKAGE_ROOT) -> Iterator[Import]:
    known = modules(root)
    for name, path in known.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: resolve against the package
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
            else:
                continue
            for target in targets:
                for one in (target, *_outer_packages(target, name)):
                    if one in known and one != name:
                        yield Import(name, one, node.lineno)


def _outer_packages(target: str, importer: str) -> list[str]:
    """The packages above ``target`` whose ``__init__`` runs first: those ``importer`` is not inside."""
    parts = target.split(".")
    parents = [".".join(parts[:n]) for n in range(2, len(parts))]  # below "getsh" itself
    return [p for p in parents if not (importer == p or importer.startswith(p + "."))]


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
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

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def private_uses(root: Path = PACKAGE_ROOT) -> list[str]:
    """Uses of another module's private name (``_x``): imported by name, or read as an attribute
    (``obj._x``, not through ``self``/``cls``) where only another getsh module defines ``_x``."""
    trees = {name: ast.parse(path.read_text(encoding="utf-8"), str(path)) for name, path in modules(root).items()}
    owners: dict[str, set[str]] = {}
    for name, tree in trees.items():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and _private(node.name):
                owners.setdefault(node.name, set()).add(name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) and _private(node.attr):
                owners.setdefault(node.attr, set()).add(name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and _private(node.id):
                owners.setdefault(node.id, set()).add(name)
    found = []
    for name, tree in trees.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("getsh"):
                found += [f"{name}:{node.lineno} imports {node.module}.{a.name}"
                          for a in node.names if _private(a.name)]
            elif isinstance(node, ast.Attribute) and _private(node.attr):
                if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                    continue
                where = owners.get(node.attr, set())
                if where and name not in where:
                    owner = ", ".join(sorted(where))
                    found.append(f"{name}:{node.lineno} reads {ast.unparse(node)} (private to {owner})")
    return found
