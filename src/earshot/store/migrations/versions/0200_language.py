"""language layer: segment entities, slang, themes, call themes, translations and history

Revision ID: 0200
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import earshot.store.models

revision = "0200"
down_revision = "0002"
branch_labels = ("language",)
depends_on = None


def _analysis_columns() -> list[sa.Column[int]]:
    return [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("segment_id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
    ]


def _analysis_constraints(table: str) -> list[sa.Constraint]:
    return [
        sa.ForeignKeyConstraint(
            ["segment_id"], ["segments.id"], name=op.f(f"fk_{table}_segment_id_segments")
        ),
        sa.ForeignKeyConstraint(["call_id"], ["calls.id"], name=op.f(f"fk_{table}_call_id_calls")),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    ]


def _index_segment_and_call(table: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f"ix_{table}_segment_id"), ["segment_id"], unique=False)
        batch_op.create_index(batch_op.f(f"ix_{table}_call_id"), ["call_id"], unique=False)


def upgrade() -> None:
    op.create_table(
        "segment_entities",
        *_analysis_columns(),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("start", sa.Integer(), nullable=False),
        sa.Column("end", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("normal", sa.Text(), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("person_score", sa.Float(), nullable=True),
        sa.Column("places", sa.JSON(), nullable=False),
        sa.Column("place_name", sa.Text(), nullable=True),
        sa.Column("place_country", sa.String(length=2), nullable=True),
        sa.Column("in_war_zone", sa.Boolean(), nullable=True),
        sa.Column("info_key", sa.String(length=16), nullable=False),
        *_analysis_constraints("segment_entities"),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_segment_entities_person_id_persons")
        ),
    )
    _index_segment_and_call("segment_entities")

    op.create_table(
        "segment_slang",
        *_analysis_columns(),
        sa.Column("start", sa.Integer(), nullable=False),
        sa.Column("end", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("term", sa.String(length=80), nullable=False),
        sa.Column("gloss", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("slur", sa.Boolean(), nullable=False),
        sa.Column("info_key", sa.String(length=16), nullable=False),
        *_analysis_constraints("segment_slang"),
    )
    _index_segment_and_call("segment_slang")

    op.create_table(
        "segment_themes",
        *_analysis_columns(),
        sa.Column("theme", sa.String(length=60), nullable=False),
        sa.Column("cues", sa.JSON(), nullable=False),
        sa.Column("info_key", sa.String(length=16), nullable=False),
        *_analysis_constraints("segment_themes"),
    )
    _index_segment_and_call("segment_themes")

    op.create_table(
        "call_themes",
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("theme", sa.String(length=60), nullable=False),
        sa.Column("info_key", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name=op.f("fk_call_themes_call_id_calls")
        ),
        sa.PrimaryKeyConstraint("call_id", "theme", name=op.f("pk_call_themes")),
    )
    with op.batch_alter_table("call_themes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_call_themes_theme"), ["theme"], unique=False)

    op.create_table(
        "translations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("segment_id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=10), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("engine", sa.JSON(), nullable=False),
        sa.Column("translator", sa.String(length=200), nullable=True),
        sa.Column("reviewer", sa.String(length=200), nullable=True),
        sa.Column("approver", sa.String(length=200), nullable=True),
        sa.Column("notes", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", earshot.store.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["segment_id"], ["segments.id"], name=op.f("fk_translations_segment_id_segments")
        ),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name=op.f("fk_translations_call_id_calls")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_translations")),
        sa.UniqueConstraint("segment_id", name=op.f("uq_translations_segment_id")),
    )
    with op.batch_alter_table("translations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_translations_call_id"), ["call_id"], unique=False)

    op.create_table(
        "translation_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("translation_id", sa.Integer(), nullable=False),
        sa.Column("segment_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("at", earshot.store.models.UTCDateTime(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["translation_id"],
            ["translations.id"],
            name=op.f("fk_translation_history_translation_id_translations"),
        ),
        sa.ForeignKeyConstraint(
            ["segment_id"], ["segments.id"], name=op.f("fk_translation_history_segment_id_segments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_translation_history")),
    )
    with op.batch_alter_table("translation_history", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_translation_history_translation_id"), ["translation_id"], unique=False
        )


def downgrade() -> None:
    for table in (
        "translation_history",
        "translations",
        "call_themes",
        "segment_themes",
        "segment_slang",
        "segment_entities",
    ):
        op.drop_table(table)
