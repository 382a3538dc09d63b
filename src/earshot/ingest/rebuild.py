"""`earshot verify --rebuild-working`: remake refused working copies from their originals.

A working copy that is altered, missing or was never hashed is decoded again from the
stored original, through the same code path as ingest, in a child process (a decoder
crash is a reported failure), but only after the original itself re-hashes to its
name: a copy is never rebuilt from an original that changed too. Each rebuild is a
custody entry ("working-rebuilt") naming what was wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from ..errors import EarshotError
from ..store.case import Case
from ..store.custody import append_custody
from ..store.models import WorkingCopyRow
from ..store.working import WorkingProblem, check_working_copies
from .isolated import decode_isolated

__all__ = ["RebuildReport", "rebuild_working"]


@dataclass
class RebuildReport:
    rebuilt: list[WorkingProblem] = field(default_factory=list)
    failed: list[tuple[WorkingProblem, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rebuilt": [p.as_dict() for p in self.rebuilt],
            "failed": [{**p.as_dict(), "error": message} for p, message in self.failed],
        }


def rebuild_working(case: Case, *, on_file: Callable[[str], None] | None = None) -> RebuildReport:
    """Rebuild every working copy that is not the one made from its original."""
    case.media.unlock()
    report = RebuildReport()
    _checked, problems = check_working_copies(case)
    by_original: dict[str, list[WorkingProblem]] = {}
    for problem in problems:
        by_original.setdefault(problem.sha256, []).append(problem)
    for sha, found in by_original.items():
        if on_file:
            on_file(sha)
        if case.media.hash_stored(sha) != sha:
            message = (
                f"original {sha} is itself missing or altered; its working copies are not "
                "rebuilt from it; see the ALTERED/MISSING originals above"
            )
            report.failed.extend((p, message) for p in found)
            continue
        try:
            _info, rows = decode_isolated(
                case.media, sha, max_seconds=case.settings.max_audio_seconds, replace=True
            )
        except EarshotError as exc:
            report.failed.extend((p, str(exc)) for p in found)
            continue
        with case.session() as session:
            existing = {
                r.channel: r
                for r in session.execute(
                    select(WorkingCopyRow).where(WorkingCopyRow.sha256 == sha)
                ).scalars()
            }
            for row in rows:
                stored = existing.pop(row["channel"], None)
                if stored is None:
                    session.add(WorkingCopyRow(sha256=sha, **row))
                    continue
                stored.path, stored.frames = row["path"], row["frames"]
                stored.sample_rate = row["sample_rate"]
                stored.content_sha256 = row["content_sha256"]
            for stale in existing.values():
                session.delete(stale)
            append_custody(
                session,
                operator=case.settings.operator,
                action="working-rebuilt",
                sha256=sha,
                detail={
                    "channels": [p.channel for p in found],
                    "problems": sorted({p.problem for p in found}),
                },
            )
        report.rebuilt.extend(found)
    return report
