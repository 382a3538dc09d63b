"""Find an ASR engine by name: ``get_engine("faster-whisper:/models/small-ct2", beam_size=5)``.

Engines are factories ``(model: str | None, **options) -> AsrEngine`` registered under a name.
Engines are published as entry points in the group ``earshot.asr_engines`` (value:
``package.module:create``), the built-in ones in Earshot's own pyproject.toml exactly like a
third party's; :func:`register_engine` adds one at run time (tests, scripts).  The module of
each factory also provides ``describe() -> EngineDescription`` (name, version, whether it
needs a GPU), read by :func:`describe_engine` without loading any model.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from importlib import metadata
from typing import Any

from earshot.errors import ConfigError
from earshot.speech.asr.base import AsrEngine
from earshot.speech.info import EngineDescription, package_version

__all__ = [
    "ENTRY_POINT_GROUP",
    "EngineFactory",
    "available_engines",
    "describe_engine",
    "get_engine",
    "register_engine",
    "unregister_engine",
]

ENTRY_POINT_GROUP = "earshot.asr_engines"

EngineFactory = Callable[..., AsrEngine]

_factories: dict[str, EngineFactory | str] = {}
_entry_points_loaded = False


def register_engine(name: str, factory: EngineFactory | str, *, replace: bool = False) -> None:
    """Make ``factory`` (a callable or a lazy "module:attribute" reference) available as
    ``name``.  Registering a taken name raises unless ``replace`` is set."""
    if not name or ":" in name:
        raise ConfigError(f"ASR engine name {name!r} must be non-empty and contain no ':'")
    _load_entry_points()
    if name in _factories and not replace:
        raise ConfigError(
            f"an ASR engine named {name!r} is already registered; "
            "pass replace=True to override it or choose another name"
        )
    _factories[name] = factory


def unregister_engine(name: str) -> None:
    """Forget an engine (tests, plugins being unloaded)."""
    _factories.pop(name, None)


def available_engines() -> list[str]:
    """Names that :func:`get_engine` accepts."""
    _load_entry_points()
    return sorted(_factories)


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        _factories.setdefault(entry_point.name, entry_point.value)


def _resolve(name: str, factory: EngineFactory | str) -> EngineFactory:
    if not isinstance(factory, str):
        return factory
    module_name, _, attribute = factory.partition(":")
    try:
        module = importlib.import_module(module_name)
        resolved: EngineFactory = getattr(module, attribute)
    except (ImportError, AttributeError) as error:
        raise ConfigError(
            f"ASR engine {name!r} points at {factory!r}, which cannot be loaded ({error}); "
            "install the package that provides it"
        ) from error
    _factories[name] = resolved
    return resolved


def get_engine(spec: str, **options: Any) -> AsrEngine:
    """An engine from a spec "NAME" or "NAME:MODEL" (the model part may itself contain ':',
    e.g. a Windows path), configured with ``options``."""
    _load_entry_points()
    name, _, model = spec.partition(":")
    if name not in _factories:
        raise ConfigError(
            f"unknown ASR engine {name!r} in {spec!r}; available: {', '.join(available_engines())}"
        )
    factory = _resolve(name, _factories[name])
    engine = factory(model or None, **options)
    if not isinstance(engine, AsrEngine):
        raise ConfigError(
            f"ASR engine {name!r} returned {type(engine).__name__}, which lacks `info`, "
            "`last_run` or `transcribe` (the AsrEngine Protocol); fix the engine's factory"
        )
    return engine


def describe_engine(name: str) -> EngineDescription:
    """What engine `name` is (name, version, needs a GPU), without loading a model: its
    module's ``describe()``, or a plain description for a factory that has none."""
    _load_entry_points()
    if name not in _factories:
        raise ConfigError(
            f"unknown ASR engine {name!r}; available: {', '.join(available_engines())}"
        )
    factory = _factories[name]
    if isinstance(factory, str):
        module_name = factory.partition(":")[0]
        try:
            module = importlib.import_module(module_name)
        except ImportError as error:
            raise ConfigError(
                f"ASR engine {name!r} points at {factory!r}, which cannot be loaded ({error}); "
                "install the package that provides it"
            ) from error
    else:
        module = importlib.import_module(factory.__module__)
    describe = getattr(module, "describe", None)
    if callable(describe):
        description = describe()
        if isinstance(description, EngineDescription):
            return description
    distribution = module.__name__.partition(".")[0]
    return EngineDescription(name, package_version(distribution), False, "")
