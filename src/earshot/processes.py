"""Starting child processes without re-running the caller's script.

Earshot decodes in worker processes started from a forkserver (never forked from the
caller, which may hold threads). Python prepares such a child by importing the parent's
``__main__`` again, as ``__mp_main__``: a newsroom script without an
``if __name__ == "__main__":`` guard would then run again inside every worker (init the
case a second time, ingest again...). Earshot's workers need nothing from ``__main__``, so
they are started with it hidden: the child gets a bare main module instead.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.process import BaseProcess

__all__ = ["start_without_main"]


@contextmanager
def _main_hidden() -> Iterator[None]:
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    names: tuple[str, ...] = ("__file__", "__spec__")
    saved: dict[str, object] = {n: main.__dict__[n] for n in names if n in main.__dict__}
    for name in saved:
        if name == "__spec__":
            main.__spec__ = None
        else:
            del main.__dict__[name]
    try:
        yield
    finally:
        main.__dict__.update(saved)


def start_without_main(process: BaseProcess) -> None:
    """`process.start()`, the child not importing the caller's ``__main__``."""
    with _main_hidden():
        process.start()
