from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from speech_synth import PHRASES, RATE, VOICE_A

from earshot.errors import ConfigError, ModelMissingError
from earshot.speech.asr import AsrEngine, get_engine
from earshot.speech.testing import build_tiny_whisper

# Short decoding keeps the random-weight model fast; the adapter path is the same.
FAST = {"beam_size": 1, "temperature": 0.0, "max_new_tokens": 16, "vad_filter": False}


@pytest.fixture(scope="session")
def tiny_whisper(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_whisper(tmp_path_factory.mktemp("models") / "tiny-whisper")


@pytest.fixture(scope="session")
def speech(tts: Callable[[str, tuple[str, int, int]], np.ndarray]) -> np.ndarray:
    return np.concatenate([np.zeros(RATE // 2, np.float32), tts(PHRASES[0], VOICE_A)])


def _check_segments(engine: AsrEngine, audio: np.ndarray) -> None:
    segments = list(engine.transcribe(audio, language="ru"))
    assert segments
    duration = audio.size / RATE
    for segment in segments:
        assert 0.0 <= segment.start <= segment.end <= duration
        assert segment.avg_logprob is not None and segment.avg_logprob <= 0.0
        assert segment.no_speech_prob is not None and 0.0 <= segment.no_speech_prob <= 1.0
        for word in segment.words:
            assert 0.0 <= word.start <= word.end <= duration
            assert 0.0 <= word.probability <= 1.0
    assert any(segment.words for segment in segments)


def test_transcribes_with_timed_words(tiny_whisper: Path, speech: np.ndarray) -> None:
    engine = get_engine(f"faster-whisper:{tiny_whisper}", **FAST)
    assert engine.info.engine == "faster-whisper"
    assert engine.info.model == str(tiny_whisper)
    assert "ctranslate2" in engine.info.version
    assert engine.info.options["batched"] is False
    _check_segments(engine, speech)


def test_batched_pipeline(tiny_whisper: Path, speech: np.ndarray) -> None:
    engine = get_engine(f"faster-whisper:{tiny_whisper}", batched=True, batch_size=2, **FAST)
    assert engine.info.options["batched"] is True
    segments = list(engine.transcribe(speech, language="ru"))
    assert segments
    assert all(0.0 <= s.start <= s.end <= speech.size / RATE for s in segments)


def test_russian_is_honoured(
    tiny_whisper: Path, speech: np.ndarray, caplog: pytest.LogCaptureFixture
) -> None:
    import ctranslate2  # type: ignore[import-untyped, unused-ignore]

    # CTranslate2 4.8 treats a Whisper model as multilingual only if its vocabulary holds an
    # empty-string token; the generated model must have it or "ru" silently becomes "en".
    assert ctranslate2.models.Whisper(str(tiny_whisper)).is_multilingual
    engine = get_engine(f"faster-whisper:{tiny_whisper}", **FAST)
    with caplog.at_level(logging.WARNING, logger="faster_whisper"):
        list(engine.transcribe(speech, language="ru"))
    assert "English-only" not in caplog.text
    with pytest.raises(ConfigError, match="'xx'"):
        list(engine.transcribe(speech, language="xx"))


def test_missing_model_folder(tmp_path: Path) -> None:
    with pytest.raises(ModelMissingError, match="huggingface-cli download"):
        get_engine(f"faster-whisper:{tmp_path / 'nowhere' / 'whisper'}")


def test_model_folder_without_tokenizer(tiny_whisper: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(tiny_whisper, broken)
    (broken / "tokenizer.json").unlink()
    with pytest.raises(ModelMissingError, match=r"tokenizer\.json"):
        get_engine(f"faster-whisper:{broken}")


def test_model_name_not_in_local_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(ModelMissingError, match="not installed locally"):
        get_engine("faster-whisper:small")


def test_unknown_option(tiny_whisper: Path) -> None:
    with pytest.raises(ConfigError, match="beam_width"):
        get_engine(f"faster-whisper:{tiny_whisper}", beam_width=3)


def test_each_run_keeps_its_info_and_auto_detects_the_language(
    tiny_whisper: Path, speech: np.ndarray
) -> None:
    """faster-whisper's TranscriptionInfo is kept per run: with language "auto" the
    detected language (and its probability) is the run's provenance."""
    from earshot.speech.asr.faster_whisper import FasterWhisperEngine
    from earshot.speech.info import RunInfo

    engine = get_engine(f"faster-whisper:{tiny_whisper}", **FAST)
    assert isinstance(engine, FasterWhisperEngine) and engine.last_run is None
    list(engine.transcribe(speech, language="auto"))
    run = engine.last_run
    assert isinstance(run, RunInfo) and run.engine == engine.info
    assert run.language in engine.supported_languages
    assert run.language_probability is not None and 0.0 <= run.language_probability <= 1.0
    assert run.duration == pytest.approx(speech.size / RATE, abs=0.01)
    list(engine.transcribe(speech, language="ru"))
    assert engine.last_run is not None and engine.last_run.language == "ru"
