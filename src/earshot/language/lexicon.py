"""Load and validate the slang lexicon and the theme definitions (YAML) into frozen dataclasses.

Domain knowledge lives in YAML so that a translator can correct a gloss or add a term without
touching code; that only works if a typo fails loudly at load time. Every problem raises
:class:`earshot.errors.LexiconError` naming the file, the entry id and the key, and saying
what to do. A user-supplied lexicon is merged over the built-in one (same id = replace).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from earshot.errors import LexiconError
from earshot.language.morph import tokens

__all__ = [
    "BUILTIN_SLANG_PATH",
    "BUILTIN_THEMES_PATH",
    "CATEGORIES",
    "GAP",
    "CueSet",
    "SlangEntry",
    "SlangLexicon",
    "Theme",
    "ThemeSet",
    "load_slang_lexicon",
    "load_themes",
    "phrase_parts",
    "slang_entry",
]

_DATA = Path(__file__).resolve().parent / "data"
BUILTIN_SLANG_PATH = _DATA / "slang.yaml"
BUILTIN_THEMES_PATH = _DATA / "themes.yaml"

CATEGORIES = frozenset(
    {
        "casualties",
        "desertion",
        "personnel",
        "weapons",
        "equipment",
        "places",
        "units",
        "commanders",
        "slur",
        "combat",
        "service",
        "money",
        "mobilization",
        "punishment",
        "propaganda",
        # added with the real-speech lexicon (issue 14)
        "army_life",
        "drones_ew",
        "munitions",
        "ranks",
        "coarse",
        "vehicles",
        "medical",
    }
)

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_]*$")
# Marker usable inside theme phrases: "не * хотеть" allows up to two words in between.
GAP = "*"

_SLANG_KEYS = frozenset(
    {
        "id",
        "forms",
        "patterns",
        "gloss",
        "category",
        "notes",
        "source",
        "sources",
        "slur",
        "coarse",
        "prevents",
        "group",
        "search_forms",
        "ambiguous",
        "requires",
        "excludes",
        "examples",
        "counter_examples",
    }
)
_THEME_KEYS = frozenset(
    {"id", "label", "description", "strong", "weak", "negative", "examples", "counter_examples"}
)
_CUE_KEYS = frozenset({"phrases", "patterns", "slang"})


@dataclass(frozen=True)
class SlangEntry:
    """One slang term or code: surface forms (inflected at match time) and/or digit regexes."""

    id: str
    gloss: str
    category: str
    source: str
    forms: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    notes: str = ""
    slur: bool = False
    coarse: bool = False
    prevents: str = ""
    group: str = ""
    sources: tuple[str, ...] = ()
    search_forms: tuple[str, ...] = ()
    ambiguous: bool = False
    requires: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    counter_examples: tuple[str, ...] = ()


@dataclass(frozen=True)
class SlangLexicon:
    """Validated entries in file order; `paths` are the files they came from (built-in first)."""

    entries: tuple[SlangEntry, ...]
    paths: tuple[Path, ...]

    def get(self, term_id: str) -> SlangEntry | None:
        """The entry with this id, or None."""
        for entry in self.entries:
            if entry.id == term_id:
                return entry
        return None

    @property
    def ids(self) -> frozenset[str]:
        return frozenset(entry.id for entry in self.entries)


@dataclass(frozen=True)
class CueSet:
    """Cues of one strength: lemma phrases, regexes over the text, and slang term ids."""

    phrases: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    slang: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.phrases or self.patterns or self.slang)


@dataclass(frozen=True)
class Theme:
    """A theme fires on one strong cue or two distinct weak cues, unless a negative cue is seen."""

    id: str
    label: str
    description: str
    strong: CueSet
    weak: CueSet
    negative: CueSet
    examples: tuple[str, ...] = ()
    counter_examples: tuple[str, ...] = ()


@dataclass(frozen=True)
class ThemeSet:
    themes: tuple[Theme, ...]
    paths: tuple[Path, ...]


# --------------------------------------------------------------------------- helpers


def _fail(path: Path, entry_id: str, key: str, problem: str, fix: str) -> LexiconError:
    return LexiconError(f"{path}: entry '{entry_id}', key '{key}': {problem}. {fix}")


def _read_yaml(path: Path, top_key: str) -> list[Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise LexiconError(
            f"{path}: cannot read the file ({exc.strerror}). Check the path and permissions."
        ) from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise LexiconError(f"{path}: not valid YAML ({exc}). Fix the syntax.") from exc
    if not isinstance(data, Mapping):
        raise LexiconError(
            f"{path}: the top level must be a mapping with a '{top_key}' list. "
            "See the built-in file for the layout."
        )
    unknown = set(data) - {top_key, "version", "sources"}
    if unknown:
        raise LexiconError(
            f"{path}: unknown top-level key(s) {sorted(unknown)}; "
            f"only 'version', 'sources' (anchors for source texts) and '{top_key}' are allowed."
        )
    items = data.get(top_key)
    if not isinstance(items, list) or not items:
        raise LexiconError(f"{path}: '{top_key}' must be a non-empty list.")
    return items


def _entry_id(path: Path, index: int, raw: Any) -> str:
    if not isinstance(raw, Mapping):
        raise LexiconError(f"{path}: item #{index + 1} is not a mapping. Each item needs 'id:'.")
    value = raw.get("id")
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not _ID_RE.match(value):
        raise LexiconError(
            f"{path}: item #{index + 1}, key 'id': {value!r} is not a valid id. "
            "Use lower-case ASCII letters, digits and '_' (e.g. 'soch', '200')."
        )
    return value


def _check_keys(path: Path, entry_id: str, raw: Mapping[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise _fail(
            path, entry_id, unknown[0], "unknown key", f"Allowed keys are {sorted(allowed)}."
        )


def _text(path: Path, entry_id: str, raw: Mapping[str, Any], key: str, required: bool) -> str:
    value = raw.get(key, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise _fail(path, entry_id, key, f"expected text, got {type(value).__name__}", "Quote it.")
    if required and not value.strip():
        raise _fail(path, entry_id, key, "missing or empty", "Fill it in.")
    return value.strip()


def _texts(path: Path, entry_id: str, raw: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = raw.get(key, [])
    if value is None:
        value = []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Sequence):
        raise _fail(path, entry_id, key, "expected a list of strings", "Use a YAML list.")
    out: list[str] = []
    for item in value:
        if isinstance(item, int) and not isinstance(item, bool):
            item = str(item)
        if not isinstance(item, str) or not item.strip():
            raise _fail(path, entry_id, key, f"empty or non-text item {item!r}", "Remove it.")
        out.append(item.strip())
    return tuple(out)


def _flag(path: Path, entry_id: str, raw: Mapping[str, Any], key: str) -> bool:
    value = raw.get(key, False)
    if not isinstance(value, bool):
        raise _fail(
            path, entry_id, key, f"expected true/false, got {value!r}", "Use true or false."
        )
    return value


def _check_patterns(path: Path, entry_id: str, key: str, patterns: tuple[str, ...]) -> None:
    for pattern in patterns:
        try:
            compiled = re.compile(pattern, re.IGNORECASE)
        except re.error as exc:
            raise _fail(
                path, entry_id, key, f"invalid regex {pattern!r} ({exc})", "Fix the expression."
            ) from exc
        if compiled.search(""):
            raise _fail(
                path, entry_id, key, f"regex {pattern!r} matches empty text", "Make it stricter."
            )


def _check_words(path: Path, entry_id: str, key: str, words: tuple[str, ...], phrase: bool) -> None:
    for word in words:
        parts = [t[2] for t in tokens(word)] if not phrase else phrase_parts(word)
        if not parts or parts[0] == GAP or parts[-1] == GAP:
            raise _fail(
                path,
                entry_id,
                key,
                f"{word!r} has no word to match (or starts/ends with '{GAP}')",
                "Write letters or digits.",
            )
        if not phrase and len(parts) != 1:
            raise _fail(
                path, entry_id, key, f"{word!r} must be a single word", "Split it into several."
            )


def phrase_parts(phrase: str) -> list[str]:
    """Words of a form or cue phrase; the gap marker '*' survives as its own part."""
    parts: list[str] = []
    for chunk in phrase.split():
        if chunk == GAP:
            parts.append(GAP)
        else:
            parts.extend(t[2] for t in tokens(chunk))
    return parts


# --------------------------------------------------------------------------- slang


def _slang_entry(path: Path, index: int, raw: Any) -> SlangEntry:
    entry_id = _entry_id(path, index, raw)
    _check_keys(path, entry_id, raw, _SLANG_KEYS)
    forms = _texts(path, entry_id, raw, "forms")
    patterns = _texts(path, entry_id, raw, "patterns")
    if not forms and not patterns:
        raise _fail(path, entry_id, "forms", "no forms and no patterns", "Give at least one.")
    for form in forms:
        if GAP in form.split():
            raise _fail(path, entry_id, "forms", f"{form!r} uses '*'", "Gaps are for themes only.")
    _check_words(path, entry_id, "forms", forms, phrase=True)
    _check_patterns(path, entry_id, "patterns", patterns)
    category = _text(path, entry_id, raw, "category", required=True)
    if category not in CATEGORIES:
        raise _fail(
            path,
            entry_id,
            "category",
            f"unknown category {category!r}",
            f"Use {sorted(CATEGORIES)}.",
        )
    ambiguous = _flag(path, entry_id, raw, "ambiguous")
    requires = _texts(path, entry_id, raw, "requires")
    _check_words(path, entry_id, "requires", requires, phrase=False)
    excludes = _texts(path, entry_id, raw, "excludes")
    _check_words(path, entry_id, "excludes", excludes, phrase=False)
    if ambiguous and not requires:
        raise _fail(
            path, entry_id, "requires", "ambiguous entry without context words", "List some."
        )
    prevents = _text(path, entry_id, raw, "prevents", required=False)
    if (requires or excludes) and not prevents:
        raise _fail(
            path,
            entry_id,
            "prevents",
            "a context rule (requires/excludes) without the false positive it prevents",
            "Write the ordinary use it keeps out, e.g. 'kitchen mincers'.",
        )
    sources = _texts(path, entry_id, raw, "sources")
    single = _text(path, entry_id, raw, "source", required=False)
    if single:
        sources = (single, *sources)
    if not sources:
        raise _fail(
            path, entry_id, "sources", "missing", "Name the glossary or article documenting it."
        )
    if requires and not ambiguous:
        raise _fail(
            path,
            entry_id,
            "ambiguous",
            "'requires' given but not ambiguous",
            "Set ambiguous: true.",
        )
    return SlangEntry(
        id=entry_id,
        forms=forms,
        patterns=patterns,
        gloss=_text(path, entry_id, raw, "gloss", required=True),
        category=category,
        notes=_text(path, entry_id, raw, "notes", required=False),
        source="; ".join(sources),
        sources=sources,
        slur=_flag(path, entry_id, raw, "slur"),
        coarse=_flag(path, entry_id, raw, "coarse"),
        prevents=prevents,
        group=_text(path, entry_id, raw, "group", required=False),
        search_forms=_texts(path, entry_id, raw, "search_forms"),
        ambiguous=ambiguous,
        requires=requires,
        excludes=excludes,
        examples=_texts(path, entry_id, raw, "examples"),
        counter_examples=_texts(path, entry_id, raw, "counter_examples"),
    )


def slang_entry(path: Path, index: int, raw: Any) -> SlangEntry:
    """Validate one entry given as a mapping (YAML item, CLI or web form); `path` names it."""
    return _slang_entry(path, index, raw)


def _load_slang_file(path: Path) -> tuple[SlangEntry, ...]:
    entries: list[SlangEntry] = []
    seen: set[str] = set()
    for index, raw in enumerate(_read_yaml(path, "entries")):
        entry = _slang_entry(path, index, raw)
        if entry.id in seen:
            raise _fail(
                path, entry.id, "id", "duplicate id", "Merge the two entries or rename one."
            )
        seen.add(entry.id)
        entries.append(entry)
    return tuple(entries)


@cache
def _builtin_slang() -> SlangLexicon:
    return SlangLexicon(_load_slang_file(BUILTIN_SLANG_PATH), (BUILTIN_SLANG_PATH,))


def load_slang_lexicon(
    extra: Path | None = None, *, builtin: Path | None = BUILTIN_SLANG_PATH
) -> SlangLexicon:
    """The built-in lexicon, with `extra` (a user file, same layout) merged over it by id.

    `builtin=None` loads only `extra` (for tests and for replacing the lexicon wholesale).
    """
    if builtin is None and extra is None:
        raise LexiconError("No slang lexicon given: pass a built-in or an extra path.")
    if builtin == BUILTIN_SLANG_PATH:
        base = _builtin_slang()
    elif builtin is not None:
        base = SlangLexicon(_load_slang_file(builtin), (builtin,))
    else:
        base = SlangLexicon((), ())
    if extra is None:
        return base
    merged = {entry.id: entry for entry in base.entries}
    for entry in _load_slang_file(extra):
        merged[entry.id] = entry
    return SlangLexicon(tuple(merged.values()), (*base.paths, extra))


# --------------------------------------------------------------------------- themes


def _cue_set(path: Path, theme_id: str, raw: Mapping[str, Any], key: str) -> CueSet:
    value = raw.get(key) or {}
    if not isinstance(value, Mapping):
        raise _fail(path, theme_id, key, "expected a mapping", f"Use keys {sorted(_CUE_KEYS)}.")
    unknown = sorted(set(value) - _CUE_KEYS)
    if unknown:
        raise _fail(
            path, theme_id, f"{key}.{unknown[0]}", "unknown key", f"Use {sorted(_CUE_KEYS)}."
        )
    phrases = _texts(path, theme_id, value, "phrases")
    _check_words(path, theme_id, f"{key}.phrases", phrases, phrase=True)
    patterns = _texts(path, theme_id, value, "patterns")
    _check_patterns(path, theme_id, f"{key}.patterns", patterns)
    slang = _texts(path, theme_id, value, "slang")
    return CueSet(phrases=phrases, patterns=patterns, slang=slang)


def _theme(path: Path, index: int, raw: Any) -> Theme:
    theme_id = _entry_id(path, index, raw)
    _check_keys(path, theme_id, raw, _THEME_KEYS)
    strong = _cue_set(path, theme_id, raw, "strong")
    weak = _cue_set(path, theme_id, raw, "weak")
    if not strong and not weak:
        raise _fail(path, theme_id, "strong", "no cues at all", "Give strong or weak cues.")
    return Theme(
        id=theme_id,
        label=_text(path, theme_id, raw, "label", required=True),
        description=_text(path, theme_id, raw, "description", required=False),
        strong=strong,
        weak=weak,
        negative=_cue_set(path, theme_id, raw, "negative"),
        examples=_texts(path, theme_id, raw, "examples"),
        counter_examples=_texts(path, theme_id, raw, "counter_examples"),
    )


def _load_theme_file(path: Path) -> tuple[Theme, ...]:
    themes: list[Theme] = []
    seen: set[str] = set()
    for index, raw in enumerate(_read_yaml(path, "themes")):
        theme = _theme(path, index, raw)
        if theme.id in seen:
            raise _fail(path, theme.id, "id", "duplicate id", "Merge the two themes.")
        seen.add(theme.id)
        themes.append(theme)
    return tuple(themes)


def load_themes(
    extra: Path | None = None, *, builtin: Path | None = BUILTIN_THEMES_PATH
) -> ThemeSet:
    """The built-in themes, with `extra` merged over them by id (same validation)."""
    if builtin is None and extra is None:
        raise LexiconError("No themes file given: pass a built-in or an extra path.")
    base: dict[str, Theme] = {}
    paths: list[Path] = []
    for source in (builtin, extra):
        if source is None:
            continue
        for theme in _load_theme_file(source):
            base[theme.id] = theme
        paths.append(source)
    return ThemeSet(tuple(base.values()), tuple(paths))
