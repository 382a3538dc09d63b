"""`earshot transcribe FILE...`: the speech stages on loose recordings, without a case.

Decode (PyAV, as ingest does) into a temporary folder, find speech (Silero VAD), separate the
parties (by channel on stereo, by voice on mono when ``speakers`` > 1), transcribe, and write
txt / json / srt / vtt.  Nothing is stored: this is for the reporter with one recording and ten
minutes, and leaves no copy of a sensitive recording behind.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..audio.decode import decode_to_working, read_working
from ..errors import ConfigError
from ..speech.asr import AsrEngine
from ..speech.asr.base import describe
from ..speech.diarize import DiarizationOptions, assign_speakers, diarize_mono, own_speech
from ..speech.info import SAMPLE_RATE
from ..speech.recognise import recognise_channels
from ..speech.vad import default_vad

__all__ = ["FORMATS", "FileTranscript", "TimedLine", "output_path", "render", "transcribe_file"]

FORMATS = ("txt", "json", "srt", "vtt")
_LABELS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass(frozen=True)
class TimedLine:
    """One segment of a loose file's transcript."""

    start: float
    end: float
    party: str | None
    channel: int | None
    text: str
    words: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "end": self.end,
            "party": self.party,
            "channel": self.channel,
            "text": self.text,
            "words": self.words,
        }


@dataclass(frozen=True)
class FileTranscript:
    """A transcribed file, with the engine's provenance and the time it took."""

    path: str
    duration: float
    channels: int
    engine: dict[str, object]
    seconds: float
    lines: list[TimedLine]

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "duration": round(self.duration, 3),
            "channels": self.channels,
            "engine": self.engine,
            "seconds": round(self.seconds, 3),
            "rtf": round(self.seconds / self.duration, 4) if self.duration else None,
            "segments": [line.as_dict() for line in self.lines],
        }


def transcribe_file(
    path: Path, engine: AsrEngine, *, language: str | None = "ru", speakers: int = 2
) -> FileTranscript:
    """Decode, VAD, separation and ASR of one recording."""
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="earshot-transcribe-") as tmp:
        info, copies = decode_to_working(Path(path), Path(tmp))
        channels = [read_working(c.path) for c in copies]
    vad = default_vad()
    # As the separate stage does: each channel of a stereo call without the other's crosstalk.
    speech = own_speech(channels, vad=vad) if len(channels) >= 2 else [vad.detect(channels[0])]
    regions = {i: [(r.start, r.end) for r in found] for i, found in enumerate(speech)}
    heard = recognise_channels(engine, channels, language=language, regions=regions)
    parties: list[str | None]
    if len(channels) >= 2:
        parties = [None if h.channel is None else _LABELS[h.channel] for h in heard]
        if any(h.channel is None for h in heard):
            from ..speech.diarize import assign_by_channel_energy

            loudest = assign_by_channel_energy(
                [(h.segment.start, h.segment.end) for h in heard], channels
            )
            parties = [_LABELS[c] for c in loudest]
    elif speakers > 1 and heard:
        from ..speech.voiceprint import default_encoder

        turns = diarize_mono(
            channels[0], DiarizationOptions(speakers=speakers), encoder=default_encoder()
        ).turns
        who = assign_speakers([(h.segment.start, h.segment.end) for h in heard], turns)
        parties = [None if s is None else _LABELS[s] for s in who]
    else:
        parties = [None] * len(heard)
    lines = [
        TimedLine(
            h.segment.start,
            h.segment.end,
            party,
            h.channel if len(channels) >= 2 else None,
            h.segment.text,
            [
                {"start": w.start, "end": w.end, "word": w.word, "probability": w.probability}
                for w in h.segment.words
            ],
        )
        for h, party in zip(heard, parties, strict=True)
    ]
    duration = max((c.size for c in channels), default=0) / SAMPLE_RATE
    return FileTranscript(
        str(path),
        duration or info.duration,
        len(channels),
        describe(engine),
        time.perf_counter() - began,
        lines,
    )


def _stamp(seconds: float, separator: str) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}{separator}{rest % 1000:03d}"


def _cue_text(line: TimedLine) -> str:
    text = " ".join(line.text.split())
    return f"{line.party}: {text}" if line.party else text


def render(transcript: FileTranscript, fmt: str) -> str:
    """The transcript as txt, json, srt or vtt text."""
    if fmt == "json":
        return json.dumps(transcript.as_dict(), ensure_ascii=False, indent=2) + "\n"
    if fmt == "txt":
        return "".join(
            f"[{_stamp(line.start, '.')} - {_stamp(line.end, '.')}] {_cue_text(line)}\n"
            for line in transcript.lines
        )
    if fmt == "srt":
        return "\n".join(
            f"{i}\n{_stamp(line.start, ',')} --> {_stamp(line.end, ',')}\n{_cue_text(line)}\n"
            for i, line in enumerate(transcript.lines, start=1)
        )
    if fmt == "vtt":
        cues = "".join(
            f"\n{_stamp(line.start, '.')} --> {_stamp(line.end, '.')}\n"
            + (f"<v {line.party}>" if line.party else "")
            + " ".join(line.text.split()).replace("&", "&amp;").replace("<", "&lt;")
            + "\n"
            for line in transcript.lines
        )
        return "WEBVTT\n" + cues
    raise ConfigError(f"unknown transcript format {fmt!r}; choose one of {', '.join(FORMATS)}")


def output_path(source: Path, out_dir: Path, fmt: str, taken: Sequence[Path] = ()) -> Path:
    """``out_dir/<stem>.<fmt>``, numbered when two inputs share a stem."""
    candidate = out_dir / f"{source.stem}.{fmt}"
    n = 2
    while candidate in taken:
        candidate = out_dir / f"{source.stem}-{n}.{fmt}"
        n += 1
    return candidate
