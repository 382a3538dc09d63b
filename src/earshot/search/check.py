"""Checking that the index agrees with the data (after a crash, a restore, a bug).

The index is written in the same transaction as every edit, so it should always
agree; this re-derives every index row from the segments and compares.
"""

# ruff: noqa: S608

from __future__ import annotations

import json

from sqlalchemy import text
from sqlalchemy.orm import Session

from ..store.models import UTCDateTime
from .index import meta_tokens, segment_texts, tsvector_parts
from .text import index_parts

__all__ = ["check_index"]

_BATCH = 2000

# Each key of the rows in {rows} (a table with tsvectors ru, en): k, and how many rows
# hold it in ru (r), in en (e), in both (b). Migration 0403 uses the same query.
SEARCH_KEY_COUNTS = (
    "SELECT coalesce(j.rk, j.ek) AS k, count(j.rk) AS r, count(j.ek) AS e, "
    "count(*) FILTER (WHERE j.rk IS NOT NULL AND j.ek IS NOT NULL) AS b "
    "FROM {rows} x, LATERAL (SELECT a.k AS rk, c.k AS ek "
    "FROM unnest(tsvector_to_array(x.ru)) a(k) "
    "FULL JOIN unnest(tsvector_to_array(x.en)) c(k) ON a.k = c.k) j GROUP BY 1"
)


def check_index(session: Session, *, limit: int = 20) -> list[str]:
    """Problems found (at most `limit`), or an empty list when the index matches the data."""
    conn = session.connection()
    postgres = conn.dialect.name == "postgresql"
    problems: list[str] = []
    table, key = ("segment_search", "segment_id") if postgres else ("segment_fts", "rowid")
    for what, sql in (
        (
            "segment without index row",
            f"SELECT id FROM segments WHERE id NOT IN (SELECT {key} FROM {table})",
        ),
        (
            "index row without segment",
            f"SELECT {key} FROM {table} WHERE {key} NOT IN (SELECT id FROM segments)",
        ),
    ):
        for (seg_id,) in conn.execute(text(sql + f" LIMIT {int(limit)}")):
            problems.append(f"{what}: {seg_id}")
    if not postgres:
        try:
            conn.exec_driver_sql("INSERT INTO segment_fts (segment_fts) VALUES ('integrity-check')")
        except Exception as exc:  # FTS5 reports corruption as an SQL error
            problems.append(f"FTS5 integrity check failed: {exc}")
    last = 0
    while len(problems) < limit:
        ids = [
            int(r[0])
            for r in conn.execute(
                text("SELECT id FROM segments WHERE id > :last ORDER BY id LIMIT :n"),
                {"last": last, "n": _BATCH},
            )
        ]
        if not ids:
            break
        last = ids[-1]
        texts = segment_texts(conn, ids)
        marks = ", ".join(str(i) for i in ids)
        if postgres:
            stored = {
                int(r[0]): (str(r[1]), str(r[2]), int(r[3]), int(r[4]), r[5], r[6], *r[7:])
                for r in conn.execute(
                    text(
                        "SELECT segment_id, ru, en, ru_len, en_len, ru_rep, en_rep, call_id, "
                        f"party, started_at FROM segment_search WHERE segment_id IN ({marks})"
                    ).columns(started_at=UTCDateTime())
                )
            }
            for seg_id, seg in texts.items():
                ru, ru_rep = tsvector_parts(seg.ru, "ru")
                en, en_rep = tsvector_parts(seg.en, "en")
                want = conn.execute(
                    text("SELECT CAST(:ru AS tsvector), CAST(:en AS tsvector)"),
                    {"ru": ru, "en": en},
                ).one()
                lengths = (index_parts(seg.ru, "ru")[2], index_parts(seg.en, "en")[2])
                repeats = tuple(json.loads(r) if r else None for r in (ru_rep, en_rep))
                got = stored.get(seg_id)
                if got is not None and (
                    got[:2] != (str(want[0]), str(want[1]))
                    or got[2:4] != lengths
                    or got[4:6] != repeats
                ):
                    problems.append(f"segment {seg_id}: index row differs from its text")
                elif got is not None and got[6:] != (seg.call_id, seg.party, seg.started_at):
                    problems.append(f"segment {seg_id}: index row's call, party or start is stale")
        else:
            stored_lite = {
                int(r[0]): (r[1], r[2], r[3], r[4], r[5])
                for r in conn.execute(
                    text(
                        "SELECT rowid, ru, en, ru_seq, en_seq, meta FROM segment_fts "
                        f"WHERE rowid IN ({marks})"
                    )
                )
            }
            for seg_id, seg in texts.items():
                ru, ru_seq, _n, _a = index_parts(seg.ru, "ru")
                en, en_seq, _m, _b = index_parts(seg.en, "en")
                got_lite = stored_lite.get(seg_id)
                meta = meta_tokens(seg.party, seg.started_at)
                if got_lite is not None and got_lite != (ru, en, ru_seq, en_seq, meta):
                    problems.append(f"segment {seg_id}: index row differs from its text")
    if postgres:
        n_rows, n_tokens = conn.execute(text("SELECT rows, tokens FROM search_stats")).one()
        real = conn.execute(
            text("SELECT count(*), coalesce(sum(ru_len + en_len), 0) FROM segment_search")
        ).one()
        if (int(n_rows), int(n_tokens)) != (int(real[0]), int(real[1])):
            problems.append(
                f"search_stats says {n_rows} rows / {n_tokens} tokens, "
                f"the index holds {real[0]} / {real[1]}"
            )
        # search_keys against a fresh count of every key (one pass over the index).
        wrong = conn.execute(
            text(
                "SELECT coalesce(k.key, f.k) FROM search_keys k FULL JOIN ("
                f"{SEARCH_KEY_COUNTS.format(rows='segment_search')}) f ON f.k = k.key "
                "WHERE k.key IS NULL OR f.k IS NULL OR (k.rows_ru, k.rows_en, k.rows_both) "
                "<> (f.r, f.e, f.b) LIMIT :n"
            ),
            {"n": limit},
        ).all()
        problems += [f"search_keys disagrees with the index for key {w[0]!r}" for w in wrong]
    return problems[:limit]
