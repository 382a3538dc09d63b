"""Typed errors of the security layer, shared by every layer that checks who may act.

Also the errors of accounts and sign-in, and of encryption at rest.
"""

from __future__ import annotations

from ..errors import (
    AuthenticationError,
    EncryptionKeyError,
    KeyRequiredError,
    LockedOutError,
    PasswordPolicyError,
    PermissionDeniedError,
    TamperedMediaError,
    UnknownUserError,
    UserExistsError,
    WrongKeyError,
)

__all__ = [
    "AuthenticationError",
    "EncryptionKeyError",
    "KeyRequiredError",
    "LockedOutError",
    "PasswordPolicyError",
    "PermissionDeniedError",
    "TamperedMediaError",
    "UnknownUserError",
    "UserExistsError",
    "WrongKeyError",
]
