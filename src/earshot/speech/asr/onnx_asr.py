"""GigaAM, T-one, Parakeet and other onnx-asr models, strictly from local folders.

``get_engine("onnx-asr:gigaam-v3-rnnt:/models/gigaam-v3-rnnt")``.  onnx-asr needs only numpy
and onnxruntime (onnxruntime-gpu for CUDA).  Its ``load_model(name, path)`` would try to
download into a folder that does not exist, so the folder and every file onnx-asr's loader
globs for are checked first and a missing model gets an error naming the files and how to get
them on a connected machine.

Long calls: the engine never hands the model more than its window.  ``transcribe_chunks`` takes
the speech regions of one channel (the VAD stage's), splits those longer than the window at the
quietest point, recognises them in batches of similar length, and yields one segment per chunk
whose times are exactly the chunk's; word times come from the model's token timestamps (CTC
frame alignment, transducer emission frames) offset by the chunk start.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from earshot.errors import ConfigError, ModelMissingError
from earshot.speech.asr.base import AsrSegment, AsrWord
from earshot.speech.chunks import plan_chunks
from earshot.speech.info import (
    SAMPLE_RATE,
    EngineDescription,
    EngineInfo,
    RunInfo,
    check_audio,
    package_version,
)

__all__ = [
    "OnnxAsrEngine",
    "OnnxAsrOptions",
    "create",
    "describe",
    "expected_files",
    "script_language",
]

_DEVICES = ("auto", "cpu", "cuda")
_MIN_CHUNK_SAMPLES = SAMPLE_RATE // 2  # pad very short chunks: GigaAM v3 needs >= 20 ms, TDT more
_DEFAULT_WINDOW_S = 25.0
_MIN_WORD_S = 0.02  # tokens emitted on one transducer frame share its time


@dataclass(frozen=True)
class OnnxAsrOptions:
    """``device``: cpu, cuda (onnxruntime-gpu) or auto (cuda when available).  ``batch_size``:
    chunks recognised per model call (sorted by length so a batch pads little).
    ``max_chunk_s``: None = the model's window from the catalogue (25 s for unknown models).
    ``quantization``: e.g. "int8" to load ``v3_ctc.int8.onnx``.  ``cpu_threads``: 0 = ORT's."""

    device: str = "auto"
    batch_size: int = 8
    max_chunk_s: float | None = None
    quantization: str | None = None
    cpu_threads: int = 0


def _onnx_asr_name(model: str) -> tuple[str, Any]:
    """onnx-asr's model name for ``model`` (a catalogue name or an onnx-asr name) and the
    catalogue entry when there is one."""
    from earshot.speech.models.catalogue import find_entry

    found = find_entry(model)
    if found is not None and found.engine == "onnx-asr" and found.onnx_asr_name:
        return found.onnx_asr_name, found
    return model, None


def expected_files(model: str, quantization: str | None = None) -> list[str]:
    """File names (onnx-asr's glob patterns, e.g. ``v?_ctc.onnx``) the loader of ``model`` reads,
    plus ``config.json`` where the catalogue lists it (GigaAM v3 needs it to pick its features,
    T-one keeps its vocabulary there)."""
    from onnx_asr.loader import create_asr_resolver
    from onnx_asr.utils import ModelLoadingError

    name, found = _onnx_asr_name(model)
    try:
        resolver = create_asr_resolver(name, Path("/nonexistent-earshot-model-dir"), offline=True)
    except ModelLoadingError as error:
        raise ConfigError(
            f"onnx-asr does not know model {model!r} ({error}); use a catalogue name "
            "(`earshot models list`) or an onnx-asr model name"
        ) from error
    files = list(resolver.model_type._get_model_files(quantization).values())
    if found is not None and "config.json" in found.files:
        files.insert(0, "config.json")
    return files


def _check_folder(model: str, folder: Path, quantization: str | None) -> None:
    """Raise :class:`ModelMissingError` unless ``folder`` holds every file onnx-asr will read."""
    _, found = _onnx_asr_name(model)
    patterns = expected_files(model, quantization)
    missing = [p for p in patterns if not any(f.is_file() for f in folder.glob(p))]
    if folder.is_dir() and not missing:
        return
    listed = ", ".join(found.files) if found is not None else ", ".join(patterns)
    how = (
        f"on a machine with network run `earshot models fetch {found.name}` (from "
        f"{found.hub_repo}) and bring the folder here with `earshot models import FOLDER`"
        if found is not None
        else "download the model's ONNX export for onnx-asr on a machine with network and copy "
        "the folder here"
    )
    what = "does not exist" if not folder.is_dir() else f"lacks {', '.join(missing)}"
    raise ModelMissingError(
        f"onnx-asr model {model}: folder {folder} {what}; expected files: {listed}; {how}"
    )


def _complete(model: str, folder: Path, quantization: str | None) -> bool:
    return all(
        any(f.is_file() for f in folder.glob(p)) for p in expected_files(model, quantization)
    )


