"""Earshot: a workbench for investigating recorded phone calls.

``import earshot`` is the library's front door: the names below are the documented
API (docs/library.md shows a newsroom script using them). They load on first use,
so importing the package stays cheap for the CLI and for a script that only needs
one layer. Every change a person makes goes through :mod:`earshot.edits` with an
:class:`Actor`; every error is an :class:`earshot.errors.EarshotError`.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# name -> "module:attribute" (the module alone for a module)
_API: dict[str, str] = {
    # cases and who acts on them
    "Case": "earshot.store.case:Case",
    "Actor": "earshot.security.roles:Actor",
    "Role": "earshot.security.roles:Role",
    "Permission": "earshot.security.roles:Permission",
    # taking material in and processing it
    "ingest": "earshot.ingest.runner:ingest",
    "IngestOptions": "earshot.ingest.runner:IngestOptions",
    "process": "earshot.pipeline.runner:process",
    "ProcessOptions": "earshot.pipeline.runner:ProcessOptions",
    "analyze": "earshot.language.analysis:analyze_case",
    "draft_translations": "earshot.language.translation:draft_translations",
    # finding things
    "search": "earshot.search:search",
    "SearchOptions": "earshot.search:SearchOptions",
    "call_graph": "earshot.analysis:call_graph",
    "theme_trend": "earshot.language.trends:theme_trend",
    # who is speaking
    "find_person": "earshot.identity:find_person",
    "list_persons": "earshot.identity:list_persons",
    "person_report": "earshot.identity:person_report",
    "bring_up_to_date": "earshot.identity:bring_up_to_date",
    # publishing
    "export": "earshot.publish.export:export_case",
    "ExportOptions": "earshot.publish.export:ExportOptions",
    "export_formats": "earshot.publish.formats:export_formats",
    # the vocabulary, the edits and the errors
    "AttributionBasis": "earshot.vocab:AttributionBasis",
    "VerificationStatus": "earshot.vocab:VerificationStatus",
    "TranslationStatus": "earshot.vocab:TranslationStatus",
    "LinkStatus": "earshot.vocab:LinkStatus",
    "VoiceLinkStatus": "earshot.vocab:VoiceLinkStatus",
    "StageStatus": "earshot.vocab:StageStatus",
    "JobStatus": "earshot.vocab:JobStatus",
    "EarshotError": "earshot.errors:EarshotError",
    "edits": "earshot.edits",
    "workbench": "earshot.workbench",
    "errors": "earshot.errors",
}

__all__ = ["__version__", *sorted(_API)]

if TYPE_CHECKING:  # what a type checker and an IDE see; at run time, _API loads lazily
    from . import edits, errors, workbench
    from .analysis import call_graph
    from .errors import EarshotError
    from .identity import bring_up_to_date, find_person, list_persons, person_report
    from .ingest.runner import IngestOptions, ingest
    from .language.analysis import analyze_case as analyze
    from .language.translation import draft_translations
    from .language.trends import theme_trend
    from .pipeline.runner import ProcessOptions, process
    from .publish.export import ExportOptions
    from .publish.export import export_case as export
    from .publish.formats import export_formats
    from .search import SearchOptions, search
    from .security.roles import Actor, Permission, Role
    from .store.case import Case
    from .vocab import (
        AttributionBasis,
        JobStatus,
        LinkStatus,
        StageStatus,
        TranslationStatus,
        VerificationStatus,
        VoiceLinkStatus,
    )


def __getattr__(name: str) -> Any:
    try:
        target = _API[name]
    except KeyError:
        raise AttributeError(f"module 'earshot' has no attribute {name!r}") from None
    module, _, attribute = target.partition(":")
    value = import_module(module)
    if attribute:
        value = getattr(value, attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))
