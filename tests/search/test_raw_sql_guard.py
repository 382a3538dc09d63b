"""Raw SQL that writes what the search index is made of must tell the indexer.

The outbox rows come from ORM events (earshot.search.sync): a session flush, or a bulk
statement run through the session. A ``text("UPDATE segments ...")`` bypasses both, and
the index would silently drift from the database. This check reads every module of the
package: a module whose SQL strings write one of those tables must also call
``reindex_segments`` (or ``enqueue``) itself. Migrations are exempt: the index is
rebuilt after an upgrade that changes documents (INDEX_VERSION).
"""

from __future__ import annotations

import re
from pathlib import Path

import earshot
from earshot.search import sync

SRC = Path(earshot.__file__).parent
# What a document is made of (earshot.search.index.read_segments, earshot.search.facets).
TABLES = sorted(
    {"segments", "transcripts", "translations", "calls", "phones"}
    | set(sync._SEGMENT_FACETS)
    | set(sync._CALL_FACETS)
)
WRITE = re.compile(
    r"\b(?:UPDATE|INSERT\s+INTO|DELETE\s+FROM|REPLACE\s+INTO)\s+\"?("
    + "|".join(TABLES)
    + r")\"?\b",
    re.IGNORECASE,
)
TELLS = ("reindex_segments(", "enqueue(")


def _offenders(root: Path) -> list[str]:
    out = []
    for path in sorted(root.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        source = path.read_text("utf-8")
        writes = sorted({m.group(1).lower() for m in WRITE.finditer(source)})
        if writes and not any(t in source for t in TELLS):
            out.append(f"{path.relative_to(root)}: writes {', '.join(writes)}")
    return out


def test_modules_that_write_indexed_tables_with_raw_sql_tell_the_indexer() -> None:
    assert _offenders(SRC) == [], (
        "raw SQL writes a table the search index is made of; call "
        "earshot.search.reindex_segments(session, ids) in the same transaction"
    )


def test_the_guard_finds_a_raw_write(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text(
        'conn.execute(text("UPDATE segments SET text = :t WHERE id = :i"))\n', "utf-8"
    )
    (tmp_path / "also_bad.py").write_text(
        "SQL = 'delete from \"segment_slang\" where segment_id = ?'\n", "utf-8"
    )
    (tmp_path / "good.py").write_text(
        'conn.execute(text("UPDATE segments SET text = :t"))\nreindex_segments(session, ids)\n',
        "utf-8",
    )
    (tmp_path / "reads.py").write_text('text("SELECT id FROM segments")\n', "utf-8")
    assert _offenders(tmp_path) == [
        "also_bad.py: writes segment_slang",
        "bad.py: writes segments",
    ]
