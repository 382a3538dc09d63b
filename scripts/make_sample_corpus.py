"""Generate Earshot's fictional sample corpus in src/earshot/data/sample/.

Why a generator and not recordings: the demo and the tests of every layer need calls whose
truth is known exactly (who speaks when, what is said, which names, numbers and slang an
editor must mark), and no real person may appear in them. espeak-ng gives every fictional
person a fixed synthetic voice, so voice matching can link him across calls; sox and PyAV
turn the result into telephone-quality audio in the codecs real intercepts arrive in.

The screenplay (cast and calls) is data: `sample_screenplay.yaml` beside this script.
Everything is deterministic: the same espeak-ng/sox/FFmpeg versions give byte-identical PCM.

Usage:  .venv/bin/python scripts/make_sample_corpus.py [--out DIR] [--only call03 ...]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import random
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import av
import numpy as np
import srt
import webvtt
from numpy.typing import NDArray

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sample_screenplay import CALLS, CAST, Call, Person

__all__ = [
    "CALLS",
    "CAST",
    "FORMATS",
    "SAMPLE_RATE",
    "Rendering",
    "TimedTurn",
    "encode_audio",
    "espeak_version",
    "generate",
    "render_call",
    "speak",
]

SAMPLE_RATE = 8000
REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "src" / "earshot" / "data" / "sample"
# Audio and sidecars only, so the folder can be ingested as is (`earshot demo` does);
# translations, truth and records stay beside it, outside the ingest.
CALLS_DIR = "calls"
CSV_HEADER = [
    "file",
    "started_at",
    "caller",
    "callee",
    "caller_name",
    "callee_name",
    "location",
    "notes",
    "intercept_id",
]


@dataclass(frozen=True)
class AudioFormat:
    """How one call is stored: file extension, container, codec and who encodes it."""

    ext: str
    container: str
    codec: str
    bit_rate: int | None = None
    via_sox: tuple[str, ...] | None = None  # sox output options; PyAV has no GSM encoder
    codec_id: str = ""  # FFmpeg's codec id name when read back ("amr_nb", not decoder "amrnb")

    @property
    def expected_codec(self) -> str:
        return self.codec_id or self.codec


FORMATS: dict[str, AudioFormat] = {
    "wav_s16": AudioFormat("wav", "wav", "pcm_s16le"),
    "wav_mulaw": AudioFormat("wav", "wav", "pcm_mulaw"),
    "wav_alaw": AudioFormat("wav", "wav", "pcm_alaw"),
    "flac": AudioFormat("flac", "flac", "flac"),
    "mp3": AudioFormat("mp3", "mp3", "libmp3lame", 32000, codec_id="mp3"),
    "opus": AudioFormat("opus", "ogg", "libopus", 24000, codec_id="opus"),
    "m4a": AudioFormat("m4a", "mp4", "aac", 32000),
    "amr": AudioFormat("amr", "amr", "libopencore_amrnb", 12200, codec_id="amr_nb"),
    "gsm": AudioFormat("gsm", "gsm", "gsm", via_sox=("-t", "gsm")),
    "wav_gsm": AudioFormat("wav", "wav", "gsm_ms", via_sox=("-t", "wav", "-e", "gsm-full-rate")),
}


# --------------------------------------------------------------------------- synthesis


def espeak_version() -> str:
    """The espeak-ng version line; PCM is only reproducible with the same version."""
    out = subprocess.run(
        ["espeak-ng", "--version"], capture_output=True, text=True, check=True
    ).stdout
    return out.split("Data at")[0].strip()


def speak(text: str, person: Person) -> NDArray[np.float32]:
    """One utterance in `person`'s fixed voice: 8 kHz, 300–3400 Hz, silence trimmed.

    Trimming matters because the truth times must be where the speech really is.
    """
    voice = person.voice
    wav = subprocess.run(
        [
            "espeak-ng",
            "-v",
            voice.variant,
            "-p",
            str(voice.pitch),
            "-s",
            str(voice.speed),
            "--stdout",
            text,
        ],
        capture_output=True,
        check=True,
    ).stdout
    raw = subprocess.run(
        [
            "sox",
            "-D",
            "-t",
            "wav",
            "-",
            "-t",
            "raw",
            "-e",
            "signed-integer",
            "-b",
            "16",
            "-c",
            "1",
            "-r",
            str(SAMPLE_RATE),
            "-",
            "sinc",
            "300-3400",
            "rate",
            str(SAMPLE_RATE),
        ],
        input=wav,
        capture_output=True,
        check=True,
    ).stdout
    samples = np.frombuffer(raw, dtype="<i2").astype(np.float32)
    loud = np.flatnonzero(np.abs(samples) > 0.03 * float(np.abs(samples).max()))
    pad = int(0.02 * SAMPLE_RATE)
    clip = samples[max(0, int(loud[0]) - pad) : int(loud[-1]) + pad]
    return (clip * (voice.level * 32767.0 / float(np.abs(clip).max()))).astype(np.float32)


@dataclass(frozen=True)
class TimedTurn:
    """A turn placed on the call's timeline (seconds from the start of the audio)."""

    party: str
    start: float
    end: float
    text: str
    en: str


