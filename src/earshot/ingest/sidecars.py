"""Sidecar transcripts: a verbatim transcript that arrives beside a call's audio.

`NAME.vtt`, `NAME.srt`, `NAME.json` or `NAME.txt` next to `NAME.wav` is a transcript someone
already made (a translator, another tool, an earlier Whisper run). The ingest runner keeps it
as the call's reference text, so this module reads it *faithfully*: timings, the speaker label
as written, and the words; nothing is guessed. The files come from outside and may be hostile
(script tags, broken Unicode, gigabytes of junk), so every input is bounded, decoded strictly,
and anything that cannot be read raises :class:`~earshot.errors.SidecarError` whose single-line
message is ``<file>: <what> (line N / cue N) — <what to do>``.

Text is returned as plain text: cue markup (``<b>``, ``<c.x>``, ``<00:00:01.000>``) is removed,
but literal text that merely looks like a tag (``<script>``) is kept verbatim — escaping is the
renderer's job, and a transcript of someone reading HTML aloud must survive.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from itertools import chain
from pathlib import Path
from typing import Any

import jsonschema
import srt
import webvtt
from jsonschema.exceptions import best_match
from webvtt.errors import MalformedCaptionError, MalformedFileError

from earshot.errors import SidecarError
from earshot.ingest.textfile import clean_line, decode_text, strip_controls
from earshot.language.morph import fold

__all__ = [
    "MAX_SECONDS",
    "SIDECAR_SUFFIXES",
    "SidecarSegment",
    "SidecarTranscript",
    "SidecarWord",
    "clean_line",
    "decode_text",
    "parse_sidecar",
    "party_for_label",
    "strip_controls",
]

SIDECAR_SUFFIXES: tuple[str, ...] = (".vtt", ".srt", ".json", ".txt")
MAX_SECONDS = 24 * 3600.0  # no single call lasts a day; a later time is a broken file

_FORMATS = {".vtt": "vtt", ".srt": "srt", ".json": "json", ".txt": "txt"}


@dataclass(frozen=True)
class SidecarWord:
    """One timed word (JSON sidecars only; subtitles carry no word timings)."""

    start: float
    end: float
    text: str
    probability: float | None = None


@dataclass(frozen=True)
class SidecarSegment:
    """One stretch of speech: times in seconds (None for untimed TXT), plain text, raw label."""

    start: float | None
    end: float | None
    text: str
    speaker: str | None
    words: tuple[SidecarWord, ...] = ()


@dataclass(frozen=True)
class SidecarTranscript:
    """A parsed sidecar: its path, format ("vtt" | "srt" | "json" | "txt"), language, segments."""

    path: Path
    format: str
    language: str | None
    segments: tuple[SidecarSegment, ...]


# --------------------------------------------------------------------------- text hygiene


# Bidi overrides/isolates can make a displayed line lie about its content ("Trojan Source"),
# so they go with the other invisible format characters; ZWJ/ZWNJ stay (they shape scripts).
def _one_line(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _error(path: Path, what: str, todo: str, where: str | None = None) -> SidecarError:
    located = f" ({where})" if where else ""
    return SidecarError(f"{path}: {_one_line(what, 300)}{located} — {todo}")


_RESAVE = "re-save the transcript as UTF-8 text"


def _read_text(path: Path, max_bytes: int) -> str:
    if not path.is_file():
        raise _error(path, "no such file (or not a regular file)", "check the path and retry")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise _error(
                path,
                f"is {size} bytes, over the {max_bytes}-byte limit for a transcript",
                "check it is really a transcript, or raise max_bytes",
            )
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise _error(
            path, f"cannot be read ({exc.strerror})", "check its permissions and retry"
        ) from None
    if len(data) > max_bytes:
        raise _error(path, f"grew past the {max_bytes}-byte limit while being read", "retry")
    try:
        text, _ = decode_text(data)
    except ValueError as exc:
        raise _error(path, str(exc), _RESAVE) from None
    return text


def _check_times(path: Path, start: float, end: float, where: str) -> None:
    if not (math.isfinite(start) and math.isfinite(end)) or start < 0 or end < 0:
        raise _error(path, f"negative or non-finite time {start}–{end}", "fix the timing", where)
    if end < start:
        raise _error(
            path, f"ends ({end:.3f} s) before it starts ({start:.3f} s)", "fix the timing", where
        )
    if end > MAX_SECONDS:
        raise _error(
            path, f"time {end:.3f} s is beyond 24 hours", "fix the timing (hours field?)", where
        )


# --------------------------------------------------------------------------- speakers

_LABEL_PREFIX = re.compile(
    r"^\s*(?:-\s*)?\[?(?P<label>[^\W\d_][\w.'’-]*(?:[ \t][\w.'’-]+){0,2})\]?[ \t]*:(?:\s+|$)"
)
_MAX_LABEL = 40


def _label_candidate(line: str) -> tuple[str, str] | None:
    """("A", "text") for "A: text": up to three words before a colon may be a speaker label."""
    match = _LABEL_PREFIX.match(line)
    if match is None or len(match.group("label")) > _MAX_LABEL:
        return None
    rest = line[match.end() :]
    return (match.group("label"), rest) if rest.strip() else None


def _split_label(line: str, accepted: frozenset[str]) -> tuple[str | None, str]:
    """The line's speaker label (if it is one of `accepted`) and the rest of the line."""
    candidate = _label_candidate(line)
    if candidate is None or candidate[0] not in accepted:
        return None, line
    return candidate


