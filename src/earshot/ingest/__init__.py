"""Earshot ingest layer.

The package is callable: ``earshot.ingest(case, paths, options)`` is
:func:`earshot.ingest.runner.ingest`, so the front door's name works whether or not
this package was imported first (an imported package is an attribute of ``earshot``).
"""

import sys
import types
from typing import Any


class _IngestPackage(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from .runner import ingest

        return ingest(*args, **kwargs)


sys.modules[__name__].__class__ = _IngestPackage
