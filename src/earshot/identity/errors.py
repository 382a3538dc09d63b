"""Errors of the identity layer."""

from __future__ import annotations

from ..errors import IdentityError, IdentityNotFoundError

__all__ = ["IdentityError", "IdentityNotFoundError"]
