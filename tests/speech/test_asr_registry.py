from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from earshot.errors import ConfigError, ModelMissingError, SidecarError
from earshot.speech.asr import (
    AsrEngine,
    AsrSegment,
    AsrWord,
    available_engines,
    get_engine,
    register_engine,
    unregister_engine,
)
from earshot.speech.info import EngineInfo, RunInfo


class EchoEngine:
    """A third party's engine: reports the loudest second as one segment."""

    def __init__(self, model: str | None, label: str = "echo") -> None:
        self._info = EngineInfo("echo", model or "none", "0.1", {"label": label})
        self.label = label
        self.last_run: RunInfo | None = None

    @property
    def info(self) -> EngineInfo:
        return self._info

    def transcribe(self, audio: np.ndarray, *, language: str | None) -> Iterator[AsrSegment]:
        seconds = audio[: audio.size - audio.size % 16_000].reshape(-1, 16_000)
        loudest = int(np.argmax(np.abs(seconds).max(axis=1)))
        self.last_run = RunInfo(self._info, language=language, duration=audio.size / 16_000)
        yield AsrSegment(float(loudest), loudest + 1.0, f"{self.label} {language}")


@pytest.fixture
def echo_registered() -> Iterator[None]:
    register_engine("echo", EchoEngine)
    yield
    unregister_engine("echo")


def test_third_party_engine(echo_registered: None) -> None:
    assert {"echo", "faster-whisper", "vosk", "sidecar"} <= set(available_engines())
    engine = get_engine("echo:my-model", label="loud")
    audio = np.zeros(3 * 16_000, np.float32)
    audio[20_000] = 0.5
    segments = list(engine.transcribe(audio, language="ru"))
    assert segments == [AsrSegment(1.0, 2.0, "loud ru")]
    assert engine.info.model == "my-model"


def test_taken_and_unknown_names(echo_registered: None) -> None:
    with pytest.raises(ConfigError, match="already registered"):
        register_engine("echo", EchoEngine)
    register_engine("echo", EchoEngine, replace=True)
    with pytest.raises(ConfigError, match="unknown ASR engine 'nope'"):
        get_engine("nope:model")


def test_factory_must_return_an_engine() -> None:
    register_engine("broken", lambda model, **options: object())  # type: ignore[arg-type]
    try:
        with pytest.raises(ConfigError, match="lacks `info`, `last_run` or `transcribe`"):
            get_engine("broken")
    finally:
        unregister_engine("broken")


class NoRunRecord:
    """An engine that transcribes but keeps no record of its runs: not an AsrEngine."""

    info = EngineInfo("forgetful", "none", "0", {})

    def transcribe(self, audio: np.ndarray, *, language: str | None) -> Iterator[AsrSegment]:
        yield AsrSegment(0.0, 1.0, "x")


def test_the_run_record_is_part_of_the_protocol(echo_registered: None) -> None:
    assert not isinstance(NoRunRecord(), AsrEngine)
    register_engine("forgetful", lambda model, **options: NoRunRecord())  # type: ignore[arg-type,return-value]
    try:
        with pytest.raises(ConfigError, match="last_run"):
            get_engine("forgetful")
    finally:
        unregister_engine("forgetful")
    engine = get_engine("echo:m")
    assert isinstance(engine, AsrEngine) and engine.last_run is None
    list(engine.transcribe(np.zeros(32_000, np.float32), language="ru"))
    assert engine.last_run is not None and engine.last_run.engine is engine.info
    assert engine.last_run.as_dict()["duration"] == 2.0


def test_lazy_reference_that_cannot_load() -> None:
    register_engine("ghost", "earshot_ghost_module:create")
    try:
        with pytest.raises(ConfigError, match="cannot be loaded"):
            get_engine("ghost:x")
    finally:
        unregister_engine("ghost")


