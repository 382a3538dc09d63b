"""workbench: threaded comments on segments

Revision ID: 0801
Revises: 0002
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import earshot.store.models

revision = "0801"
down_revision = "0002"
branch_labels = ("workbench",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "segment_comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("segment_id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("at", earshot.store.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name=op.f("fk_segment_comments_call_id_calls")
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["segment_comments.id"],
            name=op.f("fk_segment_comments_parent_id_segment_comments"),
        ),
        sa.ForeignKeyConstraint(
            ["segment_id"], ["segments.id"], name=op.f("fk_segment_comments_segment_id_segments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segment_comments")),
    )
    with op.batch_alter_table("segment_comments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_segment_comments_call_id"), ["call_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_segment_comments_segment_id"), ["segment_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("segment_comments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_segment_comments_segment_id"))
        batch_op.drop_index(batch_op.f("ix_segment_comments_call_id"))
    op.drop_table("segment_comments")
