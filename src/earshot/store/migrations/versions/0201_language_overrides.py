"""editors' theme and entity-link decisions, kept across re-analysis

Revision ID: 0201
Revises: 0200
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import earshot.store.models

revision = "0201"
down_revision = "0200"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "call_theme_overrides",
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("theme", sa.String(length=60), nullable=False),
        sa.Column("present", sa.Boolean(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=True),
        sa.Column("at", earshot.store.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name=op.f("fk_call_theme_overrides_call_id_calls")
        ),
        sa.PrimaryKeyConstraint("call_id", "theme", name=op.f("pk_call_theme_overrides")),
    )
    op.create_table(
        "entity_person_overrides",
        sa.Column("segment_id", sa.Integer(), nullable=False),
        sa.Column("start", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("end", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=True),
        sa.Column("at", earshot.store.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name=op.f("fk_entity_person_overrides_call_id_calls")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_entity_person_overrides_person_id_persons")
        ),
        sa.ForeignKeyConstraint(
            ["segment_id"],
            ["segments.id"],
            name=op.f("fk_entity_person_overrides_segment_id_segments"),
        ),
        sa.PrimaryKeyConstraint(
            "segment_id", "start", "end", name=op.f("pk_entity_person_overrides")
        ),
    )
    with op.batch_alter_table("entity_person_overrides", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_entity_person_overrides_call_id"), ["call_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("entity_person_overrides")
    op.drop_table("call_theme_overrides")