_PARTY_LABELS = {
    "A": frozenset({"a", "а", "caller", "party a", "speaker a", "звонящий", "звонящая"}),
    "B": frozenset(
        {"b", "б", "callee", "receiver", "party b", "speaker b", "абонент", "собеседник"}
    ),
}


def _fold_label(label: str) -> str:
    return fold(clean_line(label))


def _accepted_labels(lines: Iterable[str]) -> frozenset[str]:
    """Prefixes that really are speaker labels in this file.

    "Запиши новый: 8-977-…" looks like a label but is speech; taking it as one would drop words
    from the evidence. So a prefix counts only if it is a conventional party label or starts at
    least two lines/cues of the file, as a speaker's name does in a real transcript.
    """
    counts = Counter(
        candidate[0] for line in lines if (candidate := _label_candidate(line)) is not None
    )
    conventional = frozenset().union(*_PARTY_LABELS.values())
    return frozenset(
        label for label, n in counts.items() if n >= 2 or _fold_label(label) in conventional
    )


def party_for_label(
    label: str | None, *, caller_name: str | None = None, callee_name: str | None = None
) -> str | None:
    """Which party ("A" caller, "B" callee) a transcript's speaker label means, or None.

    Conventional labels ("A", "caller", "звонящий"; "B", "callee", "абонент") and the names
    from the call record (compared case- and ё-insensitively) are recognised; anything else
    is None rather than a guess, because misattributing a sentence is worse than not knowing.
    """
    if label is None:
        return None
    folded = _fold_label(label)
    if not folded:
        return None
    for party, labels in _PARTY_LABELS.items():
        if folded in labels:
            return party
    caller = _fold_label(caller_name) if caller_name else ""
    callee = _fold_label(callee_name) if callee_name else ""
    if caller and folded == caller and folded != callee:
        return "A"
    if callee and folded == callee and folded != caller:
        return "B"
    return None


# --------------------------------------------------------------------------- cue text

_TAG = re.compile(r"<([^<>\n]*)>")
_VTT_CUE_TAG = re.compile(
    r"(?:(?:c|i|b|u|v|ruby|rt|lang)(?:\.[^\s.<>]+)*(?:[ \t\f][^<>]*)?"
    r"|/(?:c|i|b|u|v|ruby|rt|lang)|(?:\d+:)?\d{2}:\d{2}\.\d{3})"
)
_VTT_VOICE = re.compile(r"v(?:\.[^\s.<>]+)*[ \t\f]+(?P<label>[^<>]*)")
_SRT_MARKUP = re.compile(r"</?(?:b|i|u|s|font)(?:\s[^<>]*)?>|\{\\[^{}\n]*\}", re.IGNORECASE)


def _strip_vtt_tags(text: str) -> str:
    """Remove WebVTT cue tags only; other angle-bracket text is the speaker's words."""
    return _TAG.sub(lambda m: "" if _VTT_CUE_TAG.fullmatch(m.group(1)) else m.group(0), text)


