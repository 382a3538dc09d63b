"""One exception tree: every error Earshot raises on purpose is defined in
``earshot.errors``, derives from ``EarshotError``, and no two share a name."""

from __future__ import annotations

import ast
from pathlib import Path

import earshot
import earshot.errors as errors

SRC = Path(earshot.__file__).parent
# Control flow of the front ends, never raised to a library user.
FRONT_END = {"_UserError", "LoginRequiredError"}


def _exception_classes() -> dict[str, list[str]]:
    """Class name -> modules defining it, for every class that derives from an exception."""
    found: dict[str, list[str]] = {}
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ClassDef):
                continue
            bases = [
                b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases
            ]
            if any(b.endswith(("Error", "Exception")) for b in bases):
                found.setdefault(node.name, []).append(str(path.relative_to(SRC)))
    return found


def test_every_error_lives_in_earshot_errors() -> None:
    found = _exception_classes()
    elsewhere = {
        name: where
        for name, where in found.items()
        if name not in FRONT_END and where != ["errors.py"]
    }
    assert not elsewhere, f"define these in earshot/errors.py: {elsewhere}"
    assert all(len(where) == 1 for where in found.values()), "two classes share a name"


def test_the_tree_is_exported_and_rooted() -> None:
    names = errors.__all__
    assert len(names) == len(set(names))
    assert {name for name in _exception_classes() if name not in FRONT_END} == set(names)
    for name in names:
        cls = getattr(errors, name)
        assert issubclass(cls, errors.EarshotError), name
        assert cls.__module__ == "earshot.errors", name
        assert cls.__doc__, f"{name} says when it is raised"
