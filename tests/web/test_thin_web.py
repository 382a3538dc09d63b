"""The web reads no table itself: every page and endpoint shows a library record, so a
rule or a count lives in one place (the library) and the CLI shows the same."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import earshot.web

WEB = Path(earshot.web.__file__).parent
MODULES = sorted(WEB.glob("*.py"))
QUERIES = {"select", "insert", "update", "delete", "func", "text"}


def _problems(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            module = node.module
            if module == "sqlalchemy" and {a.name for a in node.names} & QUERIES:
                found.append(f"line {node.lineno}: imports a query builder from sqlalchemy")
            if node.level and module.startswith("store.") and module.endswith("models"):
                found.append(f"line {node.lineno}: imports the tables ({module})")
        if (
            isinstance(node, ast.Attribute)
            and node.attr in {"query", "execute", "scalar", "scalars", "get"}
            and isinstance(node.value, ast.Name)
            and node.value.id == "session"
        ):
            found.append(f"line {node.lineno}: session.{node.attr}(...)")
    return found


def test_the_checker_sees_a_query(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from sqlalchemy import select\nfrom ..store.models import Call\n"
        "def f(session):\n    return session.execute(select(Call))\n",
        encoding="utf-8",
    )
    assert len(_problems(bad)) == 3


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_no_web_module_queries_the_tables(path: Path) -> None:
    assert not _problems(path), f"{path.name}: move the read into the library: {_problems(path)}"
