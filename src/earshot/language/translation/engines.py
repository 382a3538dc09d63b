"""Machine translation engines behind one interface, chosen with ``--mt ENGINE[:MODEL]``.

Machine output is only ever a *draft* for a translator (see :mod:`.workflow`), so the
interface is deliberately small: a batch of Russian segment texts in, English out, and
provenance (engine, model, version) to record with each draft. Engines are local
(CTranslate2 model directory, installed Argos package) or a LibreTranslate-compatible
endpoint the newsroom runs itself; nothing is downloaded at run time.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from earshot.errors import ConfigError, ModelMissingError
from earshot.versions import package_version

from ...errors import TranslationEngineError

__all__ = [
    "ENGINES",
    "ArgosEngine",
    "CTranslate2Engine",
    "EngineSpec",
    "HttpEngine",
    "NoEngine",
    "TranslationEngine",
    "TranslationEngineError",
    "get_engine",
    "parse_engine_spec",
]


@runtime_checkable
class TranslationEngine(Protocol):
    """Translates Russian segment texts; `provenance()` is stored with every draft."""

    name: str

    def provenance(self) -> dict[str, Any]: ...

    def translate(self, texts: Sequence[str]) -> list[str]: ...


@dataclass(frozen=True)
class EngineSpec:
    """``ENGINE[:MODEL]`` parsed: "ctranslate2:/models/opus-mt-ru-en" -> (ctranslate2, path)."""

    engine: str
    model: str | None = None


def parse_engine_spec(spec: str) -> EngineSpec:
    engine, sep, model = spec.strip().partition(":")
    if not engine:
        raise ConfigError(f"--mt {spec!r}: give ENGINE[:MODEL], e.g. ctranslate2:/models/opus")
    return EngineSpec(engine.lower(), model if sep and model else None)


# ---------------------------------------------------------------- none


class NoEngine:
    """No machine translation: translators start from an empty text."""

    name = "none"

    def provenance(self) -> dict[str, Any]:
        return {"engine": "none"}

    def translate(self, texts: Sequence[str]) -> list[str]:
        return ["" for _ in texts]


# ---------------------------------------------------------------- CTranslate2

_HOW_TO_GET_CT2 = (
    "convert one on a machine with network access, e.g. `ct2-transformers-converter --model "
    "Helsinki-NLP/opus-mt-ru-en --output_dir opus-mt-ru-en --copy_files source.spm target.spm` "
    "(or facebook/nllb-200-distilled-600M, facebook/m2m100_418M with their "
    "sentencepiece.bpe.model), copy the folder here and pass --mt ctranslate2:FOLDER"
)


class _SentencePieceCodec:
    """OPUS-MT (source.spm/target.spm) or NLLB/M2M (one sentencepiece.bpe.model)."""

    def __init__(self, source: Path, target: Path, prefix: list[str], src_tag: list[str]) -> None:
        import sentencepiece

        self._source = sentencepiece.SentencePieceProcessor(model_file=str(source))
        self._target = sentencepiece.SentencePieceProcessor(model_file=str(target))
        self.prefix, self._src_tag = prefix, src_tag

    def encode(self, text: str) -> list[str]:
        pieces: list[str] = self._source.encode(text, out_type=str)
        return [*self._src_tag, *pieces, "</s>"]

    def decode(self, tokens: list[str]) -> str:
        pieces = [t for t in tokens if t not in self.prefix and not t.startswith("<")]
        return str(self._target.decode(pieces))


class _HfTokenizerCodec:
    """A `tokenizers` tokenizer.json shared by source and target."""

    def __init__(self, path: Path) -> None:
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(path))
        self.prefix: list[str] = []

    def encode(self, text: str) -> list[str]:
        return [*self._tokenizer.encode(text).tokens, "</s>"]

    def decode(self, tokens: list[str]) -> str:
        ids = [self._tokenizer.token_to_id(t) for t in tokens]
        return str(self._tokenizer.decode([i for i in ids if i is not None]))


class CTranslate2Engine:
    """A local CTranslate2 model directory (OPUS-MT, NLLB or M2M-100 converted)."""

    name = "ctranslate2"

    def __init__(
        self,
        model_dir: str | Path,
        *,
        device: str = "cpu",
        threads: int = 2,
        beam_size: int = 2,
        max_decoding_length: int = 256,
    ) -> None:
        self.model_dir = Path(model_dir).expanduser()
        if not (self.model_dir / "model.bin").is_file():
            raise ModelMissingError(
                f"no CTranslate2 model at {self.model_dir} (model.bin missing); {_HOW_TO_GET_CT2}"
            )
        try:
            import ctranslate2
        except ImportError as exc:
            raise ModelMissingError(
                "ctranslate2 is not installed: pip install ctranslate2 sentencepiece"
            ) from exc
        self._codec = self._codec_for(self.model_dir)
        self._translator = ctranslate2.Translator(
            str(self.model_dir), device=device, inter_threads=1, intra_threads=threads
        )
        self._beam_size = beam_size
        self._max_length = max_decoding_length

    @staticmethod
    def _codec_for(folder: Path) -> _SentencePieceCodec | _HfTokenizerCodec:
        if (folder / "source.spm").is_file() and (folder / "target.spm").is_file():
            return _SentencePieceCodec(folder / "source.spm", folder / "target.spm", [], [])
        if (folder / "sentencepiece.bpe.model").is_file():  # NLLB (rus_Cyrl) or M2M (__ru__)
            spm = folder / "sentencepiece.bpe.model"
            nllb = "nllb" in folder.name.lower()
            src, tgt = ("rus_Cyrl", "eng_Latn") if nllb else ("__ru__", "__en__")
            return _SentencePieceCodec(spm, spm, [tgt], [src])
        if (folder / "tokenizer.json").is_file():
            return _HfTokenizerCodec(folder / "tokenizer.json")
        raise ModelMissingError(
            f"{folder} has model.bin but no tokenizer (source.spm + target.spm, "
            f"sentencepiece.bpe.model or tokenizer.json); {_HOW_TO_GET_CT2}"
        )

    def provenance(self) -> dict[str, Any]:
        return {
            "engine": self.name,
            "model": self.model_dir.name,
            "version": package_version("ctranslate2"),
            "beam_size": self._beam_size,
        }

    def translate(self, texts: Sequence[str]) -> list[str]:
        out = ["" for _ in texts]
        todo = [i for i, t in enumerate(texts) if t.strip()]
        if not todo:
            return out
        batch = [self._codec.encode(texts[i]) for i in todo]
        prefix = [list(self._codec.prefix) for _ in todo] if self._codec.prefix else None
        results = self._translator.translate_batch(
            batch,
            target_prefix=prefix,
            beam_size=self._beam_size,
            max_decoding_length=self._max_length,
        )
        for i, result in zip(todo, results, strict=True):
            out[i] = self._codec.decode(list(result.hypotheses[0])).strip()
        return out


# ---------------------------------------------------------------- Argos


class ArgosEngine:
    """An installed Argos Translate ru->en package (argos-translate's own CTranslate2 model)."""

    name = "argos"

    def __init__(self, source: str = "ru", target: str = "en") -> None:
        try:
            from argostranslate import translate as argos  # type: ignore[import-not-found]
        except ImportError as exc:
            raise ModelMissingError(
                "Argos Translate is not installed: pip install argostranslate, then install the "
                "ru->en package offline with `argospm install translate-ru_en` on a machine with "
                "network (or `argospm install PATH.argosmodel` from a copied file)"
            ) from exc
        languages = {lang.code: lang for lang in argos.get_installed_languages()}
        if source not in languages or target not in languages:
            raise ModelMissingError(
                f"no installed Argos package {source}->{target}; install one with "
                f"`argospm install translate-{source}_{target}` (or from a .argosmodel file)"
            )
        translation = languages[source].get_translation(languages[target])
        if translation is None:
            raise ModelMissingError(
                f"Argos has {source} and {target} but no package between them; "
                f"install translate-{source}_{target}"
            )
        self._translation = translation
        self._pair = f"{source}-{target}"

    def provenance(self) -> dict[str, Any]:
        return {
            "engine": self.name,
            "model": self._pair,
            "version": package_version("argostranslate"),
        }

    def translate(self, texts: Sequence[str]) -> list[str]:
        return [str(self._translation.translate(t)) if t.strip() else "" for t in texts]


# ---------------------------------------------------------------- LibreTranslate-compatible HTTP


class HttpEngine:
    """A LibreTranslate-compatible ``POST /translate`` endpoint run by the newsroom.

    The API key is read from the environment variable named by `api_key_env` at
    request time and never stored; provenance keeps the endpoint and the variable name.
    """

    name = "http"

    def __init__(
        self,
        url: str,
        *,
        api_key_env: str = "EARSHOT_MT_API_KEY",
        timeout: float = 60.0,
        source: str = "ru",
        target: str = "en",
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ConfigError(
                f"--mt http:{url}: give the endpoint's base URL, e.g. http:http://127.0.0.1:5000"
            )
        self.url = url.rstrip("/")
        if not self.url.endswith("/translate"):
            self.url += "/translate"
        self.api_key_env, self.timeout = api_key_env, timeout
        self.source, self.target = source, target

    def provenance(self) -> dict[str, Any]:
        return {"engine": self.name, "model": self.url, "api_key_env": self.api_key_env}

    def translate(self, texts: Sequence[str]) -> list[str]:
        import httpx

        out = ["" for _ in texts]
        todo = [i for i, t in enumerate(texts) if t.strip()]
        if not todo:
            return out
        body: dict[str, Any] = {
            "q": [texts[i] for i in todo],
            "source": self.source,
            "target": self.target,
            "format": "text",
        }
        key = os.environ.get(self.api_key_env)
        if key:
            body["api_key"] = key
        try:
            reply = httpx.post(self.url, json=body, timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise TranslationEngineError(
                f"translation endpoint {self.url} unreachable ({exc}); check that it runs"
            ) from exc
        if reply.status_code != 200:
            raise TranslationEngineError(
                f"translation endpoint {self.url} answered {reply.status_code}: "
                f"{reply.text[:200]!r}; check the URL and the key in ${self.api_key_env}"
            )
        try:
            translated = reply.json()["translatedText"]
        except (ValueError, KeyError, TypeError) as exc:
            raise TranslationEngineError(
                f"translation endpoint {self.url} gave no translatedText: {reply.text[:200]!r}"
            ) from exc
        if isinstance(translated, str):
            translated = [translated]
        if not isinstance(translated, list) or len(translated) != len(todo):
            raise TranslationEngineError(
                f"translation endpoint {self.url} returned {translated!r:.80} for "
                f"{len(todo)} texts; is it LibreTranslate-compatible?"
            )
        for i, text in zip(todo, translated, strict=True):
            out[i] = str(text)
        return out


ENGINES = ("ctranslate2", "argos", "http", "none", "reference")


def get_engine(spec: str | EngineSpec, **options: Any) -> TranslationEngine:
    """Build the engine named by `spec` ("ctranslate2:DIR", "argos", "http:URL", "none").

    "reference" is not an engine object: the workflow aligns imported reference
    translations instead (see :func:`earshot.language.translation.workflow.draft_from_reference`).
    """
    parsed = parse_engine_spec(spec) if isinstance(spec, str) else spec
    if parsed.engine == "none":
        return NoEngine()
    if parsed.engine == "ctranslate2":
        if parsed.model is None:
            raise ModelMissingError(f"--mt ctranslate2 needs a model folder; {_HOW_TO_GET_CT2}")
        return CTranslate2Engine(parsed.model, **options)
    if parsed.engine == "argos":
        source, _, target = (parsed.model or "ru-en").partition("-")
        return ArgosEngine(source or "ru", target or "en")
    if parsed.engine == "http":
        if parsed.model is None:
            raise ConfigError("--mt http needs the endpoint, e.g. http:http://127.0.0.1:5000")
        return HttpEngine(parsed.model, **options)
    raise ConfigError(
        f"unknown translation engine {parsed.engine!r}; use one of {', '.join(ENGINES)}"
    )
