"""Machine translation drafts and the human review workflow for segment translations."""

from __future__ import annotations

from .engines import (
    ENGINES,
    ArgosEngine,
    CTranslate2Engine,
    EngineSpec,
    HttpEngine,
    NoEngine,
    TranslationEngine,
    TranslationEngineError,
    get_engine,
    parse_engine_spec,
)
from .workflow import (
    STATUSES,
    DraftReport,
    FourEyesError,
    StaleEditError,
    TranslationStateError,
    approve_translation,
    draft_from_reference,
    draft_translations,
    edit_translation,
    review_translation,
    slang_notes,
    translation_history,
)

__all__ = [
    "ENGINES",
    "STATUSES",
    "ArgosEngine",
    "CTranslate2Engine",
    "DraftReport",
    "EngineSpec",
    "FourEyesError",
    "HttpEngine",
    "NoEngine",
    "StaleEditError",
    "TranslationEngine",
    "TranslationEngineError",
    "TranslationStateError",
    "approve_translation",
    "draft_from_reference",
    "draft_translations",
    "edit_translation",
    "get_engine",
    "parse_engine_spec",
    "review_translation",
    "slang_notes",
    "translation_history",
]
