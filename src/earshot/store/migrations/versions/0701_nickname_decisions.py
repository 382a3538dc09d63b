"""publish layer: editors' decisions on terms of address that look like nicknames

Revision ID: 0701
Revises: 0700
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import earshot.store.models

revision = "0701"
down_revision = "0700"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "nickname_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("word", sa.String(length=80), nullable=False),
        sa.Column("surface", sa.String(length=80), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=False),
        sa.Column("at", earshot.store.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_nickname_decisions_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nickname_decisions")),
    )
    op.create_index(
        op.f("ix_nickname_decisions_word"), "nickname_decisions", ["word"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_nickname_decisions_word"), table_name="nickname_decisions")
    op.drop_table("nickname_decisions")
