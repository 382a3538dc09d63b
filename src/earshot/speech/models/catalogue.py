"""The catalogue of known speech models (``catalogue.yaml``), validated at load.

It is the only list of models: ``earshot models list``, ``fetch``, the default engine choice
and the onnx-asr engine's expected-files check all read it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from ...errors import ConfigError, LexiconError

__all__ = ["CatalogueEntry", "PublishedWer", "catalogue", "entry", "find_entry"]

_ENGINES = ("onnx-asr", "faster-whisper")
_KINDS = ("ctc", "rnnt", "tdt", "seq2seq")


@dataclass(frozen=True)
class PublishedWer:
    """A word error rate the model's authors (or a named third party) published."""

    set: str
    wer: float
    source: str


@dataclass(frozen=True)
class CatalogueEntry:
    """One known model and where to get it."""

    name: str
    engine: str
    onnx_asr_name: str | None
    title: str
    kind: str
    licence: str
    languages: tuple[str, ...]
    sample_rate: int
    parameters_m: int
    size_mb: int
    window_s: float
    word_times: bool
    hub_repo: str
    files: tuple[str, ...]
    default_rank: int | None
    telephone_wer: tuple[PublishedWer, ...]
    speed: str
    why: str
    int8_files: tuple[str, ...] = ()
    """The files of the int8-quantised variant, where the hub publishes one (smaller, faster
    on CPU): ``earshot models fetch NAME --quantization int8``."""

    def variant_files(self, quantization: str | None) -> tuple[str, ...]:
        """The files of the full-precision model, or of its ``int8`` variant."""
        if quantization is None:
            return self.files
        if quantization == "int8" and self.int8_files:
            return self.int8_files
        raise ConfigError(
            f"model {self.name} has no {quantization!r} variant"
            + (" (only int8)" if self.int8_files else "")
        )

    def spec(self, directory: str) -> str:
        """The ``--asr`` spec that loads this model from ``directory``."""
        if self.engine == "onnx-asr":
            return f"onnx-asr:{self.name}:{directory}"
        return f"{self.engine}:{directory}"

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["languages"] = list(self.languages)
        data["files"] = list(self.files)
        data["int8_files"] = list(self.int8_files)
        data["telephone_wer"] = [asdict(w) for w in self.telephone_wer]
        return data


def _entry(raw: Any, index: int) -> CatalogueEntry:
    where = f"speech/models/catalogue.yaml entry {index + 1}"
    if not isinstance(raw, dict):
        raise LexiconError(f"{where}: expected a mapping, got {type(raw).__name__}")
    try:
        wer = tuple(
            PublishedWer(str(w["set"]), float(w["wer"]), str(w["source"]))
            for w in raw.get("telephone_wer") or ()
        )
        item = CatalogueEntry(
            name=str(raw["name"]),
            engine=str(raw["engine"]),
            onnx_asr_name=None if raw.get("onnx_asr_name") is None else str(raw["onnx_asr_name"]),
            title=str(raw["title"]),
            kind=str(raw["kind"]),
            licence=str(raw["licence"]),
            languages=tuple(str(x) for x in raw["languages"]),
            sample_rate=int(raw["sample_rate"]),
            parameters_m=int(raw["parameters_m"]),
            size_mb=int(raw["size_mb"]),
            window_s=float(raw["window_s"]),
            word_times=bool(raw["word_times"]),
            hub_repo=str(raw["hub_repo"]),
            files=tuple(str(x) for x in raw["files"]),
            default_rank=None if raw.get("default_rank") is None else int(raw["default_rank"]),
            telephone_wer=wer,
            speed=str(raw.get("speed", "")),
            why=str(raw.get("why", "")),
            int8_files=tuple(str(x) for x in raw.get("int8_files") or ()),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise LexiconError(f"{where}: missing or invalid field ({error})") from error
    if item.engine not in _ENGINES:
        raise LexiconError(f"{where} ({item.name}): engine must be one of {', '.join(_ENGINES)}")
    if item.kind not in _KINDS:
        raise LexiconError(f"{where} ({item.name}): kind must be one of {', '.join(_KINDS)}")
    if item.engine == "onnx-asr" and not item.onnx_asr_name:
        raise LexiconError(f"{where} ({item.name}): onnx-asr models need onnx_asr_name")
    if item.sample_rate not in (8000, 16000) or not 0 < item.window_s <= 60:
        raise LexiconError(f"{where} ({item.name}): sample_rate 8000/16000, window_s in (0, 60]")
    if not item.files or any(
        "/" in f or f.startswith(".") for f in (*item.files, *item.int8_files)
    ):
        raise LexiconError(f"{where} ({item.name}): files must be plain file names")
    return item


@cache
def catalogue() -> tuple[CatalogueEntry, ...]:
    """Every known model, in catalogue order."""
    text = (resources.files("earshot.speech.models") / "catalogue.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    entries = tuple(_entry(raw, i) for i, raw in enumerate(data.get("models") or ()))
    names = [e.name for e in entries]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise LexiconError(f"speech/models/catalogue.yaml: duplicate names {duplicates}")
    return entries


def find_entry(name: str) -> CatalogueEntry | None:
    """The entry called ``name`` or whose onnx-asr name is ``name``, else None."""
    for item in catalogue():
        if name in (item.name, item.onnx_asr_name):
            return item
    return None


def entry(name: str) -> CatalogueEntry:
    """The entry called ``name``, or :class:`ConfigError` listing the known names."""
    found = find_entry(name)
    if found is None:
        known = ", ".join(e.name for e in catalogue())
        raise ConfigError(f"unknown model {name!r}; known models: {known}")
    return found
