"""The contract between the processing runner and the stages it runs.

A stage is one step of work on one call (voice activity, speaker separation,
transcription, voiceprints, language analysis, ...). Stages are registered by name,
the built-in ones exactly as a third party's would be (the ``earshot.stages``
entry-point group, or :func:`register_stage`). The runner decides what a call
still needs by comparing, for each stage, the recorded provenance key and inputs key
with the current ones, so a new engine version or a changed transcript re-runs the
stage while a re-run on unchanged inputs does nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from .errors import ConfigError
from .vocab import StageStatus

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from .store.case import Case

__all__ = [
    "Stage",
    "StageFactory",
    "StageInfo",
    "StageOutcome",
    "available_stages",
    "get_stage",
    "register_stage",
    "unregister_stage",
]


@dataclass(frozen=True)
class StageInfo:
    """Provenance of a stage's output: which engine, model, version and options."""

    stage: str
    engine: str
    version: str
    model: str | None = None
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """A short stable digest: equal keys mean the same output would be produced."""
        body = json.dumps(
            {
                "stage": self.stage,
                "engine": self.engine,
                "version": self.version,
                "model": self.model,
                "options": self.options,
            },
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(body.encode()).hexdigest()[:16]

    def as_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "engine": self.engine,
            "version": self.version,
            "model": self.model,
            "options": self.options,
            "key": self.key,
        }


@dataclass(frozen=True)
class StageOutcome:
    """What a stage did to one call; `status` is done or skipped (with a reason).

    A plain string is accepted and checked against :class:`StageStatus`, so a
    third-party stage written before the enum keeps working and a typo fails here.
    """

    status: StageStatus = StageStatus.DONE
    detail: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", StageStatus(self.status))


@runtime_checkable
class Stage(Protocol):
    """One step of processing, run on one call at a time.

    `run` writes its outputs itself, in its own transaction(s), tagged with `info()`;
    it must be idempotent (running it twice on the same inputs leaves one output) and
    never overwrite a human's edit. It raises an EarshotError with a clear message
    when the call cannot be processed; the runner records that and goes on.
    """

    name: str
    after: tuple[str, ...]  # stages whose output this one reads
    wants_gpu: bool

    def info(self) -> StageInfo: ...

    def inputs(self, session: Session, call_id: int) -> str:
        """A digest of the inputs this stage would read for the call (e.g. transcript ids)."""
        ...

    def run(self, case: Case, call_id: int) -> StageOutcome: ...


StageFactory = Callable[..., Stage]

_registry: dict[str, StageFactory | str] = {}
_entry_points_loaded = False


def register_stage(name: str, factory: StageFactory | str, *, replace: bool = False) -> None:
    """Register a stage factory (or a lazy ``"module:attr"`` reference) under `name`."""
    if name in _registry and not replace:
        raise ConfigError(f"a stage named {name!r} is already registered")
    _registry[name] = factory


def unregister_stage(name: str) -> None:
    _registry.pop(name, None)


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for ep in entry_points(group="earshot.stages"):
        _registry.setdefault(ep.name, ep.value)


def available_stages() -> list[str]:
    _load_entry_points()
    return sorted(_registry)


def get_stage(name: str, **options: Any) -> Stage:
    """Build the stage registered as `name` with `options`."""
    _load_entry_points()
    try:
        factory = _registry[name]
    except KeyError:
        raise ConfigError(
            f"unknown stage {name!r}; available: {', '.join(available_stages()) or 'none'}"
        ) from None
    if isinstance(factory, str):
        module, _, attr = factory.partition(":")
        try:
            factory = getattr(import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(
                f"stage {name!r} cannot be loaded from {module}:{attr}: {exc}"
            ) from None
    stage = factory(**options)
    return stage
