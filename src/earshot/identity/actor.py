"""The role check every identity change passes through.

The actor type is the library's one :class:`earshot.security.roles.Actor`; the
roles are the security layer's :class:`~earshot.security.roles.Role`. The CLI
acts as an editor under the configured operator name, the web app passes the
logged-in user's real role; keeping the check here, on the library side, means no
front end can skip it.
"""

from __future__ import annotations

from ..security.errors import PermissionDeniedError
from ..security.roles import Actor, Role

__all__ = ["CONTRIBUTOR_ROLES", "EDITOR_ROLES", "Actor", "require_role"]

# May set verification status, link call sides, accept proposals, merge and split.
EDITOR_ROLES = frozenset({Role.EDITOR, Role.ADMIN})
# May add persons, edit their details and add evidence.
CONTRIBUTOR_ROLES = frozenset({Role.TRANSLATOR, Role.EDITOR, Role.ADMIN})


def require_role(actor: Actor, allowed: frozenset[Role], action: str) -> None:
    """Raise PermissionDeniedError unless `actor`'s role is one of `allowed`."""
    if actor.role not in allowed:
        raise PermissionDeniedError(
            f"{actor.name} (role {actor.role.value!r}) may not {action}; "
            f"it needs one of the roles {', '.join(sorted(r.value for r in allowed))}: "
            "ask an editor"
        )