@dataclass(frozen=True)
class Rendering:
    """A synthesized call before encoding: int16 PCM (samples × channels) and its turns."""

    pcm: NDArray[np.int16]
    turns: tuple[TimedTurn, ...]

    @property
    def duration(self) -> float:
        return float(self.pcm.shape[0]) / SAMPLE_RATE

    def sha256(self) -> str:
        return hashlib.sha256(np.ascontiguousarray(self.pcm).tobytes()).hexdigest()


def render_call(call: Call) -> Rendering:
    """Synthesize every turn and lay them on one timeline with a deterministic rhythm.

    Stereo: party A (caller) on channel 0, party B on channel 1. Mono: both on one channel;
    a turn with `overlap` starts that many seconds before the previous one ends.
    """
    rng = random.Random(call.id)  # str seeds hash with SHA-512: stable across runs
    people = {"A": CAST[call.a], "B": CAST[call.b]}
    placed: list[tuple[TimedTurn, NDArray[np.float32]]] = []
    cursor = rng.uniform(0.4, 0.9)
    prev_end = 0.0
    for turn in call.turns:
        clip = speak(turn.say or turn.ru, people[turn.party])
        start = prev_end - turn.overlap if turn.overlap else cursor
        start = round(start * SAMPLE_RATE) / SAMPLE_RATE
        end = start + clip.size / SAMPLE_RATE
        placed.append((TimedTurn(turn.party, start, end, turn.ru, turn.en), clip))
        prev_end = max(prev_end, end)
        cursor = prev_end + rng.uniform(0.25, 0.7)
    total = int((prev_end + rng.uniform(0.5, 0.9)) * SAMPLE_RATE)
    channels = 2 if call.stereo else 1
    seed = int.from_bytes(hashlib.sha256(call.id.encode()).digest()[:8], "little")
    mix = np.random.default_rng(seed).normal(0.0, 4.0, (total, channels)).astype(np.float32)
    for timed, clip in placed:
        channel = (0 if timed.party == "A" else 1) if call.stereo else 0
        first = round(timed.start * SAMPLE_RATE)
        mix[first : first + clip.size, channel] += clip
    pcm = np.clip(np.rint(mix), -32768, 32767).astype(np.int16)
    return Rendering(pcm, tuple(timed for timed, _ in placed))


# --------------------------------------------------------------------------- encoding


def encode_audio(pcm: NDArray[np.int16], path: Path, fmt: AudioFormat) -> None:
    """Write `pcm` (samples × channels, 8 kHz) to `path` in `fmt`."""
    channels = pcm.shape[1]
    if fmt.via_sox is not None:
        subprocess.run(
            [
                "sox",
                "-D",
                "-t",
                "raw",
                "-e",
                "signed-integer",
                "-b",
                "16",
                "-c",
                str(channels),
                "-r",
                str(SAMPLE_RATE),
                "-",
                *fmt.via_sox,
                str(path),
            ],
            input=np.ascontiguousarray(pcm).tobytes(),
            check=True,
        )
        return
    layout = "stereo" if channels == 2 else "mono"
    # bitexact: no random Ogg serial numbers or version strings, so reruns give equal files
    with av.open(
        str(path), "w", format=fmt.container, container_options={"fflags": "+bitexact"}
    ) as container:
        stream = container.add_stream(fmt.codec, rate=SAMPLE_RATE, layout=layout)
        if not isinstance(stream, av.audio.stream.AudioStream):
            raise TypeError(f"{fmt.codec} is not an audio encoder")
        if fmt.bit_rate:
            stream.bit_rate = fmt.bit_rate
        step = 1600
        for offset in range(0, pcm.shape[0], step):
            chunk = np.ascontiguousarray(pcm[offset : offset + step]).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(chunk, format="s16", layout=layout)
            frame.sample_rate = SAMPLE_RATE
            frame.pts = offset
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def decode_audio(path: Path) -> tuple[NDArray[np.float32], str]:
    """Decode with PyAV to 8 kHz float (samples × channels) and FFmpeg's codec id name.

    Opus always decodes at 48 kHz, so everything goes through one resampler.
    """
    parts: list[NDArray[np.float32]] = []
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        layout = "stereo" if stream.codec_context.layout.nb_channels == 2 else "mono"
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=SAMPLE_RATE)
        for frame in container.decode(stream):
            parts.extend(f.to_ndarray().astype(np.float32) for f in resampler.resample(frame))
        parts.extend(f.to_ndarray().astype(np.float32) for f in resampler.resample(None))
        codec = str(stream.codec_context.codec.canonical_name)
    return np.concatenate(parts, axis=1).T.astype(np.float32), codec


