"""search: PostgreSQL document frequencies and repeated-term counts for BM25

PostgreSQL (SQLite gets the same table and columns, left empty like the rest of
``segment_search``: FTS5 keeps its own statistics).

* ``search_keys``: for each index key, how many ``segment_search`` rows hold it in
  ``ru``, in ``en``, and in both (so a key searched in both columns has
  ``rows_ru + rows_en - rows_both`` documents). Statement-level triggers on
  ``segment_search`` (with transition tables) keep it, and now the ``search_stats``
  totals too, in step with every insert, update and delete in the writing transaction,
  including the rows that go by the foreign key's ON DELETE CASCADE when a segment is
  deleted (the index code counted those out of ``search_stats`` only when it deleted
  them itself, so deleting segments left the totals too high).
* ``segment_search.ru_rep`` / ``en_rep``: jsonb ``{key: count}`` of the keys that occur
  more than once in the column (NULL when none do); a key present once has count 1.
  With them a row's term frequencies need no unnesting of its tsvector.

An existing index is filled here from its tsvectors (same counts by construction).

Revision ID: 0403
Revises: 0402
Create Date: 2026-11-25
"""

# SQL here is assembled from constant fragments only.
# ruff: noqa: S608

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0403"
down_revision = "0402"
branch_labels = None
depends_on = None

# Keys of one tsvector column per row: (key in ru, key in en) after a FULL JOIN.
_ROW_KEYS = (
    "SELECT coalesce(j.rk, j.ek) AS k, count(j.rk) AS r, count(j.ek) AS e, "
    "count(*) FILTER (WHERE j.rk IS NOT NULL AND j.ek IS NOT NULL) AS b "
    "FROM {rows} x, LATERAL (SELECT a.k AS rk, c.k AS ek "
    "FROM unnest(tsvector_to_array(x.ru)) a(k) "
    "FULL JOIN unnest(tsvector_to_array(x.en)) c(k) ON a.k = c.k) j GROUP BY 1"
)

_FUNCTION = f"""
CREATE FUNCTION earshot_search_keys_sync() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    gone text[];
BEGIN
    -- search_stats first: every writer takes that one row before any search_keys row,
    -- so concurrent writers queue instead of deadlocking.
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE search_stats SET rows = search_stats.rows - o.n, tokens = search_stats.tokens - o.t
        FROM (SELECT count(*) AS n, coalesce(sum(ru_len + en_len), 0) AS t FROM old_rows) o
        WHERE search_stats.id = 1;
        WITH d AS ({_ROW_KEYS.format(rows="old_rows")}),
        u AS (
            UPDATE search_keys s
            SET rows_ru = s.rows_ru - d.r, rows_en = s.rows_en - d.e,
                rows_both = s.rows_both - d.b
            FROM d WHERE s.key = d.k
            RETURNING s.key, s.rows_ru, s.rows_en
        )
        SELECT array_agg(u.key) INTO gone FROM u WHERE u.rows_ru = 0 AND u.rows_en = 0;
        IF gone IS NOT NULL THEN
            DELETE FROM search_keys WHERE key = ANY(gone);
        END IF;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE search_stats SET rows = search_stats.rows + o.n, tokens = search_stats.tokens + o.t
        FROM (SELECT count(*) AS n, coalesce(sum(ru_len + en_len), 0) AS t FROM new_rows) o
        WHERE search_stats.id = 1;
        INSERT INTO search_keys (key, rows_ru, rows_en, rows_both)
        SELECT k, r, e, b FROM ({_ROW_KEYS.format(rows="new_rows")}) n ORDER BY k
        ON CONFLICT (key) DO UPDATE SET
            rows_ru = search_keys.rows_ru + excluded.rows_ru,
            rows_en = search_keys.rows_en + excluded.rows_en,
            rows_both = search_keys.rows_both + excluded.rows_both;
    END IF;
    RETURN NULL;
END
$$
"""

_TRIGGERS = (
    "CREATE TRIGGER segment_search_keys_insert AFTER INSERT ON segment_search "
    "REFERENCING NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION earshot_search_keys_sync()",
    "CREATE TRIGGER segment_search_keys_update AFTER UPDATE ON segment_search "
    "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION earshot_search_keys_sync()",
    "CREATE TRIGGER segment_search_keys_delete AFTER DELETE ON segment_search "
    "REFERENCING OLD TABLE AS old_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION earshot_search_keys_sync()",
)

_REPEATS = (
    "(SELECT jsonb_object_agg(lexeme, cardinality(positions)) FROM unnest({col}) "
    "WHERE cardinality(positions) > 1)"
)


def upgrade() -> None:
    # jsonb on PostgreSQL, JSON (text) on SQLite: the model's KEY_REPEATS, spelt out here
    # so that the migration does not change if the model does.
    repeats = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
    # The table and columns exist on both backends (one schema); SQLite leaves them empty.
    op.create_table(
        "search_keys",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("rows_ru", sa.BigInteger(), nullable=False),
        sa.Column("rows_en", sa.BigInteger(), nullable=False),
        sa.Column("rows_both", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_search_keys")),
    )
    op.add_column("segment_search", sa.Column("ru_rep", repeats, nullable=True))
    op.add_column("segment_search", sa.Column("en_rep", repeats, nullable=True))
    if op.get_bind().dialect.name != "postgresql":
        return
    # Fill from the stored tsvectors before the triggers exist (the update would count).
    op.execute(
        "UPDATE segment_search SET "
        f"ru_rep = {_REPEATS.format(col='ru')}, en_rep = {_REPEATS.format(col='en')} "
        "WHERE ru <> '' OR en <> ''"
    )
    op.execute(
        "INSERT INTO search_keys (key, rows_ru, rows_en, rows_both) "
        f"SELECT k, r, e, b FROM ({_ROW_KEYS.format(rows='segment_search')}) n"
    )
    # Recount the totals: they may be too high after segment deletes (see above).
    op.execute(
        "UPDATE search_stats SET rows = t.n, tokens = t.d FROM (SELECT count(*) AS n, "
        "coalesce(sum(ru_len + en_len), 0) AS d FROM segment_search) t WHERE search_stats.id = 1"
    )
    op.execute(_FUNCTION)
    for trigger in _TRIGGERS:
        op.execute(trigger)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS segment_search_keys_{name} ON segment_search")
        op.execute("DROP FUNCTION IF EXISTS earshot_search_keys_sync()")
    with op.batch_alter_table("segment_search") as batch_op:
        batch_op.drop_column("en_rep")
        batch_op.drop_column("ru_rep")
    op.drop_table("search_keys")
