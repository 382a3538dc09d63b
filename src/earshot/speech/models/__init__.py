"""Speech models: the catalogue of known models, and the local models directory (fetch from a
hub, import from removable media, verify by SHA-256 manifest, pick the best installed)."""

from .catalogue import CatalogueEntry, PublishedWer, catalogue, entry, find_entry
from .store import (
    MANIFEST,
    DefaultChoice,
    InstalledModel,
    ModelStatus,
    VerifyResult,
    choose_default_asr,
    fetch_model,
    import_model,
    installed_model,
    list_models,
    resolve_asr_spec,
    verify_models,
    write_manifest,
)

__all__ = [
    "MANIFEST",
    "CatalogueEntry",
    "DefaultChoice",
    "InstalledModel",
    "ModelStatus",
    "PublishedWer",
    "VerifyResult",
    "catalogue",
    "choose_default_asr",
    "entry",
    "fetch_model",
    "find_entry",
    "import_model",
    "installed_model",
    "list_models",
    "resolve_asr_spec",
    "verify_models",
    "write_manifest",
]
