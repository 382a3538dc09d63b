"""Material brought in through the browser: staged privately, previewed, then ingested.

An upload is a private folder of the case (``uploads/ID``, 0700; files 0600) that the
browser fills file by file: each file streams to disk in chunks (never whole in memory)
under a size limit that is checked while it streams, so a too-large file is refused
before the limit is passed on disk. Folders keep their relative paths (sanitised: no
``..``, no absolute paths, no control characters); archives are left whole, for the
ingest to open. One call-record file (CSV, XLSX, ODS) goes to its own slot.

Before anything is written to the case, :func:`preview_upload` shows how the records'
columns map and which rows land on which files (the ingest's own dry run,
:func:`~earshot.ingest.preview.preview_ingest`); :func:`start_upload` then queues the
ingest, and processing after it, as background jobs.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UploadError, UploadTooLargeError
from ..ingest.preview import IngestPreview, preview_ingest
from ..ingest.runner import IngestOptions
from ..ingest.watch import JobSummary
from ..security.roles import Actor, Permission
from ..store.audit import audit
from ..store.case import Case
from ..vocab import JobKind
from .queue import submit_job

__all__ = [
    "RECORD_SUFFIXES",
    "UploadRecord",
    "UploadWriter",
    "discard_upload",
    "new_upload",
    "preview_upload",
    "start_upload",
    "upload_file",
    "upload_record",
]

UPLOADS = "uploads"
RECORD_SUFFIXES = frozenset({".csv", ".tsv", ".xlsx", ".xlsm", ".xls", ".ods"})
_ID = re.compile(r"^[0-9a-f]{32}$")
_BAD = re.compile(r"[\x00-\x1f\x7f]")
MAX_DEPTH = 32
CHUNK = 1024 * 1024


@dataclass
class UploadRecord:
    """An upload as the intake page shows it."""

    id: str
    operator: str
    started: bool
    files: list[dict[str, Any]] = field(default_factory=list)
    records: str | None = None
    job_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _root(case: Case, upload_id: str) -> Path:
    if not _ID.match(upload_id):
        raise UploadError(f"no upload {upload_id!r} in this case")
    root = case.path / UPLOADS / upload_id
    if not (root / "upload.json").is_file():
        raise UploadError(f"no upload {upload_id} in this case; start a new upload")
    return root


def _meta(root: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((root / "upload.json").read_text(encoding="utf-8"))
    return data


def _write_meta(root: Path, meta: dict[str, Any]) -> None:
    tmp = root / "upload.json.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(meta, fh)
    os.replace(tmp, root / "upload.json")


def new_upload(case: Case, actor: Actor) -> UploadRecord:
    """A new, empty, private upload folder for `actor`."""
    actor.require(Permission.INGEST, what="upload material")
    base = case.path / UPLOADS
    base.mkdir(mode=0o700, exist_ok=True)
    base.chmod(0o700)
    upload_id = secrets.token_hex(16)
    root = base / upload_id
    root.mkdir(mode=0o700)
    (root / "files").mkdir(mode=0o700)
    (root / "records").mkdir(mode=0o700)
    _write_meta(root, {"operator": actor.name, "started": False, "job_id": None})
    with case.session() as session:
        audit(
            session,
            user=actor.name,
            action="upload-open",
            object_type="upload",
            object_id=upload_id,
            detail={},
        )
    return UploadRecord(upload_id, actor.name, False)


def _safe_parts(relative: str) -> list[str]:
    parts = [p for p in relative.replace("\\", "/").split("/") if p not in ("", ".")]
    if not parts or relative.startswith("/") or len(parts) > MAX_DEPTH:
        raise UploadError(f"{relative!r}: not a file path inside the upload")
    for part in parts:
        if part == ".." or _BAD.search(part) or len(part.encode()) > 255:
            raise UploadError(f"{relative!r}: path part {part!r} is not allowed")
    return parts


class UploadWriter:
    """One file streaming into an upload: write chunks, then `close()` (or `abort()`).

    Written to a hidden ``.part`` file and renamed when whole, so a broken connection
    never leaves a half file that the ingest would take for a complete one.
    """

    def __init__(
        self,
        target: Path,
        limit: int,
        *,
        too_large: str = "{name} is larger than the upload limit of {limit:,} bytes; "
        "split it, or ask the admin to raise upload_max_bytes",
    ) -> None:
        self.target, self.limit, self.size = target, limit, 0
        self.too_large = too_large  # the refusal past `limit` ({name}, {limit} filled in)
        self.part = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
        fd = os.open(self.part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._fh = os.fdopen(fd, "wb")

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.limit:
            self.abort()
            raise UploadTooLargeError(
                self.too_large.format(name=self.target.name, limit=self.limit)
            )
        self._fh.write(chunk)

    def close(self) -> int:
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        os.replace(self.part, self.target)
        return self.size

    def abort(self) -> None:
        if not self._fh.closed:
            self._fh.close()
        self.part.unlink(missing_ok=True)


def upload_file(
    case: Case, actor: Actor, upload_id: str, relative: str, *, records: bool, limit: int
) -> UploadWriter:
    """A writer for one file of the upload (`records`: the call-record file's slot)."""
    actor.require(Permission.INGEST, what="upload material")
    root = _root(case, upload_id)
    meta = _meta(root)
    if meta["operator"] != actor.name:
        raise UploadError(f"upload {upload_id} is {meta['operator']}'s; start your own")
    if meta["started"]:
        raise UploadError(f"upload {upload_id} was already taken in; start a new upload")
    parts = _safe_parts(relative)
    if records:
        if Path(parts[-1]).suffix.lower() not in RECORD_SUFFIXES:
            raise UploadError(f"{parts[-1]}: a call-record file is a CSV, TSV, XLSX or ODS table")
        for old in (root / "records").iterdir():
            old.unlink()
        target = root / "records" / parts[-1]
    else:
        target = root / "files" / Path(*parts)
        folder = root / "files"
        for part in parts[:-1]:
            folder = folder / part
            folder.mkdir(mode=0o700, exist_ok=True)
    return UploadWriter(target, limit)


def _listing(root: Path) -> tuple[list[dict[str, Any]], Path | None]:
    files = []
    for path in sorted((root / "files").rglob("*")):
        if path.is_file() and not path.name.endswith(".part"):
            rel = path.relative_to(root / "files").as_posix()
            files.append({"path": rel, "size": path.stat().st_size})
    records = [p for p in (root / "records").iterdir() if not p.name.endswith(".part")]
    return files, (records[0] if records else None)


def upload_record(case: Case, actor: Actor, upload_id: str) -> UploadRecord:
    actor.require(Permission.INGEST, what="see an upload")
    root = _root(case, upload_id)
    meta = _meta(root)
    files, records = _listing(root)
    return UploadRecord(
        upload_id,
        meta["operator"],
        bool(meta["started"]),
        files,
        records.name if records else None,
        meta.get("job_id"),
    )


def preview_upload(case: Case, actor: Actor, upload_id: str) -> IngestPreview:
    """How the upload would be taken in: the records' column mapping, which row lands on
    which file, the files' recorder names; reads, writes nothing to the case."""
    actor.require(Permission.INGEST, what="preview an upload")
    root = _root(case, upload_id)
    files, records = _listing(root)
    if not files and records is None:
        raise UploadError("nothing uploaded yet; drop audio, folders or archives first")
    preview = preview_ingest(case, [root / "files"], IngestOptions(metadata=records))
    shown = str(root / "files") + os.sep
    for item in preview.files:  # the browser sees paths inside the upload, not the disk's
        item["file"] = str(item["file"]).replace(shown, "")
    if preview.records_file:
        preview.records_file = Path(preview.records_file).name
    return preview


def start_upload(
    case: Case,
    actor: Actor,
    upload_id: str,
    *,
    process: bool = True,
    only: list[str] | None = None,
    backend: str = "local",
    queue: str = "local",
) -> JobSummary:
    """Queue the ingest of the upload (and, if `process`, processing of its new calls)."""
    actor.require(Permission.INGEST, what="take in an upload")
    root = _root(case, upload_id)
    meta = _meta(root)
    if meta["started"]:
        raise UploadError(f"upload {upload_id} was already taken in (job {meta['job_id']})")
    files, records = _listing(root)
    if not files and records is None:
        raise UploadError("nothing uploaded yet; drop audio, folders or archives first")
    options: dict[str, Any] = {
        "paths": [str(root / "files")],
        "metadata": str(records) if records else None,
        "source": f"browser upload {upload_id[:8]} by {actor.name}",
        "staging": str(root),
        "then_process": {"only": only, "backend": backend} if process else None,
    }
    state = {"upload": {"id": upload_id, "files": len(files), "records": bool(records)}}
    job = submit_job(
        case,
        actor,
        JobKind.INGEST,
        f"upload {upload_id[:8]}: {len(files)} file(s)" + (" + call records" if records else ""),
        options,
        queue=queue,
        state=state,
    )
    meta.update(started=True, job_id=job.id)
    _write_meta(root, meta)
    return job


def discard_upload(case: Case, actor: Actor, upload_id: str) -> None:
    """Delete an upload that was not taken in."""
    actor.require(Permission.INGEST, what="discard an upload")
    root = _root(case, upload_id)
    if _meta(root)["started"]:
        raise UploadError(f"upload {upload_id} was taken in; its job owns it now")
    shutil.rmtree(root)