def _voice_groups(raw: str) -> list[tuple[str | None, str]]:
    """Split a VTT cue at its ``<v Label>`` spans into (label, text-with-markup) pieces."""
    groups: list[tuple[str | None, str]] = []
    speaker: str | None = None
    pos = 0
    for match in _TAG.finditer(raw):
        voice = _VTT_VOICE.fullmatch(match.group(1))
        if voice is None:
            continue
        groups.append((speaker, raw[pos : match.start()]))
        speaker = voice.group("label").strip() or None
        pos = match.end()
    groups.append((speaker, raw[pos:]))
    return groups


def _labelled_groups(lines: list[str], accepted: frozenset[str]) -> list[tuple[str | None, str]]:
    """Group cue lines by "A: ..." prefixes; unlabelled lines continue the current speaker."""
    groups: list[tuple[str | None, str]] = []
    for line in lines:
        label, rest = _split_label(line, accepted)
        if label is not None or not groups:
            groups.append((label, rest))
        else:
            speaker, text = groups[-1]
            groups[-1] = (speaker, f"{text}\n{rest}")
    return groups


def _segments(
    groups: list[tuple[str | None, str]], start: float, end: float
) -> list[SidecarSegment]:
    out = []
    for speaker, text in groups:
        plain = clean_line(text)
        if plain:
            label = clean_line(speaker) if speaker else None
            out.append(SidecarSegment(start, end, plain, label or None))
    return out


# --------------------------------------------------------------------------- formats

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_VTT_TIMING = re.compile(r"(?P<start>\S+)[ \t]+-->[ \t]+(?P<end>\S+)(?:[ \t].*)?")


def _vtt_timing_lines(path: Path, lines: list[str]) -> list[int]:
    """Line numbers of cue timing lines, checked first so a bad one is reported by line."""
    found = []
    for number, line in enumerate(lines, start=1):
        if "-->" not in line:
            continue
        match = _VTT_TIMING.fullmatch(line.strip())
        stamps = (match.group("start"), match.group("end")) if match else ()
        try:
            for stamp in stamps:
                webvtt.models.Timestamp.from_string(stamp)
        except MalformedCaptionError:
            match = None
        if match is None:
            raise _error(
                path,
                f"malformed cue timing {_one_line(line, 80)!r}",
                "write it as 00:01:02.500 --> 00:01:04.000",
                f"line {number}",
            )
        found.append(number)
    return found


def _parse_vtt(path: Path, text: str) -> tuple[str | None, list[SidecarSegment]]:
    lines = _LINE_BREAK.split(text)
    if not lines[0].startswith("WEBVTT") or lines[0][6:7] not in ("", " ", "\t"):
        raise _error(
            path,
            "does not start with the WEBVTT header",
            "check it is a complete WebVTT file (its first line must be WEBVTT)",
            "line 1",
        )
    timing_lines = _vtt_timing_lines(path, lines)
    try:
        vtt = webvtt.WebVTT.from_string(text, strict=True)
    except (MalformedFileError, MalformedCaptionError) as exc:
        raise _error(path, f"malformed WebVTT: {exc}", "fix that cue block") from None
    language = None
    for line in vtt.metadata:
        key, _, value = str(line).partition(":")
        if key.strip().lower() == "language" and value.strip():
            language = clean_line(value)[:35]
    captions = list(vtt.captions)
    voiced = any(
        _VTT_VOICE.fullmatch(tag.group(1))
        for caption in captions
        for tag in _TAG.finditer(caption.raw_text)
    )
    plain_lines = [_strip_vtt_tags(caption.raw_text).split("\n") for caption in captions]
    accepted = frozenset() if voiced else _accepted_labels(chain.from_iterable(plain_lines))
    segments: list[SidecarSegment] = []
    for index, caption in enumerate(captions):
        where = f"cue {index + 1}"
        if len(timing_lines) == len(captions):
            where = f"line {timing_lines[index]}, {where}"
        start = caption.start_time.in_milliseconds() / 1000
        end = caption.end_time.in_milliseconds() / 1000
        _check_times(path, start, end, where)
        if voiced:
            groups = _voice_groups(caption.raw_text)
        else:
            groups = _labelled_groups(plain_lines[index], accepted)
        unescaped = [(s, html.unescape(_strip_vtt_tags(t))) for s, t in groups]
        segments.extend(_segments(unescaped, start, end))
    return language, segments


