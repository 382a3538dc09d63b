"""Recording one ingested file in the database: original, sighting, call, custody, sidecars.

Each call of :meth:`AudioRecorder.audio` runs inside one transaction opened by the
runner, so a file is either fully recorded or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import EarshotError
from ..store.case import Case
from ..store.custody import append_custody
from ..store.failures import record_failure, resolve_failure
from ..store.models import Call, Original, Party, Sighting, WorkingCopyRow
from .apply_records import FILE_NAME_CONTACT
from .filenames import NameFacts
from .matching import NO_AUDIO, Match, phone_row, recordless_for_recording, set_source
from .records import CallRecord
from .transcripts import SidecarMatch, import_sidecar
from .worker import TakenIn

__all__ = ["AudioRecorder", "FileResult"]


@dataclass(frozen=True)
class FileResult:
    path: str
    status: str  # new | duplicate | unchanged | failed | skipped
    sha256: str | None = None
    call_id: int | None = None
    message: str | None = None
    transcripts: int = 0


class AudioRecorder:
    """Writes one batch's outcomes to the database, one transaction per file."""

    def __init__(
        self, case: Case, batch_id: int, source: str | None, *, tolerance: float = 120.0
    ) -> None:
        self.case = case
        self.batch_id = batch_id
        self.source = source
        self.operator = case.settings.operator
        self.tolerance = tolerance
        self.batch_calls: set[int] = set()
        self.attached = 0

    def audio(
        self,
        session: Session,
        taken: TakenIn,
        sidecars: list[SidecarMatch],
        record: CallRecord | None,
        facts: NameFacts | None = None,
    ) -> FileResult:
        item = taken.item
        key = f"file:{item.display}"
        if taken.sha256 is None:
            assert taken.error is not None
            record_failure(
                session,
                key=key,
                stage="ingest",
                path=item.display,
                message=taken.error,
                batch_id=self.batch_id,
            )
            return FileResult(item.display, "failed", message=taken.error)
        sha = taken.sha256
        original = session.get(Original, sha)
        info = taken.info or {}
        if original is None:
            original = Original(
                sha256=sha,
                kind="audio",
                size=taken.size,
                stored_path=self.case.media.relative_original(sha),
            )
            session.add(original)
        if info:
            original.container = info.get("container")
            original.codec = info.get("codec")
            original.sample_rate = info.get("sample_rate")
            original.channels = info.get("channels")
            original.duration = info.get("duration")
        original.decodable = taken.error is None
        session.flush()
        sighting = session.execute(
            select(Sighting).where(Sighting.sha256 == sha, Sighting.original_path == item.display)
        ).scalar_one_or_none()
        new_sighting = sighting is None
        duplicate = False
        if new_sighting:
            duplicate = (
                session.execute(select(Sighting.id).where(Sighting.sha256 == sha)).first()
                is not None
            )
            session.add(
                Sighting(
                    sha256=sha,
                    batch_id=self.batch_id,
                    original_path=item.display,
                    file_name=item.name,
                    source=self.source,
                    operator=self.operator,
                    duplicate=duplicate,
                )
            )
        call = session.execute(select(Call).where(Call.sha256 == sha)).scalar_one_or_none()
        created = False
        if taken.error is None and call is None:
            waiting = recordless_for_recording(session, item.name, facts, self.tolerance)
            if waiting is not None:
                call = self._attach(session, waiting, taken)
            else:
                call = self._create_call(session, taken)
                if record is None and facts is not None:
                    self._apply_facts(session, call, facts, item.name)
            created = True
        if new_sighting:
            action = "ingest-failed" if taken.error else "duplicate" if duplicate else "ingested"
            append_custody(
                session,
                operator=self.operator,
                action=action,
                sha256=sha,
                path=item.display,
                detail={
                    "size": taken.size,
                    "source": self.source,
                    "batch": self.batch_id,
                    "call_id": call.id if call else None,
                },
            )
        elif created and call is not None:
            append_custody(
                session,
                operator=self.operator,
                action="call-created",
                sha256=sha,
                path=item.display,
                detail={"call_id": call.id, "batch": self.batch_id},
            )
        if taken.error is not None:
            record_failure(
                session,
                key=key,
                stage="decode",
                path=item.display,
                sha256=sha,
                message=taken.error,
                batch_id=self.batch_id,
            )
            return FileResult(item.display, "failed", sha, message=taken.error)
        assert call is not None
        resolve_failure(session, key)
        self.batch_calls.add(call.id)
        status = "new" if created else "duplicate" if (new_sighting and duplicate) else "unchanged"
        imported = 0
        for match in sidecars:
            imported += self._sidecar(session, call, match, record)
        if status == "unchanged" and imported:
            status = "new"  # a sidecar added beside an already ingested file
        return FileResult(item.display, status, sha, call.id, transcripts=imported)

    def _create_call(self, session: Session, taken: TakenIn) -> Call:
        info = taken.info or {}
        channels = int(info.get("channels") or 1)
        call = Call(
            sha256=taken.sha256,
            source_file=taken.item.name,
            source_path=taken.item.display,
            duration=float(info.get("duration") or 0.0),
            channels=channels,
            sample_rate=int(info.get("sample_rate") or 0),
            codec=str(info.get("codec") or "unknown"),
            attributes={},
        )
        session.add(call)
        session.flush()
        for label, role, channel in (("A", "caller", 0), ("B", "callee", 1)):
            session.add(
                Party(
                    call_id=call.id,
                    label=label,
                    role=role,
                    channel=channel if channels >= 2 else None,
                )
            )
        self._add_copies(session, taken)
        session.refresh(call)
        return call

    def _add_copies(self, session: Session, taken: TakenIn) -> None:
        for copy in taken.copies:
            exists = session.execute(
                select(WorkingCopyRow.id).where(
                    WorkingCopyRow.sha256 == taken.sha256,
                    WorkingCopyRow.channel == copy["channel"],
                )
            ).first()
            if exists is None:
                session.add(WorkingCopyRow(sha256=taken.sha256, **copy))
        session.flush()

    def _attach(self, session: Session, waiting: Match, taken: TakenIn) -> Call:
        """Give a call known only from its record the recording that has now arrived."""
        call, info = waiting.call, taken.info or {}
        assert taken.sha256 is not None and call.status == NO_AUDIO
        row_sha = call.sha256
        channels = int(info.get("channels") or 1)
        call.sha256 = taken.sha256
        call.source_file, call.source_path = taken.item.name, taken.item.display
        call.duration = float(info.get("duration") or 0.0)
        call.channels, call.sample_rate = channels, int(info.get("sample_rate") or 0)
        call.codec = str(info.get("codec") or "unknown")
        call.status = "ingested"
        for party in call.parties:
            party.channel = {"A": 0, "B": 1}.get(party.label) if channels >= 2 else None
        session.flush()
        self._add_copies(session, taken)
        detail = {"record_row_sha256": row_sha}
        if waiting.seconds_apart is not None:
            detail["seconds_apart"] = f"{waiting.seconds_apart:.3f}"
        set_source(session, call.id, "recording", waiting.basis, taken.item.display, detail)
        append_custody(
            session,
            operator=self.operator,
            action="recording-attached",
            sha256=taken.sha256,
            path=taken.item.display,
            detail={"call_id": call.id, "basis": waiting.basis, "batch": self.batch_id},
        )
        self.attached += 1
        session.refresh(call)
        return call

    def _apply_facts(self, session: Session, call: Call, facts: NameFacts, name: str) -> None:
        """What the recorder app's file name says, each fact with the basis "file name"."""
        if facts.started_at is not None and call.started_at is None:
            call.started_at = facts.started_at
            set_source(session, call.id, "started_at", facts.basis, name)
        label = "A" if facts.direction == "incoming" else "B"
        if facts.number is not None:
            party = next(p for p in call.parties if p.label == label)
            party.phone_id = phone_row(session, facts.number).id
            detail = {} if facts.direction else {"direction": "unknown: number put on B"}
            set_source(session, call.id, f"{label}.phone", facts.basis, name, detail)
        if facts.name:
            call.attributes = {**(call.attributes or {}), FILE_NAME_CONTACT: facts.name}
            set_source(session, call.id, f"{label}.name", facts.basis, name)
        session.flush()

    def _sidecar(
        self, session: Session, call: Call, match: SidecarMatch, record: CallRecord | None
    ) -> int:
        key = f"sidecar:{match.item.display}"
        try:
            with session.begin_nested():
                status = import_sidecar(
                    session,
                    self.case.media,
                    call,
                    match,
                    record=record,
                    operator=self.operator,
                    source=self.source,
                    batch_id=self.batch_id,
                )
        except EarshotError as exc:
            record_failure(
                session,
                key=key,
                stage="sidecar",
                path=match.item.display,
                message=str(exc),
                batch_id=self.batch_id,
            )
            return 0
        except OSError as exc:
            record_failure(
                session,
                key=key,
                stage="sidecar",
                path=match.item.display,
                message=f"{match.item.display}: cannot read ({exc.strerror or exc})",
                batch_id=self.batch_id,
            )
            return 0
        resolve_failure(session, key)
        return 1 if status == "imported" else 0
