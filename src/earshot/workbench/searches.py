"""Saved searches: a person's own named queries in a case."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import EditRefusedError
from ..security.roles import Actor, Permission
from ..store.audit import audit


# -- saved searches -------------------------------------------------------------------
@dataclass(frozen=True)
class SavedSearchRecord:
    id: int
    name: str
    query: str
    owner: str
    at: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _saved(row: Any) -> SavedSearchRecord:
    return SavedSearchRecord(row.id, row.name, row.query, row.owner, row.at.isoformat())


def save_search(session: Session, actor: Actor, *, name: str, query: str) -> SavedSearchRecord:
    """Keep `query` under `name` in the actor's own list (the same name replaces it).
    The query is checked first: a search that cannot run is not saved."""
    from ..search import parse_query
    from ..store.workbench_models import SavedSearch

    actor.require(Permission.READ, what="save a search")
    name, query = " ".join(name.split()), query.strip()
    if not name or len(name) > 120:
        raise EditRefusedError("a saved search needs a name of 1 to 120 characters")
    if not query or len(query) > 500:
        raise EditRefusedError("a saved search needs a query of 1 to 500 characters")
    parse_query(query)  # raises QuerySyntaxError with the position and a hint
    row = session.scalars(
        select(SavedSearch).where(SavedSearch.owner == actor.name, SavedSearch.name == name)
    ).first()
    if row is None:
        row = SavedSearch(owner=actor.name, name=name, query=query)
        session.add(row)
    else:
        row.query = query
    session.flush()
    audit(
        session,
        user=actor.name,
        action="save_search",
        object_type="saved_search",
        object_id=str(row.id),
        detail={"name": name, "query": query[:200], "role": actor.role.value},
    )
    return _saved(row)


def saved_searches(session: Session, actor: Actor) -> list[SavedSearchRecord]:
    """The actor's own saved searches, by name."""
    from ..store.workbench_models import SavedSearch

    actor.require(Permission.READ, what="list saved searches")
    rows = session.scalars(
        select(SavedSearch).where(SavedSearch.owner == actor.name).order_by(SavedSearch.name)
    )
    return [_saved(r) for r in rows]


def delete_saved_search(session: Session, actor: Actor, search_id: int) -> None:
    """Remove one of the actor's own saved searches (another's is not theirs to remove)."""
    from ..store.workbench_models import SavedSearch

    actor.require(Permission.READ, what="remove a saved search")
    row = session.get(SavedSearch, search_id)
    if row is None or row.owner != actor.name:
        raise EditRefusedError(f"you have no saved search #{search_id}")
    session.delete(row)
    audit(
        session,
        user=actor.name,
        action="delete_saved_search",
        object_type="saved_search",
        object_id=str(search_id),
        detail={"name": row.name, "role": actor.role.value},
    )
