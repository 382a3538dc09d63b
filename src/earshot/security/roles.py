"""Roles per case and what each may do: the permission matrix, in one place.

Why a matrix and not ranks: a translator may edit translations but not transcripts,
so permissions are not a simple ladder. Every web route and CLI action that touches
a case calls :func:`require` with the role the user holds on that case.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .errors import PermissionDeniedError

__all__ = ["MATRIX", "Actor", "Permission", "Role", "allows", "require"]


class Role(StrEnum):
    ADMIN = "admin"
    EDITOR = "editor"
    TRANSLATOR = "translator"
    VIEWER = "viewer"


class Permission(StrEnum):
    READ = "read"
    EDIT_TRANSCRIPT = "edit_transcript"
    EDIT_TRANSLATION = "edit_translation"
    TAG = "tag"
    VERIFY = "verify"
    PUBLISH_REDACTED = "publish_redacted"
    EXPORT_UNREDACTED = "export_unredacted"
    MANAGE = "manage"
    INGEST = "ingest"  # bring material in (uploads) and run, cancel or retry background jobs


_EDITOR = frozenset(
    {
        Permission.READ,
        Permission.EDIT_TRANSCRIPT,
        Permission.EDIT_TRANSLATION,
        Permission.TAG,
        Permission.VERIFY,
        Permission.PUBLISH_REDACTED,
        Permission.EXPORT_UNREDACTED,
        Permission.INGEST,
    }
)

MATRIX: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset({Permission.READ}),
    Role.TRANSLATOR: frozenset({Permission.READ, Permission.EDIT_TRANSLATION}),
    Role.EDITOR: _EDITOR,
    Role.ADMIN: frozenset(Permission),
}


@dataclass(frozen=True)
class Actor:
    """Who makes a change, in which role on the case: recorded with every change.

    The one actor type of the library: the CLI acts as its operator (an editor on a
    case directory it holds), the web passes the logged-in user and their role on
    the case, and every library function that changes a case takes one. A role
    given as text is checked against :class:`Role` here, so an unknown role fails
    at the door instead of silently matching nothing.
    """

    name: str
    role: Role = Role.EDITOR

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "role", Role(self.role))
        except ValueError:
            roles = ", ".join(r.value for r in Role)
            raise PermissionDeniedError(
                f"unknown role {self.role!r} for {self.name}; the roles are {roles}"
            ) from None

    def may(self, permission: Permission) -> bool:
        return allows(self.role, permission)

    def require(self, permission: Permission, *, what: str) -> None:
        require(self.role, permission, what=what)


def allows(role: Role, permission: Permission) -> bool:
    """Whether `role` grants `permission` (unknown combinations are denied)."""
    return permission in MATRIX.get(role, frozenset())


def require(role: Role | None, permission: Permission, *, what: str) -> None:
    """Raise :class:`PermissionDeniedError` unless `role` grants `permission`.

    `role` is None when the user holds no role on the case: everything is denied.
    """
    if role is None:
        raise PermissionDeniedError(
            f"{what}: you have no role on this case; ask a case admin to grant you one"
        )
    if not allows(role, permission):
        raise PermissionDeniedError(
            f"{what}: a {role.value} may not {permission.value.replace('_', ' ')}; "
            "ask a case admin for a role that allows it"
        )
