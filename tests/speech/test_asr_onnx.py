"""The onnx-asr engine on tiny generated models in onnx-asr's exact layout (nothing downloads)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import onnx_asr
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from earshot.errors import ConfigError, ModelMissingError
from earshot.speech.asr import available_engines, get_engine
from earshot.speech.asr.base import ChunkedAsrEngine, describe
from earshot.speech.chunks import plan_chunks
from earshot.speech.models.store import files_digest, write_manifest
from earshot.speech.recognise import recognise_channels
from earshot.speech.testing_onnx import ONNX_BUILDERS

RATE = 16_000
MODELS = sorted(ONNX_BUILDERS)


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("onnx-models")
    return {name: build(root / name) for name, build in ONNX_BUILDERS.items()}


def _speechlike(seconds: float, seed: int) -> np.ndarray:
    """Broadband noise shaped by a 4 Hz syllable envelope, -20 dBFS: loud in every mel band."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    envelope = 0.5 + 0.5 * np.abs(np.sin(2 * np.pi * 2 * t))
    return (0.1 * envelope * rng.standard_normal(t.size)).astype(np.float32)


def _call(layout: list[tuple[float, float]], total: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed + 100)
    audio = (3e-4 * rng.standard_normal(int(total * RATE))).astype(np.float32)
    for i, (start, end) in enumerate(layout):
        a, b = round(start * RATE), round(end * RATE)
        audio[a:b] += _speechlike((b - a) / RATE, seed + i)[: b - a]
    return audio


def test_registered_and_chunked(tiny_models: dict[str, Path]) -> None:
    assert "onnx-asr" in available_engines()
    engine = get_engine(f"onnx-asr:gigaam-v3-ctc:{tiny_models['gigaam-v3-ctc']}", device="cpu")
    assert isinstance(engine, ChunkedAsrEngine)
    assert engine.max_chunk_s == 25.0  # the catalogue's window for GigaAM v3
    info = describe(engine)
    assert info["engine"] == "onnx-asr" and info["model"] == "gigaam-v3-ctc"
    assert "onnx-asr 0." in str(info["version"])
    # onnx-asr's own names work too, and name the catalogue model
    for native, ours in (("t-tech/t-one", "t-one"), ("nemo-parakeet-tdt-0.6b-v3", None)):
        folder = tiny_models[ours or "parakeet-tdt-0.6b-v3"]
        loaded = get_engine(f"onnx-asr:{native}:{folder}", device="cpu")
        assert loaded.info.model == (ours or "parakeet-tdt-0.6b-v3")
        assert loaded.info.options["onnx_asr_name"] == native


@pytest.mark.parametrize("model", MODELS)
def test_segments_exact_to_chunks_with_word_times(model: str, tiny_models: dict[str, Path]) -> None:
    engine = get_engine(f"onnx-asr:{model}:{tiny_models[model]}", device="cpu")
    audio = _call([(1.0, 3.0), (5.0, 6.5)], 9.0)
    chunks = [(0.9, 3.1), (4.9, 6.6), (7.5, 8.5)]  # the last one is silence
    assert engine.last_run is None
    segments = list(engine.transcribe_chunks(audio, chunks, language="ru"))
    run = engine.last_run  # the run's record, part of the AsrEngine Protocol
    assert run is not None and run.engine is engine.info and run.duration == 9.0
    assert run.language in (("ru", "uk") if model.startswith("parakeet") else ("ru",))
    if model.startswith("parakeet"):
        # NeMo features are normalised per chunk, so a tiny model cannot tell a chunk of pure
        # noise from speech; a trained one can.
        segments = segments[:2]
    assert [(s.start, s.end) for s in segments] == chunks[:2]
    for segment in segments:
        assert segment.text and segment.words
        assert segment.text.replace(" ", "") == "".join(w.word for w in segment.words)
        for word in segment.words:
            assert segment.start <= word.start <= word.end <= segment.end
            assert 0.0 <= word.probability <= 1.0
        # the blank follows the signal energy: words start in the speech, not the padding
        assert segment.words[0].start >= segment.start + 0.05
        # none of these models reports a language; Parakeet's letters may show it
        assert segment.language is None or model.startswith("parakeet")


