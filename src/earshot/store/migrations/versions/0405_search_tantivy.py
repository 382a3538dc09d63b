"""search: the index moves to tantivy; the database keeps an outbox

The full-text index is now a tantivy index per case (see ``earshot.search.tindex``),
built from the database on the first open after this migration. Dropped: SQLite's FTS5
table ``segment_fts`` and the signature list ``search_signatures``; PostgreSQL's
``segment_search`` (tsvectors, GIN), ``search_stats``, ``search_keys`` and the triggers
that kept them. Created: ``search_outbox``, one row per segment whose index document must
be rewritten, written in the same transaction as the change.

Revision ID: 0405
Revises: 0404
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0405"
down_revision = "0404"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for name in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS segment_search_keys_{name} ON segment_search")
        op.execute("DROP FUNCTION IF EXISTS earshot_search_keys_sync()")
    op.execute("DROP TABLE IF EXISTS segment_fts")
    for table in ("search_keys", "search_stats", "search_signatures", "segment_search"):
        op.execute(f"DROP TABLE IF EXISTS {table}")
    op.create_table(
        "search_outbox",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("segment_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_outbox")),
    )
    op.create_index(
        op.f("ix_search_outbox_segment_id"), "search_outbox", ["segment_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_search_outbox_segment_id"), table_name="search_outbox")
    op.drop_table("search_outbox")
    # The old index tables are not recreated; downgrade further and run that version's
    # `earshot search CASE --reindex`.
