"""The complete schema: every layer's tables registered on one metadata.

Each layer keeps its ORM classes in its own module (on ``store.models.Base``) and
its Alembic migration on its own branch from the core revision; importing this
module registers them all, for migrations and for the drift test.
"""

from __future__ import annotations

from sqlalchemy import MetaData

# Layer model modules register themselves on import; add one line per layer here.
from . import (
    identity_models,  # noqa: F401
    intake_models,  # noqa: F401
    language_models,  # noqa: F401
    models,
    publish_models,  # noqa: F401
    search_models,  # noqa: F401
    security_models,  # noqa: F401
    speech_models,  # noqa: F401
    workbench_models,  # noqa: F401
)

metadata: MetaData = models.Base.metadata

__all__ = ["metadata"]
