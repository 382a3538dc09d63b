"""Imported by the worker fork server: loads the language models before any worker forks.

:mod:`earshot.language.pool` names this module in ``set_forkserver_preload``, so the
models (Natasha, pymorphy3, gazetteer, lexicons: a few seconds) load once in the fork
server and every worker starts with them already in memory, shared copy-on-write,
instead of each loading its own. Importing it anywhere else only costs that load.
"""

from __future__ import annotations

from earshot.errors import EarshotError

__all__ = ["WARM"]

WARM = False
try:
    from earshot.language.analysis import LanguageAnalyzer
    from earshot.language.names import PersonDirectory

    LanguageAnalyzer().analyze(["Алло, Андрей, это мама из Тулы."], PersonDirectory(()))
    WARM = True
except EarshotError:  # a missing model: the worker's own start raises it with advice
    pass
