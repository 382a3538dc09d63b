"""Generated speech models for tests and benchmarks.

Real Whisper weights cannot be downloaded at run time (house rule, and this machine has no
network), yet the faster-whisper adapter must be exercised end to end.  This module writes a
*structurally real* Whisper model in CTranslate2 format: the genuine vocabulary layout (byte-level
symbols, special tokens, 99 language tokens, 1,501 timestamp tokens), a byte-level
``tokenizer.json`` and random weights.  faster-whisper and CTranslate2 load and run it exactly as
they would a converted ``openai/whisper-*`` checkpoint; only the text it produces is noise.

The multilingual wrinkle: CTranslate2 4.8.5 does not decide ``Whisper.is_multilingual`` from the
vocabulary size (as older releases did, ``size >= 51865``) nor from ``config.lang_ids``: its
``WhisperReplica`` constructor sets ``is_multilingual = vocabulary.to_id("") != unk_id``, i.e. the
model is multilingual iff its ``vocabulary.json`` holds an *empty-string* token, as vocabularies
converted from multilingual checkpoints do (verified by disassembling the shipped library and
by flipping that one token).  Without it faster-whisper logs "The current model is English-only"
and silently transcribes in English.  ``num_languages`` is ``id(<|nospeech|>) - id(<|sot|>) - 5``.
We therefore put ``""`` at id 50256 of the CTranslate2 vocabulary (the tokenizer keeps a filler
there; faster-whisper decodes ids with the tokenizer, so the two only need to agree on the ids
it can emit) and also write ``lang_ids`` for language detection.

``large_v3_shaped=True`` writes a model with large-v3 dimensions (128 mel bins, 32+32 layers,
d_model 1280, 100 languages) for throughput benchmarks on a GPU; it is several GB and is never
built in the test suite.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..testing_models import RandomTransformerWeights

__all__ = [
    "WHISPER_LANGUAGES",
    "TinyWhisperShape",
    "build_tiny_whisper",
]

# Order of the language tokens in OpenAI Whisper's vocabulary (ids 50259...).  This is a fact of
# the model format, not domain knowledge: the 100th entry ("yue") exists only in large-v3.
WHISPER_LANGUAGES: tuple[str, ...] = (
    "en", "zh", "de", "es", "ru", "ko", "fr", "ja", "pt", "tr", "pl", "ca", "nl", "ar", "sv",
    "it", "id", "hi", "fi", "vi", "he", "uk", "el", "ms", "cs", "ro", "da", "hu", "ta", "no",
    "th", "ur", "hr", "bg", "lt", "la", "mi", "ml", "cy", "sk", "te", "fa", "lv", "bn", "sr",
    "az", "sl", "kn", "et", "mk", "br", "eu", "is", "hy", "ne", "mn", "bs", "kk", "sq", "sw",
    "gl", "mr", "pa", "si", "km", "sn", "yo", "so", "af", "oc", "ka", "be", "tg", "sd", "gu",
    "am", "yi", "lo", "uz", "fo", "ht", "ps", "tk", "nn", "mt", "sa", "lb", "my", "bo", "tl",
    "mg", "as", "tt", "haw", "ln", "ha", "ba", "jw", "su", "yue",
)  # fmt: skip

_FIRST_SPECIAL_ID = 50257  # <|endoftext|> in every multilingual Whisper vocabulary
_TIMESTAMP_COUNT = 1501  # <|0.00|> ... <|30.00|> in steps of 0.02 s
_ENCODER_POSITIONS = 1500  # 30 s of audio after the two convolutions
_DECODER_POSITIONS = 448
_NEVER = -1.0e4  # an output bias no logit overcomes
_MULTILINGUAL_MARKER = ""  # CTranslate2 4.8 reads "vocabulary has an empty token" as multilingual


@dataclass(frozen=True)
class TinyWhisperShape:
    """Dimensions of a generated Whisper model."""

    d_model: int = 64
    encoder_layers: int = 1
    encoder_heads: int = 2
    decoder_layers: int = 1
    decoder_heads: int = 2
    n_mels: int = 80
    languages: int = 99

    @property
    def ffn(self) -> int:
        return 4 * self.d_model


TINY = TinyWhisperShape()
LARGE_V3 = TinyWhisperShape(
    d_model=1280,
    encoder_layers=32,
    encoder_heads=20,
    decoder_layers=32,
    decoder_heads=20,
    n_mels=128,
    languages=100,
)


def _vocabulary(shape: TinyWhisperShape) -> list[str]:
    """Whisper's token list: ids match the real multilingual vocabulary position for position."""
    from tokenizers.pre_tokenizers import ByteLevel

    tokens = sorted(ByteLevel.alphabet())
    # Multi-character fillers are unreachable for a BPE without merges, so they never decode.
    tokens += [f"filler{i}" for i in range(_FIRST_SPECIAL_ID - len(tokens))]
    tokens += ["<|endoftext|>", "<|startoftranscript|>"]
    tokens += [f"<|{code}|>" for code in WHISPER_LANGUAGES[: shape.languages]]
    tokens += [
        "<|translate|>",
        "<|transcribe|>",
        "<|startoflm|>",
        "<|startofprev|>",
        "<|nospeech|>",
        "<|notimestamps|>",
    ]
    tokens += [f"<|{i * 0.02:.2f}|>" for i in range(_TIMESTAMP_COUNT)]
    return tokens


