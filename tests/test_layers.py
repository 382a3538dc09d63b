"""Layers import downward only: an ast check over every module of the package.

The order (lowest first) is the one docs/architecture.md draws. A module may import
its own layer and any lower one, at module level, inside functions and under
TYPE_CHECKING alike (a lazy import is still a dependency). Alembic migrations are the
one exception: upgrading old data may need a higher layer's code (the search index is
rebuilt by 0401/0402), and they run only from ``earshot.store.database.migrate``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import earshot

SRC = Path(earshot.__file__).parent

LAYERS: list[set[str]] = [
    # the vocabulary every layer shares: errors, settings, enums, phone numbers
    {"errors", "settings", "vocab", "versions", "phones", "testing_models", "processes"},
    {"security"},
    {"store"},
    {"stages"},  # the contract between the runner and the stages the domains provide
    {"audio"},
    {"speech"},
    {"language"},
    {"search"},
    {"identity"},
    {"ingest"},
    {"analysis"},
    {"publish"},
    {"pipeline"},
    # every change a person makes, with its actor (the application layer); background jobs
    {"edits", "workbench", "jobs"},
    {"web"},
    {"cli", "__main__", "__init__"},  # the front ends and the front door
]
RANK = {name: i for i, layer in enumerate(LAYERS) for name in layer}
EXEMPT = ("store/migrations/",)


def _unit(path: Path) -> str:
    """The layer unit of a module: its top-level package or module name under earshot/."""
    rel = path.relative_to(SRC)
    return rel.parts[0].removesuffix(".py")


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, top-level earshot unit) of every import of an earshot module in `path`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if path.name != "__init__.py":
        package = package[:-1]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "earshot" and len(parts) > 1:
                    found.append((node.lineno, parts[1]))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = [*base, *(node.module.split(".") if node.module else [])]
            else:
                target = (node.module or "").split(".")
            if target[:1] != ["earshot"]:
                continue
            if len(target) > 1:
                found.append((node.lineno, target[1]))
            else:  # from earshot import x / from .. import x
                found.extend((node.lineno, alias.name) for alias in node.names)
    return found


MODULES = sorted(p for p in SRC.rglob("*.py") if not any(e in str(p) for e in EXEMPT))


def test_every_unit_has_a_layer() -> None:
    units = {_unit(p) for p in MODULES}
    assert units - set(RANK) == set(), "add the new package to LAYERS and docs/architecture.md"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_imports_go_downward(path: Path) -> None:
    own = RANK[_unit(path)]
    upward = [
        f"{path.relative_to(SRC)}:{line} imports earshot.{unit}"
        for line, unit in _imports(path)
        if unit in RANK and RANK[unit] > own
    ]
    assert not upward, upward


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    """The checker itself: a store module importing the web layer is caught."""
    fake = SRC / "store" / "_layer_probe.py"
    tree = "from ..web import app\nimport earshot.cli\nfrom earshot import edits\n"
    try:
        fake.write_text(tree, encoding="utf-8")
        assert [u for _, u in _imports(fake)] == ["web", "cli", "edits"]
    finally:
        fake.unlink()


def test_docs_draw_these_layers() -> None:
    """docs/architecture.md's picture names every layer of LAYERS."""
    doc = (SRC.parents[1] / "docs" / "architecture.md").read_text(encoding="utf-8")
    drawing = doc.split("```")[1]
    for layer in LAYERS:
        named = {n for n in layer if n not in {"__main__", "testing_models"}}
        assert any(n in drawing for n in named), layer
