"""WebVTT and SRT subtitles: one file per call and language, in a zip.

Each call gets its own files, timed on that call's own recording (second 0 is the
start of the call), so a subtitle file plays against the audio it belongs to: the
Russian original (``call-12.ru.vtt``) and, when the call is translated, the English
(``call-12.en.vtt``) as two tracks. Speakers are WebVTT voice spans (``<v Soldier
1>``); SRT, which has none, starts each cue with "Soldier 1: ".

The identifying or redaction notice never sits in a cue (a player would show it
for a blink and a re-ingest would read it as speech): in a VTT it is a NOTE block,
and every zip carries a README.txt with it. Cue text is escaped as WebVTT requires
("<", ">" and "&" as character references; "-->" cannot survive).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from ._common import Rendered, notice, speaker
from .registry import ExportFormat, GuardReads

__all__ = ["SUBTITLE_LANGUAGES", "render_srt", "render_vtt", "subtitle_files"]

SUBTITLE_LANGUAGES = {"ru": "Russian original", "en": "English translation"}
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # no export time or host detail in the archive


def _cues(call: dict[str, Any], lang: str) -> list[tuple[float, float, str, str]]:
    out: list[tuple[float, float, str, str]] = []
    for seg in call.get("segments", []):
        if seg.get("start") is None or seg.get("end") is None:
            continue
        text = seg.get("translation") if lang == "en" else seg.get("text")
        if not text:
            continue
        start, end = float(seg["start"]), float(seg["end"])
        who = speaker(call, seg) if seg.get("party") else ""  # a side nobody told apart
        out.append((start, end if end > start else start + 1.0, who, str(text)))
    return out


def _stamp(seconds: float, sep: str) -> str:
    ms = round(seconds * 1000)
    return (
        f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}{sep}{ms % 1000:03d}"
    )


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _vtt_escape(text: str) -> str:
    return _one_line(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _note(text: str) -> str:
    """A NOTE block: no blank line and no "-->" may appear inside it."""
    return "NOTE\n" + _one_line(text).replace("-->", "->")


def _vtt(doc: dict[str, Any], call: dict[str, Any], lang: str) -> str:
    blocks = [
        f"WEBVTT - Call {call['id']}, {SUBTITLE_LANGUAGES[lang]}",
        _note(notice(doc)),
        _note(f"Times are seconds into the recording of call {call['id']}."),
    ]
    for i, (start, end, who, text) in enumerate(_cues(call, lang), 1):
        voice = f"<v {_vtt_escape(who)}>" if who else ""
        blocks.append(
            f"{i}\n{_stamp(start, '.')} --> {_stamp(end, '.')}\n{voice}{_vtt_escape(text)}"
        )
    return "\n\n".join(blocks) + "\n"


def _srt(doc: dict[str, Any], call: dict[str, Any], lang: str) -> str:
    import srt

    subtitles = [
        srt.Subtitle(
            i,
            timedelta(seconds=start),
            timedelta(seconds=end),
            (f"{_one_line(who)}: " if who else "") + _one_line(text).replace("-->", "->"),
        )
        for i, (start, end, who, text) in enumerate(_cues(call, lang), 1)
    ]
    return str(srt.compose(subtitles))


def _readme(doc: dict[str, Any], files: list[str]) -> str:
    lines = [
        notice(doc),
        "",
        "One subtitle file per call and language, timed on that call's own recording",
        "(second 0 is the start of the call): NAME.ru.* is the Russian original,",
        "NAME.en.* the English translation (present when the call is translated).",
        "",
        "Files:",
        *(f"  {name}" for name in files),
    ]
    if not doc.get("redacted"):
        lines += ["", "Recordings:"]
        lines += [f"  call-{c['id']}: {c.get('source_file', '')}" for c in doc.get("calls", [])]
    return "\n".join(lines) + "\n"


def subtitle_files(doc: dict[str, Any], fmt: str) -> list[tuple[str, str]]:
    """(file name, text) of every subtitle file of `doc`, then README.txt."""
    write: Callable[[dict[str, Any], dict[str, Any], str], str] = _vtt if fmt == "vtt" else _srt
    files: list[tuple[str, str]] = []
    for call in doc.get("calls", []):
        for lang in SUBTITLE_LANGUAGES:
            if _cues(call, lang):
                files.append((f"call-{call['id']}.{lang}.{fmt}", write(doc, call, lang)))
    files.append(("README.txt", _readme(doc, [name for name, _ in files])))
    return files


def _zip(files: list[tuple[str, str]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files:
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            archive.writestr(info, text.encode("utf-8"))
    return buffer.getvalue()


def _render(doc: dict[str, Any], fmt: str) -> Rendered:
    files = subtitle_files(doc, fmt)
    return Rendered(_zip(files), [(f"{fmt} zip {name}", text) for name, text in files])


def render_vtt(doc: dict[str, Any]) -> Rendered:
    return _render(doc, "vtt")


def render_srt(doc: dict[str, Any]) -> Rendered:
    return _render(doc, "srt")


VTT = ExportFormat(
    "vtt",
    render_vtt,
    "vtt.zip",
    "application/zip",
    GuardReads.OUTPUT,
    "WebVTT subtitles, one file per call and language (Russian, English), in a zip",
)
SRT = ExportFormat(
    "srt",
    render_srt,
    "srt.zip",
    "application/zip",
    GuardReads.OUTPUT,
    "SubRip subtitles, one file per call and language (Russian, English), in a zip",
)
