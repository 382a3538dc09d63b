"""speech pipeline: stage runs, speech regions, speaker turns, voiceprints, voice links

Revision ID: 0100
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import earshot.store.models

revision = "0100"
down_revision = "0002"
branch_labels = ("speech",)
depends_on = None

_DT = earshot.store.models.UTCDateTime


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def _index(table: str, *columns: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        for column in columns:
            batch_op.create_index(batch_op.f(f"ix_{table}_{column}"), [column], unique=False)


def upgrade() -> None:
    op.create_table(
        "stage_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=40), nullable=False),
        sa.Column("info_key", sa.String(length=32), nullable=False),
        sa.Column("info", sa.JSON(), nullable=False),
        sa.Column("inputs_key", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("started_at", _DT(), nullable=False),
        sa.Column("finished_at", _DT(), nullable=True),
        _fk("stage_runs", "call_id", "calls"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stage_runs")),
        sa.UniqueConstraint(
            "call_id", "stage", "info_key", "inputs_key", name=op.f("uq_stage_runs_call_id")
        ),
    )
    _index("stage_runs", "call_id")
    op.create_table(
        "speech_regions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.Integer(), nullable=False),
        sa.Column("start", sa.Float(), nullable=False),
        sa.Column("end", sa.Float(), nullable=False),
        _fk("speech_regions", "call_id", "calls"),
        _fk("speech_regions", "run_id", "stage_runs"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_speech_regions")),
    )
    _index("speech_regions", "call_id", "run_id")
    op.create_table(
        "speaker_turns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.Integer(), nullable=True),
        sa.Column("start", sa.Float(), nullable=False),
        sa.Column("end", sa.Float(), nullable=False),
        sa.Column("speaker", sa.Integer(), nullable=False),
        sa.Column("party", sa.String(length=4), nullable=False),
        _fk("speaker_turns", "call_id", "calls"),
        _fk("speaker_turns", "run_id", "stage_runs"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_speaker_turns")),
    )
    _index("speaker_turns", "call_id", "run_id")
    op.create_table(
        "voiceprints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("party", sa.String(length=4), nullable=False),
        sa.Column("info_key", sa.String(length=32), nullable=False),
        sa.Column("vector", sa.JSON(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("engine", sa.JSON(), nullable=False),
        _fk("voiceprints", "call_id", "calls"),
        _fk("voiceprints", "run_id", "stage_runs"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voiceprints")),
        sa.UniqueConstraint("call_id", "party", "info_key", name=op.f("uq_voiceprints_call_id")),
    )
    _index("voiceprints", "call_id", "run_id")
    op.create_table(
        "voice_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_a", sa.Integer(), nullable=False),
        sa.Column("party_a", sa.String(length=4), nullable=False),
        sa.Column("call_b", sa.Integer(), nullable=False),
        sa.Column("party_b", sa.String(length=4), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", _DT(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        _fk("voice_links", "call_a", "calls"),
        _fk("voice_links", "call_b", "calls"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voice_links")),
        sa.UniqueConstraint(
            "call_a", "party_a", "call_b", "party_b", name=op.f("uq_voice_links_call_a")
        ),
    )


def downgrade() -> None:
    for table in ("voice_links", "voiceprints", "speaker_turns", "speech_regions", "stage_runs"):
        op.drop_table(table)
