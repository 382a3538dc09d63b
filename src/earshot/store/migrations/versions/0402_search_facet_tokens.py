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

revision = "0402"
down_revision = "0401"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # This migration rebuilt the FTS5 index with its facet column; since 0405 the index
    # is tantivy's (built after the migrations) and this table is dropped there, so there
    # is nothing left to do.
    pass


def downgrade() -> None:
    # Nothing to undo in the schema proper; after a downgrade, rebuild the index with
    # that version's ``earshot search CASE --reindex`` (its BM25 weights name 4 columns).
    pass
