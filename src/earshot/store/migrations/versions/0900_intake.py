"""intake layer: call fact sources, audio fingerprints, probable duplicates

Revision ID: 0900
Revises: 0002
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import earshot.store.models

revision = "0900"
down_revision = "0002"
branch_labels = ("intake",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "call_sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=40), nullable=False),
        sa.Column("basis", sa.String(length=80), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("at", earshot.store.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name=op.f("fk_call_sources_call_id_calls")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_sources")),
        sa.UniqueConstraint("call_id", "field", name=op.f("uq_call_sources_call_id")),
    )
    with op.batch_alter_table("call_sources", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_call_sources_call_id"), ["call_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_call_sources_source"), ["source"], unique=False)
    op.create_table(
        "audio_fingerprints",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("tool", sa.String(length=60), nullable=False),
        sa.Column("duration", sa.Float(), nullable=False),
        sa.Column("fingerprint", sa.Text(), nullable=False),
        sa.Column("at", earshot.store.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["sha256"], ["originals.sha256"], name=op.f("fk_audio_fingerprints_sha256_originals")
        ),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_audio_fingerprints")),
    )
    op.create_table(
        "probable_duplicates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("twin_call_id", sa.Integer(), nullable=False),
        sa.Column("similarity", sa.Float(), nullable=False),
        sa.Column("offset", sa.Float(), nullable=False),
        sa.Column("basis", sa.String(length=80), nullable=False),
        sa.Column("found_at", earshot.store.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name=op.f("fk_probable_duplicates_call_id_calls")
        ),
        sa.ForeignKeyConstraint(
            ["twin_call_id"], ["calls.id"], name=op.f("fk_probable_duplicates_twin_call_id_calls")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_probable_duplicates")),
        sa.UniqueConstraint("call_id", "twin_call_id", name=op.f("uq_probable_duplicates_call_id")),
    )
    with op.batch_alter_table("probable_duplicates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_probable_duplicates_call_id"), ["call_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_probable_duplicates_twin_call_id"), ["twin_call_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("probable_duplicates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_probable_duplicates_twin_call_id"))
        batch_op.drop_index(batch_op.f("ix_probable_duplicates_call_id"))
    op.drop_table("probable_duplicates")
    op.drop_table("audio_fingerprints")
    with op.batch_alter_table("call_sources", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_call_sources_source"))
        batch_op.drop_index(batch_op.f("ix_call_sources_call_id"))
    op.drop_table("call_sources")
