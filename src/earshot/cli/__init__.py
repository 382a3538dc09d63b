"""The `earshot` command line. Each layer's commands live in a module of this package."""

from __future__ import annotations

from . import (
    asr_eval,  # noqa: F401
    case,  # noqa: F401  (registers its commands)
    identity,  # noqa: F401
    identity_evidence,  # noqa: F401
    identity_links,  # noqa: F401
    intake,  # noqa: F401  (`earshot jobs`; ingest's intake options)
    language,  # noqa: F401
    models,  # noqa: F401
    process,  # noqa: F401
    publish,  # noqa: F401  (after language: its `export` replaces language's)
    search,  # noqa: F401
    security,  # noqa: F401
    segments,  # noqa: F401  (`earshot segment`)
    slang,  # noqa: F401
    web,  # noqa: F401
)
from ._base import cli, main

__all__ = ["cli", "main"]
