"""Load and validate the sample corpus screenplay (`sample_screenplay.yaml`).

The dialogue is data so that translators and editors can change a line without touching the
generator. Validation is strict (unknown or missing keys, wrong types, unknown people or
formats are errors) because a typo would otherwise surface only as a wrong ground truth in
some later layer's test.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "CALLS",
    "CAST",
    "SCREENPLAY",
    "Call",
    "Person",
    "ScreenplayError",
    "Turn",
    "Voice",
    "load_screenplay",
]

SCREENPLAY = Path(__file__).resolve().with_suffix(".yaml")
FORMAT_NAMES = {"wav_s16", "wav_mulaw", "wav_alaw", "flac", "mp3", "opus", "m4a", "amr", "gsm",
                "wav_gsm"}  # fmt: skip
PLANTED_KINDS = {"slang", "name", "diminutive", "phone", "unit", "address", "date_of_birth",
                 "place", "public_figure"}  # fmt: skip


class ScreenplayError(ValueError):
    """The screenplay YAML is malformed; the message names the entry and the key."""


@dataclass(frozen=True)
class Voice:
    """espeak-ng settings; one person always speaks with the same ones."""

    variant: str
    pitch: int
    speed: int
    level: float  # peak level of each utterance, fraction of full scale

    @property
    def label(self) -> str:
        return f"{self.variant}:p{self.pitch}:s{self.speed}"


@dataclass(frozen=True)
class Person:
    id: str
    role: str  # "soldier" or "relative"
    first_name: str
    patronymic: str
    surname: str
    nicknames: tuple[str, ...]
    diminutives: tuple[str, ...]
    home_town: str
    phones: tuple[str, ...]
    voice: Voice


@dataclass(frozen=True)
class Turn:
    party: str  # "A" or "B"
    ru: str
    en: str
    say: str | None = None
    overlap: float = 0.0  # mono only: seconds this turn starts before the previous ends


@dataclass(frozen=True)
class Call:
    id: str
    started_at: str
    a: str  # person id of the caller (party A, channel 0 in stereo)
    b: str  # person id of the callee (party B, channel 1 in stereo)
    caller_phone: str
    callee_phone: str
    caller_name: str
    callee_name: str
    location: str
    notes: str
    intercept_id: str
    format: str
    stereo: bool
    sidecar: str | None
    wants_out: bool
    themes: tuple[str, ...]
    turns: tuple[Turn, ...]
    planted: tuple[tuple[str, str], ...]


def _fields(where: str, raw: object, types: Mapping[str, type | tuple[type, ...]],
            optional: frozenset[str] = frozenset()) -> dict[str, Any]:  # fmt: skip
    if not isinstance(raw, dict):
        raise ScreenplayError(f"{where}: expected a mapping, got {type(raw).__name__}")
    unknown = set(raw) - set(types)
    missing = set(types) - set(raw) - optional
    if unknown or missing:
        raise ScreenplayError(
            f"{where}: unknown keys {sorted(unknown)}, missing keys {sorted(missing)}"
        )
    for key, value in raw.items():
        expected = types[key]
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise ScreenplayError(f"{where}.{key}: {value!r} has the wrong type")
    return dict(raw)


def _strings(where: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ScreenplayError(f"{where}: expected a list of strings, got {value!r}")
    return tuple(value)


def _person(where: str, raw: object) -> Person:
    d = _fields(where, raw, {"id": str, "role": str, "first_name": str, "patronymic": str,
                             "surname": str, "nicknames": list, "diminutives": list,
                             "home_town": str, "phones": list, "voice": dict})  # fmt: skip
    v = _fields(f"{where}.voice", d["voice"],
                {"variant": str, "pitch": int, "speed": int, "level": float})  # fmt: skip
    if d["role"] not in {"soldier", "relative"}:
        raise ScreenplayError(f"{where}.role: {d['role']!r} is neither soldier nor relative")
    return Person(
        d["id"], d["role"], d["first_name"], d["patronymic"], d["surname"],
        _strings(f"{where}.nicknames", d["nicknames"]),
        _strings(f"{where}.diminutives", d["diminutives"]), d["home_town"],
        _strings(f"{where}.phones", d["phones"]),
        Voice(v["variant"], v["pitch"], v["speed"], v["level"]),
    )  # fmt: skip


def _turn(where: str, raw: object) -> Turn:
    party = next((p for p in ("A", "B") if isinstance(raw, dict) and p in raw), None)
    if party is None:
        raise ScreenplayError(f"{where}: a turn needs exactly one of the keys A or B")
    d = _fields(where, raw, {party: str, "en": str, "say": str, "overlap": float},
                frozenset({"say", "overlap"}))  # fmt: skip
    return Turn(party, d[party], d["en"], d.get("say"), d.get("overlap", 0.0))


def _call(where: str, raw: object, cast: Mapping[str, Person]) -> Call:
    text = ("id", "started_at", "a", "b", "caller_phone", "callee_phone", "caller_name",
            "callee_name", "location", "notes", "intercept_id", "format")  # fmt: skip
    types: dict[str, type | tuple[type, ...]] = dict.fromkeys(text, str)
    types |= {"stereo": bool, "sidecar": (str, type(None)), "wants_out": bool,
              "themes": list, "turns": list, "planted": list}  # fmt: skip
    d = _fields(where, raw, types)
    for key in ("a", "b"):
        if d[key] not in cast:
            raise ScreenplayError(f"{where}.{key}: no person {d[key]!r} in the cast")
    if d["format"] not in FORMAT_NAMES:
        raise ScreenplayError(f"{where}.format: {d['format']!r} not in {sorted(FORMAT_NAMES)}")
    if d["sidecar"] not in {None, "vtt", "srt", "txt"}:
        raise ScreenplayError(f"{where}.sidecar: {d['sidecar']!r} is not vtt, srt, txt or null")
    turns = tuple(_turn(f"{where}.turns[{i}]", t) for i, t in enumerate(d["turns"]))
    if d["stereo"] and any(t.overlap for t in turns):
        raise ScreenplayError(f"{where}: overlaps are only for mono calls")
    planted: list[tuple[str, str]] = []
    for i, item in enumerate(d["planted"]):
        if not (isinstance(item, dict) and len(item) == 1):
            raise ScreenplayError(f"{where}.planted[{i}]: expected {{kind: text}}")
        ((kind, term),) = item.items()
        if kind not in PLANTED_KINDS or not isinstance(term, str):
            raise ScreenplayError(f"{where}.planted[{i}]: {item!r} (kinds: {PLANTED_KINDS})")
        planted.append((kind, term))
    return Call(
        **{k: d[k] for k in text}, stereo=d["stereo"], sidecar=d["sidecar"],
        wants_out=d["wants_out"], themes=_strings(f"{where}.themes", d["themes"]),
        turns=turns, planted=tuple(planted),
    )  # fmt: skip


def load_screenplay(path: Path = SCREENPLAY) -> tuple[dict[str, Person], tuple[Call, ...]]:
    """The cast by person id and the calls in order, validated."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    top = _fields(path.name, raw, {"cast": list, "calls": list})
    cast: dict[str, Person] = {}
    for i, entry in enumerate(top["cast"]):
        person = _person(f"cast[{i}]", entry)
        if person.id in cast:
            raise ScreenplayError(f"cast[{i}]: duplicate person id {person.id!r}")
        cast[person.id] = person
    calls = tuple(_call(f"calls[{i}]", entry, cast) for i, entry in enumerate(top["calls"]))
    if len({c.id for c in calls}) != len(calls):
        raise ScreenplayError(f"{path.name}: call ids are not unique")
    return cast, calls


CAST, CALLS = load_screenplay()
