"""The last step of every publication: leak guard, atomic write, audit and custody.

Exports, quote sheets and dossiers are built and rendered differently, but what happens
once the bytes exist must not differ between them: a redacted file is scanned by the leak
guard (as a document when asked, and as rendered, i.e. what the file really holds) and is
written only if nothing is found; the file appears whole or not at all; and the export is
recorded in the audit log and the chain of custody. Doing it in one place keeps a new kind
of publication from forgetting a step.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from earshot.errors import EarshotError
from earshot.security.roles import Permission, Role, require
from earshot.store.audit import audit
from earshot.store.custody import append_custody

from ..errors import ExportRefusedError
from .formats import Rendered
from .leakguard import LeakGuard, document_strings

__all__ = [
    "ExportRefusedError",
    "audit_export",
    "authorise_identifying",
    "require_format",
    "write_atomic",
    "write_guarded",
]


def require_format(fmt: str, formats: Sequence[str], what: str) -> None:
    """Refuse an output format `what` (e.g. "dossier") cannot be written in."""
    if fmt not in formats:
        raise EarshotError(f"unknown {what} format {fmt!r}; use one of {', '.join(formats)}")


def authorise_identifying(what: str, *, identifying: bool, role: str | None) -> None:
    """Allow an output that identifies people, or refuse it.

    In the web the caller's role decides (editors and admins only); on the command
    line the operator must have asked explicitly (``--identifying``).
    """
    if role is not None:
        require(Role(role), Permission.EXPORT_UNREDACTED, what=what)
        return
    if not identifying:
        raise ExportRefusedError(
            f"{what} without --redact identifies people and is refused unless asked for "
            "explicitly: add --identifying (editors only), or export with --redact"
        )


def audit_export(session: Session, *, operator: str, action: str, detail: dict[str, Any]) -> None:
    """Record an export in the audit log and custody."""
    audit(session, user=operator, action=action, object_type="case", detail=detail)
    append_custody(session, operator=operator, action=action, detail=detail)


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file, so no half export is left behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".earshot-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_guarded(
    session: Session,
    out: Path,
    rendered: Rendered,
    *,
    guard: LeakGuard | None,
    what: str,
    fmt: str,
    action: str,
    operator: str,
    detail: dict[str, Any],
    document: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Guard, write and audit `rendered` as `out`; return the path, size and `detail`.

    `guard` is the case's leak guard for a redacted publication; None means an identifying
    one (its caller has already authorised it), which is written unguarded and audited as
    ``<action>_identifying`` so the two can never be confused in the log. With a guard,
    `document` (when given) is checked first, as "redacted <what>", then the rendered text,
    as "redacted <fmt> <what>"; on a leak nothing is written and nothing is audited.
    """
    if guard is not None:
        if document is not None:
            guard.check(document_strings(document), f"redacted {what}")
        guard.check(rendered.texts, f"redacted {fmt} {what}")
    write_atomic(out, rendered.data)
    audit_export(
        session,
        operator=operator,
        action=action if guard is not None else f"{action}_identifying",
        detail=detail,
    )
    return {"path": str(out), "bytes": len(rendered.data), **detail}
