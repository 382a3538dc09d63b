"""Typed errors of the security layer, shared by every layer that checks who may act."""

from __future__ import annotations

from ..errors import EarshotError

__all__ = ["PermissionDeniedError"]


class PermissionDeniedError(EarshotError):
    """The acting user's role does not allow this action; the message names both."""