def test_vosk_missing_model(tmp_path: Path) -> None:
    with pytest.raises(ModelMissingError, match="alphacephei"):
        get_engine(f"vosk:{tmp_path / 'vosk-model-ru-0.42'}")
    with pytest.raises(ModelMissingError, match="not a Vosk model folder"):
        get_engine(f"vosk:{tmp_path}")
    with pytest.raises(ModelMissingError):
        get_engine("vosk")


def test_sidecar_replays_and_clips() -> None:
    cues = [
        AsrSegment(2.5, 4.0, "потом", (AsrWord(2.5, 3.0, "потом", 1.0),)),
        AsrSegment(0.0, 1.2, "алло мам"),
        AsrSegment(5.0, 6.0, "after the end"),
    ]
    engine = get_engine("sidecar:call-0412.vtt", segments=cues)
    audio = np.zeros(3 * 16_000, np.float32)
    assert engine.last_run is None
    segments = list(engine.transcribe(audio, language="ru"))
    assert engine.last_run is not None and engine.last_run.engine == engine.info
    assert (engine.last_run.language, engine.last_run.duration) == ("ru", 3.0)
    assert [s.text for s in segments] == ["алло мам", "потом"]
    assert segments[1].end == 3.0
    assert engine.info.model == "call-0412.vtt"
    with pytest.raises(SidecarError, match="cue 1"):
        get_engine("sidecar:bad.srt", segments=[AsrSegment(3.0, 1.0, "x")])


def test_engines_describe_themselves_without_loading_a_model() -> None:
    import subprocess
    import sys

    from earshot.speech.asr import describe_engine

    for name in available_engines():
        described = describe_engine(name)
        assert described.name == name and described.version and not described.needs_gpu
        assert described.description, f"{name} describes itself (a module-level describe())"
    onnx = describe_engine("onnx-asr")
    assert onnx.version != "unknown" and "GigaAM" in onnx.description
    probe = (
        "import sys; from earshot.speech.asr import describe_engine; "
        "[describe_engine(n) for n in ('faster-whisper', 'vosk', 'onnx-asr')]; "
        "print(sorted(m for m in ('ctranslate2', 'faster_whisper', 'vosk', 'onnx_asr', "
        "'onnxruntime') if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert loaded.strip() == "[]", "describing an engine must not load its library or model"
    with pytest.raises(ConfigError, match="unknown ASR engine 'nope'"):
        describe_engine("nope")


ENGINE_MODULE = '''
"""A third party's ASR engine, as docs/architecture.md describes one."""

from earshot.speech.asr import AsrSegment
from earshot.speech.info import EngineDescription, EngineInfo, RunInfo


class Whisperless:
    def __init__(self, model):
        self.info = EngineInfo("whisperless", model or "none", "0.2", {})
        self.last_run = None

    def transcribe(self, audio, *, language):
        self.last_run = RunInfo(self.info, language=language or "ru", duration=audio.size / 16000)
        yield AsrSegment(0.0, audio.size / 16000, "алло")


def describe():
    return EngineDescription("whisperless", "0.2", False, "says hello")


def create(model, **options):
    return Whisperless(model)
'''


def test_an_engine_added_by_entry_point(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One module and one entry point: listed, described without loading, usable."""
    from earshot.speech.asr import describe_engine, registry

    site = tmp_path / "site"
    (site / "whisperless").mkdir(parents=True)
    (site / "whisperless" / "__init__.py").write_text(ENGINE_MODULE, encoding="utf-8")
    info = site / "whisperless-0.2.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: whisperless\nVersion: 0.2\n")
    (info / "entry_points.txt").write_text(
        "[earshot.asr_engines]\nwhisperless = whisperless:create\n", encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setattr(registry, "_entry_points_loaded", False)
    assert "whisperless" in available_engines()
    assert describe_engine("whisperless").description == "says hello"
    engine = get_engine("whisperless:tiny")
    assert [s.text for s in engine.transcribe(np.zeros(16_000, np.float32), language=None)] == [
        "алло"
    ]
    assert engine.last_run.language == "ru"  # type: ignore[attr-defined]
    unregister_engine("whisperless")
