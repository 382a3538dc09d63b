"""identity: person details, phone data, link periods, attributions, evidence, verification

Revision ID: 0300
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import earshot.store.models

revision = "0300"
down_revision = "0002"
branch_labels = ("identity",)
depends_on = None

_DT = earshot.store.models.UTCDateTime


def _fk(table: str, column: str, target: str, key: str = "id") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.{key}"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def _indexes(table: str, *columns: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        for column in columns:
            batch_op.create_index(batch_op.f(f"ix_{table}_{column}"), [column], unique=False)


def upgrade() -> None:
    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.add_column(sa.Column("aliases", sa.JSON(), server_default="[]", nullable=False))
        batch_op.add_column(
            sa.Column("role", sa.String(length=20), server_default="other", nullable=False)
        )
        batch_op.add_column(sa.Column("affiliation", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("home_region", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("notes", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("protected", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
        batch_op.add_column(sa.Column("merged_into", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_persons_merged_into_persons"), "persons", ["merged_into"], ["id"]
        )
    with op.batch_alter_table("phones", schema=None) as batch_op:
        batch_op.add_column(sa.Column("number_type", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("region", sa.String(length=4), nullable=True))
        batch_op.add_column(sa.Column("carrier", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("location", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("notes", sa.Text(), nullable=True))
    with op.batch_alter_table("person_phones", schema=None) as batch_op:
        batch_op.add_column(sa.Column("period_from", _DT(), nullable=True))
        batch_op.add_column(sa.Column("period_to", _DT(), nullable=True))
        batch_op.add_column(sa.Column("note", sa.Text(), nullable=True))

    op.create_table(
        "party_person_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("party_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("basis", sa.String(length=30), nullable=False),
        sa.Column("segment_id", sa.Integer(), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("at", _DT(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", _DT(), nullable=True),
        sa.Column("superseded_at", _DT(), nullable=True),
        _fk("party_person_links", "party_id", "parties"),
        _fk("party_person_links", "person_id", "persons"),
        _fk("party_person_links", "segment_id", "segments"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_party_person_links")),
    )
    _indexes("party_person_links", "party_id", "person_id")

    op.create_table(
        "evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("phone_id", sa.Integer(), nullable=True),
        sa.Column("call_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("file_name", sa.Text(), nullable=True),
        sa.Column("collected_by", sa.String(length=200), nullable=False),
        sa.Column("collected_at", _DT(), nullable=True),
        sa.Column("added_by", sa.String(length=200), nullable=False),
        sa.Column("added_at", _DT(), nullable=False),
        _fk("evidence", "person_id", "persons"),
        _fk("evidence", "phone_id", "phones"),
        _fk("evidence", "call_id", "calls"),
        _fk("evidence", "sha256", "originals", "sha256"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence")),
    )
    _indexes("evidence", "call_id", "person_id", "phone_id")

    op.create_table(
        "verification_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("party_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("evidence_ids", sa.JSON(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("actor_role", sa.String(length=20), nullable=False),
        sa.Column("at", _DT(), nullable=False),
        _fk("verification_events", "person_id", "persons"),
        _fk("verification_events", "party_id", "parties"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verification_events")),
    )
    _indexes("verification_events", "party_id", "person_id")

    op.create_table(
        "person_merges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kept_id", sa.Integer(), nullable=False),
        sa.Column("merged_id", sa.Integer(), nullable=False),
        sa.Column("moved", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("at", _DT(), nullable=False),
        sa.Column("reversed_at", _DT(), nullable=True),
        sa.Column("reversed_by", sa.String(length=200), nullable=True),
        _fk("person_merges", "kept_id", "persons"),
        _fk("person_merges", "merged_id", "persons"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_merges")),
    )
    _indexes("person_merges", "kept_id", "merged_id")

    op.create_table(
        "person_splits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("from_id", sa.Integer(), nullable=False),
        sa.Column("new_id", sa.Integer(), nullable=False),
        sa.Column("moved", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("at", _DT(), nullable=False),
        _fk("person_splits", "from_id", "persons"),
        _fk("person_splits", "new_id", "persons"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_splits")),
    )
    _indexes("person_splits", "from_id", "new_id")


def downgrade() -> None:
    for table in (
        "person_splits",
        "person_merges",
        "verification_events",
        "evidence",
        "party_person_links",
    ):
        op.drop_table(table)
    with op.batch_alter_table("person_phones", schema=None) as batch_op:
        for column in ("note", "period_to", "period_from"):
            batch_op.drop_column(column)
    with op.batch_alter_table("phones", schema=None) as batch_op:
        for column in ("notes", "location", "carrier", "region", "number_type"):
            batch_op.drop_column(column)
    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_persons_merged_into_persons"), type_="foreignkey")
        for column in (
            "merged_into",
            "protected",
            "notes",
            "home_region",
            "affiliation",
            "role",
            "aliases",
        ):
            batch_op.drop_column(column)
