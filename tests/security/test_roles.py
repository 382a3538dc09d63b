"""The permission matrix, cell by cell, as the issue states it."""

from __future__ import annotations

import pytest

from earshot.security.errors import PermissionDeniedError
from earshot.security.roles import Permission, Role, allows, require

P = Permission
# role -> what it may do (everything else is denied), written from the issue text.
EXPECTED: dict[Role, set[Permission]] = {
    Role.VIEWER: {P.READ},
    Role.TRANSLATOR: {P.READ, P.EDIT_TRANSLATION},
    Role.EDITOR: {
        P.READ,
        P.EDIT_TRANSCRIPT,
        P.EDIT_TRANSLATION,
        P.TAG,
        P.VERIFY,
        P.PUBLISH_REDACTED,
        P.EXPORT_UNREDACTED,
        P.INGEST,  # issue 13: editors bring material in from the browser
    },
    Role.ADMIN: set(Permission),
}
CELLS = [(role, perm, perm in EXPECTED[role]) for role in Role for perm in Permission]


@pytest.mark.parametrize(("role", "permission", "allowed"), CELLS, ids=lambda v: str(v))
def test_matrix_cell(role: Role, permission: Permission, allowed: bool) -> None:
    assert allows(role, permission) is allowed
    if allowed:
        require(role, permission, what="test")
    else:
        with pytest.raises(PermissionDeniedError, match=role.value):
            require(role, permission, what="export call 7")


def test_only_admin_and_editor_export_unredacted() -> None:
    assert {r for r in Role if allows(r, P.EXPORT_UNREDACTED)} == {Role.ADMIN, Role.EDITOR}
    assert {r for r in Role if allows(r, P.MANAGE)} == {Role.ADMIN}


@pytest.mark.parametrize("permission", list(Permission))
def test_no_role_is_denied_everything(permission: Permission) -> None:
    with pytest.raises(PermissionDeniedError, match="no role"):
        require(None, permission, what="open case")