def _has_only_int8(model: str, folder: Path) -> bool:
    """True when ``folder`` holds the int8 variant of ``model`` but not the full one."""
    return (
        folder.is_dir() and not _complete(model, folder, None) and _complete(model, folder, "int8")
    )


def _providers(device: str) -> list[str]:
    import onnxruntime as ort

    available = ort.get_available_providers()
    if device == "auto":
        device = "cuda" if "CUDAExecutionProvider" in available else "cpu"
    if device == "cpu":
        return ["CPUExecutionProvider"]
    if "CUDAExecutionProvider" not in available:
        raise ConfigError(
            "device=cuda needs onnxruntime-gpu with a working CUDA install "
            f"(available providers: {', '.join(available)}); use device=cpu"
        )
    return ["CUDAExecutionProvider", "CPUExecutionProvider"]


class OnnxAsrEngine:
    """A loaded onnx-asr model with timestamps on."""

    def __init__(self, model: str, folder: Path, options: OnnxAsrOptions | None = None) -> None:
        import onnx_asr
        import onnxruntime as ort

        from earshot.speech.models.store import model_digest

        self.options = options or OnnxAsrOptions()
        self.last_run: RunInfo | None = None
        if self.options.device not in _DEVICES:
            raise ConfigError(
                f"device must be one of {', '.join(_DEVICES)}, not {self.options.device!r}"
            )
        if self.options.batch_size < 1:
            raise ConfigError("batch_size must be at least 1")
        self.model = model
        self.folder = folder.expanduser()
        if self.options.quantization is None and _has_only_int8(model, self.folder):
            # A folder fetched with --quantization int8: load that variant without being told.
            self.options = replace(self.options, quantization="int8")
        _check_folder(model, self.folder, self.options.quantization)
        name, found = _onnx_asr_name(model)
        self._entry = found
        # Whisper and Canary take a language prompt; CTC and transducer models take none.
        self._takes_language = "whisper" in name or "canary" in name
        self._multilingual = found is not None and len(found.languages) > 1
        providers = _providers(self.options.device)
        session = ort.SessionOptions()
        if self.options.cpu_threads:
            session.intra_op_num_threads = self.options.cpu_threads
        self._model = onnx_asr.load_model(
            name,
            self.folder,
            quantization=self.options.quantization,
            providers=providers,
            sess_options=session,
        ).with_timestamps()
        window = self.options.max_chunk_s or (found.window_s if found else _DEFAULT_WINDOW_S)
        self._max_chunk_s = float(window)
        # Hash what the loader reads (and ONNX external weights), not the whole folder: a hub
        # snapshot may hold gigabytes the model never opens (T-one's KenLM, other variants).
        read = {
            f.name
            for pattern in expected_files(model, self.options.quantization)
            for f in self.folder.glob(pattern)
        }
        files = sorted(read | {f"{n}.data" for n in read if (self.folder / f"{n}.data").is_file()})
        self._info = EngineInfo(
            engine="onnx-asr",
            model=found.name if found else model,
            version=f"onnx-asr {package_version('onnx-asr')}, onnxruntime {ort.__version__}",
            options={
                **asdict(self.options),
                "max_chunk_s": self._max_chunk_s,
                "providers": providers,
                "onnx_asr_name": name,
                "model_dir": str(self.folder),
                "model_sha256": model_digest(self.folder, files),
            },
        )

    @property
    def info(self) -> EngineInfo:
        return self._info

    @property
    def max_chunk_s(self) -> float:
        return self._max_chunk_s

    def transcribe(self, audio: np.ndarray, *, language: str | None) -> Iterator[AsrSegment]:
        """A whole channel: Silero VAD finds the speech, then :meth:`transcribe_chunks`."""
        from earshot.speech.vad import default_vad

        samples = check_audio(audio)
        regions = [(r.start, r.end) for r in default_vad().detect(samples)]
        yield from self.transcribe_chunks(samples, regions, language=language)

    def transcribe_chunks(
        self, audio: np.ndarray, chunks: Sequence[tuple[float, float]], *, language: str | None
    ) -> Iterator[AsrSegment]:
        """One segment per chunk with text, in time order; times exact to the chunk."""
        samples = check_audio(audio)
        planned = plan_chunks(samples, chunks, self._max_chunk_s)
        prompt: dict[str, Any] = {"language": language} if self._takes_language and language else {}
        order = sorted(range(len(planned)), key=lambda i: planned[i][1] - planned[i][0])
        results: dict[int, AsrSegment] = {}
        for first in range(0, len(order), self.options.batch_size):
            batch = order[first : first + self.options.batch_size]
            waves: list[Any] = [self._slice(samples, *planned[i]) for i in batch]
            for index, result in zip(batch, self._model.recognize(waves, **prompt), strict=True):
                segment = _segment(result, *planned[index], self._multilingual)
                if segment is not None:
                    results[index] = segment
        self.last_run = RunInfo(
            self._info,
            language=_run_language([results[i] for i in sorted(results)], language),
            duration=samples.size / SAMPLE_RATE,
        )
        for index in sorted(results):
            yield results[index]

    @staticmethod
    def _slice(samples: np.ndarray, start: float, end: float) -> np.ndarray:
        piece = samples[round(start * SAMPLE_RATE) : round(end * SAMPLE_RATE)]
        if piece.size < _MIN_CHUNK_SAMPLES:
            piece = np.pad(piece, (0, _MIN_CHUNK_SAMPLES - piece.size))
        return np.ascontiguousarray(piece, dtype=np.float32)