def codec_delay(reference: NDArray[np.int16], decoded: NDArray[np.float32]) -> float:
    """Seconds the decoded audio lags the synthesized PCM (encoder priming of MP3/AAC/AMR)."""
    ref = reference.astype(np.float32).sum(axis=1)[: SAMPLE_RATE * 8]
    dec = decoded.sum(axis=1)[: SAMPLE_RATE * 8]
    size = 1 << int(np.ceil(np.log2(ref.size + dec.size)))
    corr = np.fft.irfft(np.fft.rfft(dec, size) * np.conj(np.fft.rfft(ref, size)), size)
    window = int(0.3 * SAMPLE_RATE)
    lags = np.concatenate([corr[-window:], corr[: window + 1]])
    return (int(np.argmax(lags)) - window) / SAMPLE_RATE


# --------------------------------------------------------------------------- sidecars


def _vtt(turns: tuple[TimedTurn, ...], path: Path, english: bool = False) -> None:
    def stamp(seconds: float) -> str:
        ms = round(seconds * 1000)
        return (
            f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"
        )

    captions = [
        webvtt.Caption(stamp(t.start), stamp(t.end), f"<v {t.party}>{t.en if english else t.text}")
        for t in turns
    ]
    webvtt.WebVTT(captions=captions).save(str(path))


def _srt(turns: tuple[TimedTurn, ...], path: Path) -> None:
    subtitles = [
        srt.Subtitle(i, timedelta(seconds=t.start), timedelta(seconds=t.end), t.text)
        for i, t in enumerate(turns, 1)
    ]
    path.write_text(srt.compose(subtitles), encoding="utf-8")


def _txt(turns: tuple[TimedTurn, ...], path: Path) -> None:
    path.write_text("".join(f"{t.party}: {t.text}\n" for t in turns), encoding="utf-8")


SIDECAR_WRITERS = {"vtt": _vtt, "srt": _srt, "txt": _txt}


# --------------------------------------------------------------------------- truth


def _planted(call: Call, turns: tuple[TimedTurn, ...]) -> list[dict[str, object]]:
    """Where each planted term sits; a term missing from the dialogue is a screenplay bug."""
    found: list[dict[str, object]] = []
    for kind, text in call.planted:
        word = re.compile(rf"(?<!\w){re.escape(text)}(?!\w)")  # "Ром" must not hit "Ромка"
        hits = [i for i, t in enumerate(turns) if word.search(t.text)]
        if not hits:
            raise ValueError(f"{call.id}: planted {kind} {text!r} is not in any turn")
        found.append({"kind": kind, "text": text, "turns": hits})
    return found


def _cast_entry(person: Person) -> dict[str, object]:
    from earshot.phones import normalize_phone

    return {
        "person_id": person.id,
        "role": person.role,
        "first_name": person.first_name,
        "patronymic": person.patronymic,
        "surname": person.surname,
        "full_name": f"{person.surname} {person.first_name} {person.patronymic}",
        "nicknames": list(person.nicknames),
        "diminutives": list(person.diminutives),
        "home_town": person.home_town,
        "phones": [normalize_phone(p) for p in person.phones],
        "voice": person.voice.label,
    }


