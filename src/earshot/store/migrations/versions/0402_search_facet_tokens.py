"""search: facet tokens (party, UTC day and month) in the SQLite FTS5 index

SQLite: ``segment_fts`` gains a ``meta`` column holding three facet tokens per row, so
that a word plus a date range or party is intersected inside FTS5. A case whose index
lacks the column has it rebuilt here, in the migration's transaction (a case that
went through 0401 with this code already has it). PostgreSQL: nothing changes.

Revision ID: 0402
Revises: 0401
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0402"
down_revision = "0401"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    columns = {str(r[1]) for r in bind.exec_driver_sql("PRAGMA table_info(segment_fts)")}
    if "meta" in columns:
        return
    # Import late: the index code is what a rebuild must use.
    from earshot.search.index import create_fts, reindex_all

    bind.execute(sa.text("DELETE FROM search_signatures"))
    create_fts(bind)
    if bind.execute(sa.text("SELECT 1 FROM segments LIMIT 1")).first():
        reindex_all(bind)


def downgrade() -> None:
    # Nothing to undo in the schema proper; after a downgrade, rebuild the index with
    # that version's ``earshot search CASE --reindex`` (its BM25 weights name 4 columns).
    pass
