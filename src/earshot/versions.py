"""Installed versions of the libraries behind each engine, for provenance records."""

from __future__ import annotations

from importlib import metadata

__all__ = ["package_version"]


def package_version(distribution: str) -> str:
    """Installed version of ``distribution``, or "unknown" when it has no metadata."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "unknown"
