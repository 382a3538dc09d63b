"""The CPU-bound half of ingest, run in worker processes: store, hash, decode.

A worker never touches the database. It copies the input into the media store
(hashing on the way), then makes the working copies unless a complete set already
exists from an earlier run, and hands back plain data for the main process to record.
"""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..audio import decode_to_working
from ..audio.decode import DEFAULT_MAX_DURATION
from ..errors import EarshotError
from ..security.crypto import MediaCipher
from ..store.media import MediaStore, sha256_file
from .discover import InputFile, open_input

__all__ = ["TakeIn", "TakenIn", "make_working_copies", "take_in"]

INFO_NAME = "info.json"


@dataclass(frozen=True)
class TakeIn:
    item: InputFile
    case_dir: str
    max_bytes: int
    max_seconds: float
    decode: bool = True
    # An encrypted case's data key, handed to the worker process in memory (never on disk).
    media_key: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True)
class TakenIn:
    item: InputFile
    sha256: str | None = None
    size: int = 0
    info: dict[str, Any] | None = None
    copies: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None


def _read_working(media: MediaStore, sha256: str) -> dict[str, Any] | None:
    info_file = media.working_dir(sha256) / INFO_NAME
    try:
        data: dict[str, Any] = json.loads(info_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if all((media.root / c["path"]).is_file() for c in data.get("copies", [])):
        return data
    return None


def take_in(task: TakeIn, on_stored: Callable[[str, int], None] | None = None) -> TakenIn:
    """Store one input and, for audio, make its working copies. Never raises.

    ``on_stored(sha256, size)`` is called once the bytes are in the media store, before the
    decoder runs: the isolating parent (`earshot.ingest.isolated`) then knows which original a
    decoder crash belongs to.
    """
    key = task.media_key
    media = MediaStore(Path(task.case_dir), unlock=(lambda: MediaCipher(key)) if key else None)
    item = task.item
    try:
        with open_input(item) as stream:
            # zipfile stops at a member's declared size and checks its CRC, so a
            # member lying about its size cannot outgrow the limit either.
            sha, size = media.put_stream(stream, max_bytes=task.max_bytes, name=item.display)
    except EarshotError as exc:
        return TakenIn(item, error=str(exc))
    except (OSError, zipfile.BadZipFile, RuntimeError, EOFError) as exc:
        return TakenIn(item, error=f"{item.display}: cannot read ({exc}); check the copy")
    if on_stored is not None:
        on_stored(sha, size)
    if not task.decode:
        return TakenIn(item, sha256=sha, size=size)
    if size == 0:
        return TakenIn(item, sha256=sha, size=0, error=f"{item.display}: empty file (0 bytes)")
    existing = _read_working(media, sha)
    if existing is not None:
        return TakenIn(item, sha, size, existing["info"], existing["copies"])
    try:
        info, rows = make_working_copies(
            media, sha, max_seconds=task.max_seconds, display=item.display
        )
    except EarshotError as exc:
        return TakenIn(item, sha, size, error=str(exc))
    except Exception as exc:
        return TakenIn(
            item, sha, size, error=f"{item.display}: could not decode ({type(exc).__name__}: {exc})"
        )
    return TakenIn(item, sha, size, info, rows)


def make_working_copies(
    media: MediaStore,
    sha256: str,
    *,
    max_seconds: float = DEFAULT_MAX_DURATION,
    display: str | None = None,
    replace: bool = False,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Decode the stored original ``sha256`` into its working copies and publish them.

    The one code path for ingest and for the pipeline's decode stage (which repairs lost
    copies): in an encrypted case the original is decrypted into a private staging folder
    for the decoder and every copy is sealed before it is published.  Returns the audio info
    and one row per channel (path relative to the media root).  ``display`` replaces the
    store's file names in error messages; ``replace`` drops an existing (stale) set first.
    Raises the decoder's `EarshotError`.
    """
    decoded_names = [str(media.original_path(sha256))]  # paths to hide behind the name
    try:
        with media.staging_dir("work-") as stage, media.staging_dir("plain-") as plain:
            source = media.original_path(sha256)
            if media.encrypted:
                # The decoder needs a file: plaintext exists briefly in a private tmp/ folder.
                source = plain / "original"
                decoded_names.append(str(source))
                media.copy_original(sha256, source)
            info, copies = decode_to_working(source, stage, max_duration=max_seconds)
            relative = media.relative_working(sha256)
            hashes = {}
            for copy in copies:
                # Hashed as made (plaintext), before sealing: `verify`, the stages and clips
                # refuse a copy that no longer matches (earshot.store.working).
                hashes[copy.channel] = sha256_file(copy.path)
                media.seal_working(copy.path, f"{relative}/{copy.path.name}")
            rows = [
                {
                    "channel": c.channel,
                    "path": f"{relative}/{c.path.name}",
                    "sample_rate": c.sample_rate,
                    "frames": c.frames,
                    "content_sha256": hashes[c.channel],
                }
                for c in copies
            ]
            data: dict[str, Any] = {"info": asdict(info), "copies": rows}
            fd = os.open(stage / INFO_NAME, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as info_file:
                info_file.write(json.dumps(data))
            target = media.working_dir(sha256)
            if replace and target.exists():  # a stale or incomplete set would be kept
                shutil.rmtree(target)
            media.publish_working(stage, sha256, marker=INFO_NAME)
    except EarshotError as exc:
        if display is None:
            raise
        message = str(exc)
        for name in decoded_names:
            message = message.replace(name, display)
        raise type(exc)(message) from exc
    return data["info"], rows
