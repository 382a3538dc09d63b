"""WebVTT and SRT subtitles (webvtt-py and srt write them), one cue per timed segment.

Several calls go one after another, each call's cues shifted past the previous
call's end, with a NOTE (VTT) naming the call.
"""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import srt
import webvtt

from ._common import Rendered, notice, speaker
from .registry import ExportFormat, GuardReads

__all__ = ["render_srt", "render_vtt"]


def _cues(doc: dict[str, Any]) -> list[tuple[float, float, str, str, int]]:
    cues: list[tuple[float, float, str, str, int]] = []
    offset = 0.0
    for call in doc.get("calls", []):
        last = 0.0
        for seg in call.get("segments", []):
            if seg.get("start") is None or seg.get("end") is None:
                continue
            text = seg.get("translation") or seg["text"]
            start, end = offset + float(seg["start"]), offset + float(seg["end"])
            cues.append((start, max(end, start + 0.01), speaker(call, seg), text, int(call["id"])))
            last = max(last, float(seg["end"]))
        offset += max(last, float(call.get("duration") or 0.0)) + 1.0
    return cues


def _stamp(seconds: float) -> str:
    ms = round(seconds * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def render_vtt(doc: dict[str, Any]) -> Rendered:
    vtt = webvtt.WebVTT()
    for start, end, who, text, _call in _cues(doc):
        safe = text.replace("-->", "->").replace("<", "‹").replace(">", "›")
        who_safe = who.replace("<", "‹").replace(">", "›")
        vtt.captions.append(webvtt.Caption(_stamp(start), _stamp(end), f"<v {who_safe}>{safe}"))
    buffer = io.StringIO()
    vtt.write(buffer)
    body = buffer.getvalue()
    header, _, rest = body.partition("\n")
    note = notice(doc).replace("-->", "->")
    text = f"{header} - {note}\n\nNOTE {note}\n{rest}"
    return Rendered(text.encode("utf-8"), [("vtt", text)])


def render_srt(doc: dict[str, Any]) -> Rendered:
    # The notice is the first cue (a blink at 0 s), so every other cue keeps its time.
    subtitles = [srt.Subtitle(1, timedelta(0), timedelta(milliseconds=1), notice(doc))]
    for i, (start, end, who, text, _call) in enumerate(_cues(doc), 2):
        subtitles.append(
            srt.Subtitle(i, timedelta(seconds=start), timedelta(seconds=end), f"{who}: {text}")
        )
    text = srt.compose(subtitles)
    return Rendered(text.encode("utf-8"), [("srt", text)])


VTT = ExportFormat(
    "vtt",
    render_vtt,
    "vtt",
    "text/vtt; charset=utf-8",
    GuardReads.OUTPUT,
    "WebVTT subtitles per segment",
)
SRT = ExportFormat(
    "srt",
    render_srt,
    "srt",
    "application/x-subrip",
    GuardReads.OUTPUT,
    "SubRip subtitles per segment",
)
