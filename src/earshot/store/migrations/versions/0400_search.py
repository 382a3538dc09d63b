"""search index: segment_search (tsvector + GIN on PostgreSQL)

On SQLite the full-text index is an FTS5 table in the companion file
``earshot-search.db`` (created on connect); ``segment_search`` exists there too but
stays empty, so that both backends have one schema.

Revision ID: 0400
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import TSVECTOR

revision = "0400"
down_revision = "0002"
branch_labels = ("search",)
depends_on = None

_VECTOR = TSVECTOR().with_variant(sa.Text(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "segment_search",
        sa.Column("segment_id", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("ru", _VECTOR, nullable=False),
        sa.Column("en", _VECTOR, nullable=False),
        sa.Column("ru_len", sa.Integer(), nullable=False),
        sa.Column("en_len", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["segment_id"],
            ["segments.id"],
            name=op.f("fk_segment_search_segment_id_segments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("segment_id", name=op.f("pk_segment_search")),
    )
    with op.batch_alter_table("segment_search", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_segment_search_call_id"), ["call_id"], unique=False)
        batch_op.create_index("ix_segment_search_ru", ["ru"], unique=False, postgresql_using="gin")
        batch_op.create_index("ix_segment_search_en", ["en"], unique=False, postgresql_using="gin")


def downgrade() -> None:
    op.drop_table("segment_search")
