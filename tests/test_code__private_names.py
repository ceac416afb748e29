"""No module of the product reaches into another module's private names.

A name with a leading underscore is a module's own business; when a second module needs
it, it has earned a public home (crisisflow.incidents.unit, .inputs, .permissions,
crisisflow.web's guards…). This reads every module under crisisflow/ (not migrations)
and fails on `from crisisflow.x import _name` and on `x._name` where `x` was imported
from crisisflow.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "crisisflow"
# Django's documented model API happens to start with an underscore.
DJANGO_API = {"_meta", "_default_manager", "_base_manager", "_state"}


def private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__") and name not in DJANGO_API


def reaches_into_private(source: str, filename: str) -> list[str]:
    tree = ast.parse(source, filename)
    imported: set[str] = set()  # local names bound to something from crisisflow
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("crisisflow"):
            for alias in node.names:
                if private(alias.name):
                    found.append(f"{filename}:{node.lineno}: imports {node.module}.{alias.name}")
                imported.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("crisisflow"):
                    imported.add(alias.asname or alias.name.split(".")[0])
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and private(node.attr)
            and isinstance(node.value, ast.Name)
            and node.value.id in imported
        ):
            found.append(f"{filename}:{node.lineno}: uses {node.value.id}.{node.attr}")
    return found


def test_the_checker_catches_both_forms():
    source = (
        "from crisisflow.incidents.actions import _lock\nfrom crisisflow.web import views\nviews._incident_for(1)\n"
    )
    assert reaches_into_private(source, "x.py") == [
        "x.py:1: imports crisisflow.incidents.actions._lock",
        "x.py:3: uses views._incident_for",
    ]
    assert reaches_into_private("from crisisflow.incidents.models import Event\nEvent._meta\n", "y.py") == []


def test_no_module_imports_another_modules_private_names():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        found += reaches_into_private(path.read_text(encoding="utf-8"), str(path.relative_to(PACKAGE.parent)))
    assert found == []
