"""Who is acting, and the role check every identity change passes through.

Until the security layer authenticates users, the CLI acts as an editor under the
configured operator name, and the web app passes the logged-in user's real role.
Keeping the check here, on the library side, means no front end can skip it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..security.errors import PermissionDeniedError

__all__ = ["CONTRIBUTOR_ROLES", "EDITOR_ROLES", "Actor", "require_role"]

# May set verification status, link call sides, accept proposals, merge and split.
EDITOR_ROLES = frozenset({"editor", "admin"})
# May add persons, edit their details and add evidence.
CONTRIBUTOR_ROLES = frozenset({"reporter", "translator", "editor", "admin"})


@dataclass(frozen=True)
class Actor:
    """A user acting on the case: recorded with every change they make."""

    name: str
    role: str = "editor"


def require_role(actor: Actor, allowed: frozenset[str], action: str) -> None:
    """Raise PermissionDeniedError unless `actor`'s role is one of `allowed`."""
    if actor.role not in allowed:
        raise PermissionDeniedError(
            f"{actor.name} (role {actor.role!r}) may not {action}; "
            f"it needs one of the roles {', '.join(sorted(allowed))}: ask an editor"
        )
