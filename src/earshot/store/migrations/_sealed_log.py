"""Shared by migrations 0501 (audit log) and 1100 (custody log): the ``entry_mac`` column
and the triggers that refuse an INSERT without one (see earshot.store.hashchain)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


def add_mac(table: str) -> None:
    # A plain ADD COLUMN, never batch mode: rebuilding the table would drop its triggers.
    op.add_column(table, sa.Column("entry_mac", sa.String(length=64), nullable=True))
    message = f"{table} entries are written only by Earshot: an entry without a MAC is refused"
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE OR REPLACE FUNCTION earshot_{table}_needs_mac() RETURNS trigger AS $$ "
            f"BEGIN IF NEW.entry_mac IS NULL THEN RAISE EXCEPTION '{message}'; END IF; "
            "RETURN NEW; END; $$ LANGUAGE plpgsql"
        )
        op.execute(
            f"CREATE TRIGGER {table}_needs_mac BEFORE INSERT ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION earshot_{table}_needs_mac()"
        )
    else:
        op.execute(
            f"CREATE TRIGGER {table}_needs_mac BEFORE INSERT ON {table} "
            f"WHEN NEW.entry_mac IS NULL BEGIN SELECT RAISE(ABORT, '{message}'); END"
        )


def drop_mac(table: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {table}_needs_mac ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS earshot_{table}_needs_mac()")
    else:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_needs_mac")
    op.drop_column(table, "entry_mac")