def _call_entry(
    call: Call, rendering: Rendering, fmt: AudioFormat, delay: float, duration: float
) -> dict[str, object]:
    from earshot.phones import normalize_phone

    name = f"{call.id}.{fmt.ext}"
    return {
        "file": name,
        "path": f"{CALLS_DIR}/{name}",
        "sidecar": f"{CALLS_DIR}/{call.id}.{call.sidecar}" if call.sidecar else None,
        "sidecar_format": call.sidecar,
        "translation": f"translations/{call.id}.en.vtt",
        "started_at": call.started_at,
        "caller": normalize_phone(call.caller_phone),
        "callee": normalize_phone(call.callee_phone),
        "channels": 2 if call.stereo else 1,
        "container": fmt.container,
        "codec": fmt.expected_codec,
        "duration": round(duration, 3),
        "codec_delay": round(delay, 4),
        "wants_out": call.wants_out,
        "themes": list(call.themes),
        "parties": {
            party: {"person_id": pid, "voice": CAST[pid].voice.label}
            for party, pid in (("A", call.a), ("B", call.b))
        },
        "turns": [
            {"start": round(t.start, 3), "end": round(t.end, 3), "party": t.party, "text": t.text}
            for t in rendering.turns
        ],
        "planted": _planted(call, rendering.turns),
    }


# --------------------------------------------------------------------------- driver


def _shift(rendering: Rendering, delay: float) -> tuple[TimedTurn, ...]:
    return tuple(
        TimedTurn(t.party, t.start + delay, t.end + delay, t.text, t.en) for t in rendering.turns
    )


def build_call(call: Call, out: Path) -> tuple[dict[str, object], str]:
    """Synthesize, encode and caption one call; return its truth entry and PCM hash."""
    fmt = FORMATS[call.format]
    (out / CALLS_DIR).mkdir(parents=True, exist_ok=True)
    (out / "translations").mkdir(parents=True, exist_ok=True)
    rendering = render_call(call)
    if not 20.0 <= rendering.duration <= 50.0:
        raise ValueError(f"{call.id}: {rendering.duration:.1f} s, calls must last 20–50 s")
    path = out / CALLS_DIR / f"{call.id}.{fmt.ext}"
    encode_audio(rendering.pcm, path, fmt)
    decoded, codec = decode_audio(path)
    if codec != fmt.expected_codec:
        raise ValueError(f"{path.name}: PyAV reads codec {codec}, expected {fmt.expected_codec}")
    delay = max(0.0, codec_delay(rendering.pcm, decoded))
    turns = _shift(rendering, delay)
    shifted = Rendering(rendering.pcm, turns)
    if call.sidecar:
        SIDECAR_WRITERS[call.sidecar](turns, out / CALLS_DIR / f"{call.id}.{call.sidecar}")
    _vtt(turns, out / "translations" / f"{call.id}.en.vtt", english=True)
    entry = _call_entry(call, shifted, fmt, delay, decoded.shape[0] / SAMPLE_RATE)
    return entry, rendering.sha256()


def generate(out: Path, only: set[str] | None = None) -> dict[str, object]:
    """Write the whole corpus (or only some calls' audio and sidecars) into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    if only is None:  # a full run leaves no stale calls from an older screenplay
        for folder in (out / CALLS_DIR, out / "translations"):
            shutil.rmtree(folder, ignore_errors=True)
    calls = [c for c in CALLS if only is None or c.id in only]
    entries: list[dict[str, object]] = []
    hashes: dict[str, str] = {}
    for call in calls:
        entry, digest = build_call(call, out)
        entries.append(entry)
        hashes[call.id] = digest
    truth: dict[str, object] = {
        "description": "Ground truth of Earshot's fictional sample corpus (all persons invented).",
        "generator": "scripts/make_sample_corpus.py",
        "espeak_ng": espeak_version(),
        "sample_rate": SAMPLE_RATE,
        "cast": [_cast_entry(p) for p in CAST.values()],
        "calls": entries,
        "pcm_sha256": hashes,
    }
    if only is None:
        (out / "truth.json").write_text(
            json.dumps(truth, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
        )
        with (out / "calls.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(CSV_HEADER)
            for call in CALLS:
                writer.writerow(
                    [
                        f"{call.id}.{FORMATS[call.format].ext}",
                        call.started_at,
                        call.caller_phone,
                        call.callee_phone,
                        call.caller_name,
                        call.callee_name,
                        call.location,
                        call.notes,
                        call.intercept_id,
                    ]
                )
    return truth


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--only", nargs="*", help="call ids; writes no truth.json/calls.csv")
    args = parser.parse_args(argv)
    truth = generate(args.out, set(args.only) if args.only else None)
    calls = truth["calls"]
    assert isinstance(calls, list)
    for entry in calls:
        print(f"{entry['file']:<14} {entry['duration']:6.2f} s  {entry['codec']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