def _words(result: Any, start: float, end: float) -> tuple[AsrWord, ...]:
    """Words from token timestamps: a token that begins with a space (``▁`` in the vocabulary)
    starts a word; a word ends where the next token starts (or at the chunk's end)."""
    tokens: list[str] = list(result.tokens or [])
    stamps: list[float] = list(result.timestamps or [])
    logprobs: list[float] = list(result.logprobs or [0.0] * len(tokens))
    if not tokens or len(stamps) != len(tokens):
        return ()
    duration = end - start
    groups: list[list[int]] = []
    for i, token in enumerate(tokens):
        if token.startswith(" ") or not groups:
            groups.append([])
        if token.strip():
            groups[-1].append(i)
    words = []
    boundaries = [g[0] for g in groups if g] + [len(tokens)]
    for group, after in zip((g for g in groups if g), boundaries[1:], strict=True):
        text = "".join(tokens[i] for i in group).strip()
        first = min(max(stamps[group[0]], 0.0), duration)
        last = min(stamps[after], duration) if after < len(tokens) else duration
        last = min(max(last, first + _MIN_WORD_S), duration)
        mean = sum(logprobs[i] for i in group) / len(group)
        words.append(
            AsrWord(
                start=round(start + first, 3),
                end=round(start + max(last, first), 3),
                word=text,
                probability=round(min(1.0, max(0.0, math.exp(mean))), 4),
            )
        )
    return tuple(words)


_UKRAINIAN_ONLY = set("іїєґ")
_RUSSIAN_ONLY = set("ыэъё")


def script_language(text: str) -> str | None:
    """The language a multilingual model wrote ``text`` in, from letters only one of the two
    languages uses (і ї є ґ: Ukrainian; ы э ъ ё: Russian) or the Latin script (English);
    None when the text does not say (e.g. "так", "да" alone)."""
    letters = {c for c in text.lower() if c.isalpha()}
    uk, ru = bool(letters & _UKRAINIAN_ONLY), bool(letters & _RUSSIAN_ONLY)
    if uk != ru:
        return "uk" if uk else "ru"
    latin = sum(c.isascii() for c in letters)
    if letters and latin == len(letters):
        return "en"
    return None


def _run_language(segments: Sequence[AsrSegment], asked: str | None) -> str | None:
    """The language of a run: the one most segments were written in (a multilingual model
    says so in its letters), else the one asked for ("auto" and None: not known)."""
    counts: dict[str, int] = {}
    for segment in segments:
        if segment.language:
            counts[segment.language] = counts.get(segment.language, 0) + 1
    if counts:
        return max(sorted(counts), key=lambda code: counts[code])
    return None if asked in (None, "auto") else asked


def _segment(
    result: Any, start: float, end: float, multilingual: bool = False
) -> AsrSegment | None:
    text = " ".join(str(result.text).split())
    if not text:
        return None
    words = _words(result, start, end)
    logprobs = list(result.logprobs or [])
    return AsrSegment(
        start=start,
        end=end,
        text=text,
        words=words,
        avg_logprob=round(sum(logprobs) / len(logprobs), 4) if logprobs else None,
        # No onnx-asr CTC/transducer model reports a language; a multilingual one (Parakeet:
        # Russian and Ukrainian) shows it in the letters it writes.
        language=script_language(text) if multilingual else None,
    )


def describe() -> EngineDescription:
    """onnx-asr without loading a model: ONNX Runtime runs it on a CPU; onnxruntime-gpu
    (device=cuda) speeds it up but is never required."""
    return EngineDescription(
        name="onnx-asr",
        version=package_version("onnx-asr"),
        needs_gpu=False,
        description="GigaAM, T-one, Parakeet on ONNX Runtime; CPU, or CUDA with "
        "onnxruntime-gpu; local model folders only",
    )


def create(model: str | None, **options: Any) -> OnnxAsrEngine:
    """Registry factory: ``get_engine("onnx-asr:gigaam-v3-ctc:/models/gigaam-v3-ctc")``."""
    name, _, folder = (model or "").partition(":")
    if not name or not folder:
        raise ConfigError(
            "onnx-asr needs a model and a folder: `onnx-asr:MODEL:/path/to/folder` with MODEL "
            "e.g. gigaam-v3-rnnt, gigaam-v3-ctc, t-one, parakeet-tdt-0.6b-v3 (see `earshot models "
            "list`), or just the model name when it is installed in the models directory"
        )
    known = set(OnnxAsrOptions.__dataclass_fields__)
    unknown = sorted(set(options) - known)
    if unknown:
        raise ConfigError(
            f"unknown onnx-asr option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    return OnnxAsrEngine(name, Path(folder), replace(OnnxAsrOptions(), **options))
