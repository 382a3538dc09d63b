"""`earshot verify`: prove every stored original is still exactly what was received.

Also re-hashes every working copy (`earshot.store.working`) and reports case files that
other users could read (`earshot.security.private`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from ..security.private import loose_permissions
from .case import Case
from .custody import append_custody, verify_chain
from .models import Original, Sighting
from .working import WorkingProblem, check_working_copies

__all__ = ["OriginalProblem", "VerifyReport", "verify_case"]


@dataclass(frozen=True)
class OriginalProblem:
    sha256: str
    problem: str  # missing | altered
    stored_path: str
    received_as: tuple[str, ...]

    @property
    def message(self) -> str:
        names = ", ".join(self.received_as) or "?"
        if self.problem == "missing":
            return f"MISSING  {self.stored_path} (received as {names})"
        return f"ALTERED  {self.stored_path} (received as {names}): its SHA-256 no longer matches"


@dataclass
class VerifyReport:
    checked: int = 0
    problems: list[OriginalProblem] = field(default_factory=list)
    custody_entries: int = 0
    custody_problems: list[str] = field(default_factory=list)
    working_checked: int = 0
    working_problems: list[WorkingProblem] = field(default_factory=list)
    permission_problems: list[str] = field(default_factory=list)

    @property
    def working_altered(self) -> list[WorkingProblem]:
        """Altered copies fail verify; missing and unhashed ones are reported only."""
        return [p for p in self.working_problems if p.problem == "altered"]

    @property
    def ok(self) -> bool:
        return (
            not self.problems
            and not self.custody_problems
            and not self.working_altered
            and not self.permission_problems
        )


def verify_case(case: Case, *, on_file: Callable[[str], None] | None = None) -> VerifyReport:
    """Re-hash every original and re-check the custody chain; records the check itself."""
    report = VerifyReport()
    case.media.unlock()  # an encrypted case with a wrong key: a clear error, nothing recorded
    with case.session() as session:
        originals = list(session.execute(select(Original).order_by(Original.sha256)).scalars())
        names: dict[str, list[str]] = {}
        for sha, path in session.execute(select(Sighting.sha256, Sighting.original_path)):
            names.setdefault(sha, []).append(path)
    for original in originals:
        actual = case.media.hash_stored(original.sha256)
        report.checked += 1
        if actual != original.sha256:
            report.problems.append(
                OriginalProblem(
                    original.sha256,
                    "missing" if actual is None else "altered",
                    f"media/{original.stored_path}",
                    tuple(names.get(original.sha256, [])),
                )
            )
        if on_file:
            on_file(original.sha256)
    report.working_checked, report.working_problems = check_working_copies(case, on_file=None)
    report.permission_problems = loose_permissions(
        case.path, extra=private_extras(case.settings.accounts)
    )
    with case.session() as session:
        report.custody_entries, chain = verify_chain(session)
        report.custody_problems = [
            f"custody entry {p.entry_id}: {p.message}" if p.entry_id is not None else p.message
            for p in chain
        ]
        append_custody(
            session,
            operator=case.settings.operator,
            action="verified",
            detail={
                "checked": report.checked,
                "missing": [p.sha256 for p in report.problems if p.problem == "missing"],
                "altered": [p.sha256 for p in report.problems if p.problem == "altered"],
                "custody_ok": not report.custody_problems,
                "working_altered": [f"{p.sha256}/ch{p.channel}" for p in report.working_altered],
                "loose_permissions": len(report.permission_problems),
            },
        )
    return report


def private_extras(accounts: str | None) -> tuple[Path, ...]:
    """Files outside the case that verify checks too: the accounts database and its WAL."""
    if not accounts:
        return ()
    path = Path(accounts).expanduser()
    return (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm"))
