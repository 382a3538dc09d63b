"""workbench: versions of a segment's corrected Russian text

Revision ID: 0802
Revises: 0801
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import earshot.store.models

revision = "0802"
down_revision = "0801"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "segment_text_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("segment_id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("at", earshot.store.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name=op.f("fk_segment_text_versions_call_id_calls")
        ),
        sa.ForeignKeyConstraint(
            ["segment_id"],
            ["segments.id"],
            name=op.f("fk_segment_text_versions_segment_id_segments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segment_text_versions")),
        sa.UniqueConstraint(
            "segment_id", "version", name=op.f("uq_segment_text_versions_segment_id")
        ),
    )
    with op.batch_alter_table("segment_text_versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_segment_text_versions_call_id"), ["call_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_segment_text_versions_segment_id"), ["segment_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("segment_text_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_segment_text_versions_segment_id"))
        batch_op.drop_index(batch_op.f("ix_segment_text_versions_call_id"))
    op.drop_table("segment_text_versions")
