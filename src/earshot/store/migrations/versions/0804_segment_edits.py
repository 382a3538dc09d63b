"""workbench: changes to a transcript's layout (split, merge, boundaries, party)

Revision ID: 0804
Revises: 0803
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import earshot.store.models

revision = "0804"
down_revision = "0803"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "segment_edits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("segment_id", sa.Integer(), nullable=False),
        sa.Column("other_segment_id", sa.Integer(), nullable=True),
        sa.Column("before", sa.JSON(), nullable=False),
        sa.Column("after", sa.JSON(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("at", earshot.store.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name=op.f("fk_segment_edits_call_id_calls")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segment_edits")),
        sa.UniqueConstraint("call_id", "version", name=op.f("uq_segment_edits_call_id")),
    )
    with op.batch_alter_table("segment_edits", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_segment_edits_call_id"), ["call_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_segment_edits_segment_id"), ["segment_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("segment_edits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_segment_edits_segment_id"))
        batch_op.drop_index(batch_op.f("ix_segment_edits_call_id"))
    op.drop_table("segment_edits")
