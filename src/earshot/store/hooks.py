"""Session hooks other layers register on the store, through entry points.

The store is the lowest layer: it must not import the layers above it, yet some of
them keep derived data in step with every flush (the search index re-indexes edited
segments in the same transaction). Such a layer names a module under the
``earshot.session_hooks`` entry-point group; importing that module registers its
SQLAlchemy events. :func:`load_session_hooks` runs before any engine is made, so
every session of every case has them, exactly as a third-party plugin would get them.
"""

from __future__ import annotations

from functools import cache
from importlib import import_module
from importlib.metadata import entry_points

from ..errors import ConfigError

__all__ = ["HOOK_GROUP", "load_session_hooks"]

HOOK_GROUP = "earshot.session_hooks"


@cache
def load_session_hooks() -> tuple[str, ...]:
    """Import every registered hook module once; returns their names.

    None at all means Earshot's own package metadata is missing (a source tree used
    without ``pip install -e .``): refused, since the search index would silently fall
    behind every edit.
    """
    points = sorted(entry_points(group=HOOK_GROUP), key=lambda p: p.name)
    if not points:
        raise ConfigError(
            f"no {HOOK_GROUP} entry points are installed, so the search index would not "
            "follow edits; install Earshot (`pip install -e .` in a checkout) and try again"
        )
    names = []
    for point in points:
        import_module(point.value.split(":")[0])
        names.append(point.name)
    return tuple(names)
