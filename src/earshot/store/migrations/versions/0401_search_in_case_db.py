"""search: FTS5 index inside the case database, phrase signatures, PostgreSQL totals

SQLite: the FTS5 table ``segment_fts`` moves from the companion file
``earshot-search.db`` into the case database, so an edit and its index update commit
in one transaction; it gains the word-signature columns for exact phrase queries.
Both backends: ``search_stats`` (PostgreSQL's BM25 totals), ``search_signatures``
(SQLite's lemma -> ambiguous-word signatures), and indexes for call-level filters.
An existing index is rebuilt here (in the migration's transaction) and the old
companion file is removed.

Revision ID: 0401
Revises: 0400
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0401"
down_revision = "0400"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "search_stats",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("tokens", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_stats")),
    )
    op.create_table(
        "search_signatures",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", "signature", name=op.f("pk_search_signatures")),
    )
    op.create_index("ix_search_calls_started_at", "calls", ["started_at"], unique=False)
    op.create_index("ix_search_parties_phone_id", "parties", ["phone_id"], unique=False)
    op.create_index("ix_search_parties_person_id", "parties", ["person_id"], unique=False)
    # Import late: the index code is what a rebuild must use.
    from earshot.search.index import create_fts, reindex_all, remove_old_index_file

    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        create_fts(bind)
    else:
        op.execute("INSERT INTO search_stats (id, rows, tokens) VALUES (1, 0, 0)")
    if bind.execute(sa.text("SELECT 1 FROM segments LIMIT 1")).first():
        reindex_all(bind)
    if bind.dialect.name == "sqlite":
        remove_old_index_file(bind.engine.url.database)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS segment_fts")
    op.drop_index("ix_search_parties_person_id", table_name="parties")
    op.drop_index("ix_search_parties_phone_id", table_name="parties")
    op.drop_index("ix_search_calls_started_at", table_name="calls")
    op.drop_table("search_signatures")
    op.drop_table("search_stats")