def _parse_srt(path: Path, text: str) -> list[SidecarSegment]:
    try:
        subtitles = list(srt.parse(text))
    except srt.SRTParseError as exc:
        unmatched = str(exc.unmatched_content)
        offset = exc.expected_start + len(unmatched) - len(unmatched.lstrip())
        line = text.count("\n", 0, offset) + 1
        raise _error(
            path,
            "not a valid SRT cue (expected a number, then 00:00:01,000 --> 00:00:02,500, "
            "then text)",
            "fix or remove that block",
            f"line {line}",
        ) from None
    except (ValueError, OverflowError) as exc:
        raise _error(path, f"unreadable SRT timing: {exc}", "fix the timing") from None
    cues: list[tuple[float, float, list[str]]] = []
    for index, subtitle in enumerate(subtitles, start=1):
        start, end = subtitle.start.total_seconds(), subtitle.end.total_seconds()
        _check_times(path, start, end, f"cue {index}")
        if "-->" in subtitle.content:  # srt lets a cue swallow a following cue it cannot read
            raise _error(
                path,
                "a cue timing line that cannot be read follows this cue",
                "write timings as 00:00:01,000 --> 00:00:02,500",
                f"cue {index}",
            )
        cues.append((start, end, _SRT_MARKUP.sub("", subtitle.content).split("\n")))
    accepted = _accepted_labels(line for _, _, lines in cues for line in lines)
    segments: list[SidecarSegment] = []
    for start, end, lines in cues:
        segments.extend(_segments(_labelled_groups(lines, accepted), start, end))
    return segments


def _parse_txt(text: str) -> list[SidecarSegment]:
    lines = _LINE_BREAK.split(text)
    accepted = _accepted_labels(lines)
    segments = []
    for line in lines:
        label, rest = _split_label(line, accepted)
        plain = clean_line(rest)
        if plain:
            speaker = clean_line(label) if label else None
            segments.append(SidecarSegment(None, None, plain, speaker or None))
    return segments


@cache
def _json_validator() -> Any:
    schema_text = resources.files(__package__).joinpath("sidecar.schema.json").read_text("utf-8")
    schema = json.loads(schema_text)
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def _parse_json(path: Path, text: str) -> tuple[str | None, list[SidecarSegment]]:
    try:
        document = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise _error(
            path, f"not valid JSON: {exc.msg}", "fix the JSON syntax", f"line {exc.lineno}"
        ) from None
    except (ValueError, RecursionError) as exc:
        raise _error(path, f"not usable JSON: {exc}", "fix the JSON") from None
    error = best_match(_json_validator().iter_errors(document))
    if error is not None:
        raise _error(
            path,
            f"does not match the sidecar schema: {error.message}",
            "see docs/sidecar-json.md for the expected shape",
            f"at {error.json_path}",
        )
    segments: list[SidecarSegment] = []
    for index, item in enumerate(document["segments"]):
        where = f"at $.segments[{index}]"
        start, end = float(item["start"]), float(item["end"])
        _check_times(path, start, end, where)
        words = []
        for number, word in enumerate(item.get("words") or ()):
            w_start, w_end = float(word["start"]), float(word["end"])
            _check_times(path, w_start, w_end, f"{where}.words[{number}]")
            w_text = clean_line(word["word"])
            if w_text:
                probability = word.get("probability")
                probability = None if probability is None else float(probability)
                words.append(SidecarWord(w_start, w_end, w_text, probability))
        plain = clean_line(item["text"])
        if plain:
            speaker = clean_line(item["speaker"]) if item.get("speaker") else None
            segments.append(SidecarSegment(start, end, plain, speaker or None, tuple(words)))
    language = document.get("language")
    return (clean_line(language) or None) if language else None, segments


def parse_sidecar(path: Path, *, max_bytes: int = 20_000_000) -> SidecarTranscript:
    """Read the sidecar transcript at `path` (format by suffix); raises SidecarError."""
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise _error(
            path,
            f"unknown transcript suffix {path.suffix!r}",
            f"use one of {', '.join(SIDECAR_SUFFIXES)}",
        )
    text = _read_text(path, max_bytes)
    language: str | None = None
    if fmt == "vtt":
        language, segments = _parse_vtt(path, text)
    elif fmt == "srt":
        segments = _parse_srt(path, text)
    elif fmt == "json":
        language, segments = _parse_json(path, text)
    else:
        segments = _parse_txt(text)
    if not segments:
        raise _error(
            path,
            "holds no transcript segments with text",
            "check it is the right file; remove it if the call has no transcript",
        )
    return SidecarTranscript(path, fmt, language, tuple(segments))
