"""publish layer: pseudonyms and quotes

Revision ID: 0700
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import earshot.store.models

revision = "0700"
down_revision = "0002"
branch_labels = ("publish",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pseudonyms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("pseudonym", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("set_by", sa.String(length=200), nullable=False),
        sa.Column("at", earshot.store.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_pseudonyms_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pseudonyms")),
        sa.UniqueConstraint("person_id", name=op.f("uq_pseudonyms_person_id")),
        sa.UniqueConstraint("pseudonym", name=op.f("uq_pseudonyms_pseudonym")),
    )
    op.create_table(
        "quotes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("first_segment_id", sa.Integer(), nullable=False),
        sa.Column("last_segment_id", sa.Integer(), nullable=False),
        sa.Column("start", sa.Float(), nullable=True),
        sa.Column("end", sa.Float(), nullable=True),
        sa.Column("verbatim_en", sa.Text(), nullable=False),
        sa.Column("edited_en", sa.Text(), nullable=False),
        sa.Column("diff", sa.JSON(), nullable=False),
        sa.Column("original_sha256", sa.String(length=64), nullable=False),
        sa.Column("translator", sa.String(length=200), nullable=True),
        sa.Column("approver", sa.String(length=200), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("at", earshot.store.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["call_id"], ["calls.id"], name=op.f("fk_quotes_call_id_calls")),
        sa.ForeignKeyConstraint(
            ["first_segment_id"], ["segments.id"], name=op.f("fk_quotes_first_segment_id_segments")
        ),
        sa.ForeignKeyConstraint(
            ["last_segment_id"], ["segments.id"], name=op.f("fk_quotes_last_segment_id_segments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quotes")),
    )
    with op.batch_alter_table("quotes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quotes_call_id"), ["call_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("quotes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quotes_call_id"))
    op.drop_table("quotes")
    op.drop_table("pseudonyms")
