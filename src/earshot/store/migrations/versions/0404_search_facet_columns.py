"""search: the facet data (segment party, call start) in PostgreSQL's index rows

PostgreSQL: ``segment_search`` gains ``party`` (the segment's ``party``) and
``started_at`` (its call's ``started_at``), with a btree index on
``(started_at, party)``, so that a word plus ``from:``/``to:``/``party:`` filters is
decided on the index rows alone (the GIN bitmap of the word and the facet conditions
on the same table) instead of joining every segment of the call filter one primary-key
lookup each. They are the same facts SQLite's ``meta`` facet tokens are made from
(migration 0402), and are written by the same code (``index_segments``), so they
follow the same edits. SQLite gets the columns too (one schema) and leaves them empty.

An existing PostgreSQL index is filled here from ``segments`` and ``calls``; the 0403
update trigger is held off meanwhile (no key or total changes, and recounting every
row's keys twice would only cost time).

Revision ID: 0404
Revises: 0403
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0404"
down_revision = "0403"
branch_labels = None
depends_on = None

_INDEX = "ix_segment_search_facets"


def upgrade() -> None:
    op.add_column("segment_search", sa.Column("party", sa.Text(), nullable=True))
    # Naive UTC, like every timestamp of the schema (models.UTCDateTime).
    op.add_column("segment_search", sa.Column("started_at", sa.DateTime(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        _fill()
    op.create_index(_INDEX, "segment_search", ["started_at", "party"], unique=False)


def _fill() -> None:
    op.execute("ALTER TABLE segment_search DISABLE TRIGGER segment_search_keys_update")
    op.execute(
        "UPDATE segment_search ss SET party = s.party, started_at = c.started_at "
        "FROM segments s LEFT JOIN calls c ON c.id = s.call_id WHERE s.id = ss.segment_id"
    )
    op.execute("ALTER TABLE segment_search ENABLE TRIGGER segment_search_keys_update")


def downgrade() -> None:
    op.drop_index(_INDEX, table_name="segment_search")
    with op.batch_alter_table("segment_search") as batch_op:
        batch_op.drop_column("started_at")
        batch_op.drop_column("party")
