"""case lexicon: slang terms editors add for one case, with who added them

Revision ID: 0202
Revises: 0201
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import earshot.store.models

revision = "0202"
down_revision = "0201"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_slang_entries",
        sa.Column("term", sa.String(length=80), nullable=False),
        sa.Column("forms", sa.JSON(), nullable=False),
        sa.Column("gloss", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("slur", sa.Boolean(), nullable=False),
        sa.Column("coarse", sa.Boolean(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=True),
        sa.Column("at", earshot.store.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("term", name=op.f("pk_case_slang_entries")),
    )


def downgrade() -> None:
    op.drop_table("case_slang_entries")
