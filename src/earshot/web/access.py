"""The web layer's view of accounts, roles and the audit log (``earshot.security``).

Every decision about who may do what is delegated to ``earshot.security.roles.allows``
so the CLI and the web never disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.orm import Session

from ..security.accounts import AccountStore
from ..security.roles import Permission, allows
from ..store.audit import audit as record

__all__ = [
    "Accounts",
    "audit",
    "can",
    "load_viewed",
    "open_accounts",
    "role_name",
]


class Accounts(Protocol):
    """What the web needs of an account store (``earshot.security.accounts.AccountStore``)."""

    def authenticate(self, username: str, password: str, *, client: str = ...) -> Any: ...

    def role(self, username: str, case_id: str) -> Any: ...


def open_accounts(path: Path) -> Accounts:
    store: Accounts = AccountStore(path)
    return store


def can(role: Any, permission: str) -> bool:
    """Whether `role` holds the permission named `permission` (e.g. "EDIT_TRANSLATION")."""
    if role is None:
        return False
    return bool(allows(role, Permission[permission]))


def role_name(role: Any) -> str:
    return str(getattr(role, "value", role))


def audit(
    session: Session,
    *,
    user: str,
    action: str,
    object_type: str,
    object_id: str | int | None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Record a view, playback, search, edit or export in the case's audit log."""
    record(
        session,
        user=user,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        detail=detail or {},
    )


def load_viewed(
    session: Session,
    *,
    user: str,
    kind: str,
    object_id: int,
    load: Callable[[Session, int], dict[str, Any] | None],
    via: str,
) -> dict[str, Any]:
    """Load one call or person for a page or the API, 404 if absent, and audit the view."""
    from fastapi import HTTPException

    detail = load(session, object_id)
    if detail is None:
        raise HTTPException(status_code=404, detail=f"no such {kind}")
    audit(
        session,
        user=user,
        action="view",
        object_type=kind,
        object_id=object_id,
        detail={"via": via},
    )
    return detail
