"""search: FTS5 index inside the case database, phrase signatures, PostgreSQL totals

SQLite: the FTS5 table ``segment_fts`` moves from the companion file
``earshot-search.db`` into the case database, so an edit and its index update commit
in one transaction; it gains the word-signature columns for exact phrase queries.
Both backends: ``search_stats`` (PostgreSQL's BM25 totals), ``search_signatures``
(SQLite's lemma -> ambiguous-word signatures), and indexes for call-level filters.
The old companion file is removed. (This migration rebuilt the index once; since
0405 the index is tantivy's and is built after the migrations.)

Revision ID: 0401
Revises: 0400
Create Date: 2026-11-25
"""

from __future__ import annotations

from pathlib import Path

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
    # The index itself is rebuilt by tantivy after migration 0405, which drops these
    # tables again: nothing is indexed here (the code that did it is gone).
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS segment_fts")
        op.execute(
            "CREATE VIRTUAL TABLE segment_fts USING fts5(ru, en, ru_seq, en_seq, meta, "
            "tokenize = \"unicode61 remove_diacritics 0 tokenchars '-_'\")"
        )
        _remove_old_index_file(bind.engine.url.database)
    else:
        op.execute("INSERT INTO search_stats (id, rows, tokens) VALUES (1, 0, 0)")


def _remove_old_index_file(database: str | None) -> None:
    """Delete schema 0400's companion index file beside the SQLite case database."""
    if not database:
        return
    for suffix in ("", "-wal", "-shm", "-journal"):
        old = Path(database).with_name("earshot-search.db" + suffix)
        if old.exists():
            old.unlink()


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS segment_fts")
    op.drop_index("ix_search_parties_person_id", table_name="parties")
    op.drop_index("ix_search_parties_phone_id", table_name="parties")
    op.drop_index("ix_search_calls_started_at", table_name="calls")
    op.drop_table("search_signatures")
    op.drop_table("search_stats")