def test_missing_and_incomplete_folders_never_reach_the_loader(
    tmp_path: Path, tiny_models: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_download(*args: object, **kwargs: object) -> None:
        raise AssertionError("onnx_asr.load_model must not be called (it would download)")

    monkeypatch.setattr(onnx_asr, "load_model", no_download)
    with pytest.raises(ModelMissingError) as missing:
        get_engine(f"onnx-asr:gigaam-v3-rnnt:{tmp_path / 'nowhere'}")
    message = str(missing.value)
    assert "does not exist" in message and "v3_rnnt_joint.onnx" in message
    assert "earshot models fetch gigaam-v3-rnnt" in message
    assert "istupakov/gigaam-v3-onnx" in message
    partial = tmp_path / "t-one"
    partial.mkdir()
    (partial / "model.onnx").write_bytes((tiny_models["t-one"] / "model.onnx").read_bytes())
    with pytest.raises(ModelMissingError, match=r"lacks config\.json.*expected files"):
        get_engine(f"onnx-asr:t-one:{partial}")


def test_bad_specs_and_options(tiny_models: dict[str, Path]) -> None:
    with pytest.raises(ConfigError, match="needs a model and a folder"):
        get_engine("onnx-asr:gigaam-v3-ctc")
    with pytest.raises(ConfigError, match="does not know model"):
        get_engine(f"onnx-asr:no-such-model:{tiny_models['t-one']}")
    with pytest.raises(ConfigError, match="unknown onnx-asr option"):
        get_engine(f"onnx-asr:t-one:{tiny_models['t-one']}", beam_size=3)
    import onnxruntime

    if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
        with pytest.raises(ConfigError, match="onnxruntime-gpu"):
            get_engine(f"onnx-asr:t-one:{tiny_models['t-one']}", device="cuda")


def test_long_regions_split_within_the_window(tiny_models: dict[str, Path]) -> None:
    audio = _call([(0.5, 70.0)], 72.0)
    planned = plan_chunks(audio, [(0.4, 70.2)], 25.0)
    assert len(planned) >= 3
    assert all(end - start <= 25.0 + 1e-3 for start, end in planned)
    assert planned[0][0] == 0.4 and planned[-1][1] == 70.2
    assert all(a[1] == b[0] for a, b in itertools.pairwise(planned))
    engine = get_engine(
        f"onnx-asr:gigaam-v3-ctc:{tiny_models['gigaam-v3-ctc']}", device="cpu", batch_size=2
    )
    segments = list(engine.transcribe_chunks(audio, [(0.4, 70.2)], language=None))
    assert [(s.start, s.end) for s in segments] == planned


def test_batching_does_not_change_results(tiny_models: dict[str, Path]) -> None:
    audio = _call([(0.5, 2.0), (3.0, 6.0), (7.0, 7.8), (9.0, 12.0)], 13.0)
    regions = [(0.4, 2.1), (2.9, 6.1), (6.9, 7.9), (8.9, 12.1)]
    spec = f"onnx-asr:gigaam-v3-ctc:{tiny_models['gigaam-v3-ctc']}"
    one, many = (
        list(
            get_engine(spec, device="cpu", batch_size=size).transcribe_chunks(
                audio, regions, language=None
            )
        )
        for size in (1, 8)
    )
    # Padding inside a batch may change only the chunk's last frame (as with real models).
    assert [(s.start, s.end) for s in one] == [(s.start, s.end) for s in many] == regions
    assert [s.words[:-1] for s in one] == [s.words[:-1] for s in many]


def test_stereo_channels_recognised_on_their_own(tiny_models: dict[str, Path]) -> None:
    engine = get_engine(f"onnx-asr:gigaam-v3-rnnt:{tiny_models['gigaam-v3-rnnt']}", device="cpu")
    left = _call([(0.5, 2.5)], 8.0, seed=1)
    right = _call([(4.0, 6.5)], 8.0, seed=2)
    heard = recognise_channels(
        engine,
        [left, right],
        language="ru",
        regions={0: [(0.4, 2.6)], 1: [(3.9, 6.6)]},
    )
    assert [(h.channel, h.segment.start, h.segment.end) for h in heard] == [
        (0, 0.4, 2.6),
        (1, 3.9, 6.6),
    ]


def test_provenance_hash_is_the_manifest_digest(tmp_path: Path) -> None:
    folder = ONNX_BUILDERS["t-one"](tmp_path / "t-one")
    manifest = write_manifest(folder, "t-one", "test")
    engine = get_engine(f"onnx-asr:t-one:{folder}", device="cpu")
    expected = files_digest({k: v["sha256"] for k, v in manifest["files"].items()})
    assert engine.info.options["model_sha256"] == expected
    config = json.loads((folder / "config.json").read_text("utf-8"))
    assert config["pad_token_id"] == len(config["decoder_params"]["vocabulary"])


def test_language_from_the_letters_a_multilingual_model_writes() -> None:
    from earshot.speech.asr.onnx_asr import script_language

    assert script_language("Мамо, я живий, все добре") is None  # shared letters only
    assert script_language("мамо, ї ж їсти треба") == "uk"
    assert script_language("ты поел сегодня") == "ru"
    assert script_language("ok, roger that") == "en"
    assert script_language("") is None


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0, 170), st.floats(0.06, 90)).map(lambda p: (p[0], p[0] + p[1])),
        max_size=6,
    ),
    st.floats(2.0, 30.0),
)
def test_plan_chunks_covers_regions_within_the_window(
    regions: list[tuple[float, float]], window: float
) -> None:
    audio = np.random.default_rng(0).standard_normal(180 * RATE).astype(np.float32) * 0.01
    chunks = plan_chunks(audio, regions, window)
    assert all(0 <= s < e <= 180 and e - s <= window + 1e-3 for s, e in chunks)
    assert chunks == sorted(chunks)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(chunks))
    union: list[list[float]] = []
    for start, end in sorted(regions):
        if union and start <= union[-1][1]:
            union[-1][1] = max(union[-1][1], end)
        else:
            union.append([start, end])
    expected = sum(min(e, 180.0) - s for s, e in union if min(e, 180.0) - s >= 0.05)
    covered = sum(e - s for s, e in chunks)
    assert covered == pytest.approx(expected, abs=0.002 * (len(union) + len(chunks)))
