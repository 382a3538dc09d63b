"""`earshot verify`: prove every stored original is still exactly what was received."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select

from .case import Case
from .custody import append_custody, verify_chain
from .models import Original, Sighting

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

    @property
    def ok(self) -> bool:
        return not self.problems and not self.custody_problems


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
            },
        )
    return report