def _write_tokenizer(tokens: list[str], path: Path) -> None:
    """A byte-level BPE without merges: every byte is one token, specials are special.

    faster-whisper needs a byte-level tokenizer because it encodes symbols such as "♪" when it
    builds its list of non-speech tokens to suppress.
    """
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

    byte_symbols = {token: i for i, token in enumerate(tokens) if not token.startswith("<|")}
    tokenizer = Tokenizer(models.BPE(vocab=byte_symbols, merges=[]))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    specials = [token for token in tokens if token.startswith("<|")]
    tokenizer.add_special_tokens([AddedToken(token, special=True) for token in specials])
    for token in ("<|endoftext|>", "<|ru|>", "<|0.00|>"):
        if tokenizer.token_to_id(token) != tokens.index(token):
            raise RuntimeError(f"tokenizer id of {token} does not match the vocabulary")
    tokenizer.save(str(path))


def _build_spec(shape: TinyWhisperShape, vocabulary_size: int, seed: int) -> object:
    from ctranslate2.specs import whisper_spec  # type: ignore[import-untyped, unused-ignore]

    fill = RandomTransformerWeights(
        np.random.default_rng(seed), d_model=shape.d_model, ffn=shape.ffn, scale=0.02
    )
    d = shape.d_model

    spec = whisper_spec.WhisperSpec(
        shape.encoder_layers, shape.encoder_heads, shape.decoder_layers, shape.decoder_heads
    )
    encoder = spec.encoder
    encoder.conv1.weight = fill.weights(d, shape.n_mels, 3)
    encoder.conv1.bias = np.zeros(d, dtype=np.float32)
    encoder.conv2.weight = fill.weights(d, d, 3)
    encoder.conv2.bias = np.zeros(d, dtype=np.float32)
    encoder.position_encodings.encodings = fill.weights(_ENCODER_POSITIONS, d)
    fill.norm(encoder.layer_norm)
    for layer in encoder.layer:
        fill.encoder_layer(layer)

    decoder = spec.decoder
    decoder.embeddings.weight = fill.weights(vocabulary_size, d)
    decoder.position_encodings.encodings = fill.weights(_DECODER_POSITIONS, d)
    fill.norm(decoder.layer_norm)
    for layer in decoder.layer:
        fill.decoder_layer(layer)
    decoder.projection.weight = decoder.embeddings.weight
    return spec


def build_tiny_whisper(
    directory: Path,
    *,
    large_v3_shaped: bool = False,
    suppress_end_of_text: bool = False,
    seed: int = 0,
) -> Path:
    """Write a random-weight Whisper model in CTranslate2 format into ``directory``.

    The directory gets ``model.bin``, ``config.json``, ``vocabulary.json``, ``tokenizer.json``
    and ``preprocessor_config.json`` (mel bin count), which is everything
    ``faster_whisper.WhisperModel(directory, local_files_only=True)`` reads.

    ``suppress_end_of_text`` gives the end-of-text token a prohibitive output bias, so every
    30-second window decodes to the full 448-token limit: the worst case, for benchmarks.
    Returns ``directory``.
    """
    shape = LARGE_V3 if large_v3_shaped else TINY
    directory.mkdir(parents=True, exist_ok=True)
    tokens = _vocabulary(shape)
    spec = _build_spec(shape, len(tokens), seed)
    end_of_text = tokens.index("<|endoftext|>")
    # Output bias: fillers (most of the vocabulary, meaningless here) are never emitted, so the
    # random model speaks in byte tokens and timestamps like a real one.
    bias = np.zeros(len(tokens), dtype=np.float32)
    bias[256:end_of_text] = _NEVER
    if suppress_end_of_text:
        bias[end_of_text] = _NEVER
    spec.decoder.projection.bias = bias  # type: ignore[attr-defined]
    ct2_tokens = list(tokens)
    ct2_tokens[end_of_text - 1] = _MULTILINGUAL_MARKER
    spec.register_vocabulary(ct2_tokens)  # type: ignore[attr-defined]
    first_language = tokens.index(f"<|{WHISPER_LANGUAGES[0]}|>")
    config = spec.config  # type: ignore[attr-defined]
    config.suppress_ids = []
    config.suppress_ids_begin = [tokens.index("Ġ"), end_of_text]
    config.lang_ids = list(range(first_language, first_language + shape.languages))
    config.alignment_heads = list(
        itertools.product(
            range(shape.decoder_layers // 2, shape.decoder_layers), range(shape.decoder_heads)
        )
    )
    spec.validate()  # type: ignore[attr-defined]
    if large_v3_shaped:
        spec.optimize(quantization="float16")  # type: ignore[attr-defined]
    spec.save(str(directory))  # type: ignore[attr-defined]
    _write_tokenizer(tokens, directory / "tokenizer.json")
    preprocessor = {"feature_size": shape.n_mels, "sampling_rate": 16000, "hop_length": 160}
    (directory / "preprocessor_config.json").write_text(json.dumps(preprocessor), "utf-8")
    return directory
