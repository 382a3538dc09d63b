"""Full-text search over a case: inflection-aware, boolean, with field filters.

Importing this package registers the ORM events that keep the index in step with
every transcript or translation edit (registered on the store through the
``earshot.session_hooks`` entry point, see ``earshot.store.hooks``). See
docs/search.md for the query language.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy.orm import Session

from . import sync as _sync
from .check import check_index
from .engine import TOTAL_CAP, SearchHit, SearchOptions, SearchResult, search
from .index import enqueue
from .query import QuerySyntaxError, SearchError, parse_query

__all__ = [
    "TOTAL_CAP",
    "QuerySyntaxError",
    "SearchError",
    "SearchHit",
    "SearchOptions",
    "SearchResult",
    "check_index",
    "parse_query",
    "reindex",
    "reindex_segments",
    "search",
]


def reindex(session: Session, progress: Callable[[int, int], None] | None = None) -> int:
    """Rebuild the whole index from the database as `session` sees it; returns segments
    indexed. The outbox rows it covers go with `session`'s commit."""
    from sqlalchemy import text

    from .indexer import case_zone, index_for, outbox_chunks, rebuild

    conn = session.connection()
    idx = index_for(session, prepare=False)
    if idx.path is not None:  # a rebuild adopts the case's time zone as it is now
        idx.zone = case_zone(session.info.get("case_dir"))
    done, covered = rebuild(conn, idx, progress)
    if idx.path is None:  # in memory: the rows stay for the other processes' indexes
        return done
    for chunk in outbox_chunks(covered):
        conn.execute(text(f"DELETE FROM search_outbox WHERE id IN ({chunk})"))  # noqa: S608 (ints)
    return done


def reindex_segments(session: Session, ids: Iterable[int]) -> int:
    """Re-index some segments after bulk SQL that bypassed the ORM: outbox rows in
    `session`'s transaction, applied after its commit."""
    wanted = [int(i) for i in ids]
    written = enqueue(session.connection(), wanted)
    if written:
        _sync.mark_own(session, wanted)
    return written


class _SearchPackage(types.ModuleType):
    """``earshot.search(session, query, options)`` is :func:`search`: the front door's
    name works whether or not this package was imported first (an imported package is
    an attribute of ``earshot``)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return search(*args, **kwargs)


sys.modules[__name__].__class__ = _SearchPackage
