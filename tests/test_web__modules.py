"""The web app's modules use each other only through public names, and import each other
without cycles (shared helpers live in crisisflow.web.guards and incident_page)."""

from __future__ import annotations

import ast
from pathlib import Path

import crisisflow

WEB = Path(crisisflow.__file__).parent / "web"


def modules() -> dict[str, ast.Module]:
    found = {}
    for path in sorted(WEB.rglob("*.py")):
        name = ".".join(("crisisflow", *path.relative_to(WEB.parent).with_suffix("").parts))
        found[name.removesuffix(".__init__")] = ast.parse(path.read_text(), str(path))
    return found


def imported_modules(tree: ast.Module) -> dict[str, str]:
    """Local name → the crisisflow module it is bound to, for `import` and `from … import`."""
    bound = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("crisisflow"):
            for alias in node.names:
                bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("crisisflow"):
                    bound[alias.asname or alias.name] = alias.name
    return bound


def test_no_module_uses_another_modules_private_names():
    offences = []
    for name, tree in modules().items():
        bound = imported_modules(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("crisisflow"):
                offences += [
                    f"{name}: from {node.module} import {a.name}" for a in node.names if a.name.startswith("_")
                ]
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and node.attr != "_meta"  # Django's documented model API
                and isinstance(node.value, ast.Name)
                and node.value.id in bound
            ):
                offences.append(f"{name}: {node.value.id}.{node.attr}")
    assert offences == []


def test_the_web_modules_import_each_other_without_cycles():
    trees = modules()
    graph = {name: set() for name in trees}
    for name, tree in trees.items():
        for node in tree.body:  # module level: what is imported while the module loads
            if isinstance(node, ast.ImportFrom) and node.module:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            graph[name] |= {t for t in targets if t in trees and t != name}

    def cycle_from(start: str, path: list[str]) -> list[str] | None:
        for nxt in graph[path[-1]]:
            if nxt == start:
                return [*path, nxt]
            if nxt not in path:
                found = cycle_from(start, [*path, nxt])
                if found:
                    return found
        return None

    cycles = [c for c in (cycle_from(name, [name]) for name in graph) if c]
    assert cycles == []
