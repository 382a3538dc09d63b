"""working copies hashed when made: working_copies.content_sha256

Revision ID: 1000
Revises: 0002
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "1000"
down_revision = "0002"
branch_labels = ("working_hashes",)
depends_on = None


def upgrade() -> None:
    # Nullable: copies made before this revision have no hash until they are rebuilt
    # (`earshot verify CASE --rebuild-working`); verify reports them as UNHASHED.
    with op.batch_alter_table("working_copies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("content_sha256", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("working_copies", schema=None) as batch_op:
        batch_op.drop_column("content_sha256")
