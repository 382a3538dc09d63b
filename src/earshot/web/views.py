"""What each page and API endpoint shows, as plain data (one source for both).

Every answer is a library record's ``as_dict()``: the case overview and the call list
(``earshot.analysis``), one call (``earshot.analysis.call_detail``, as `earshot call
--json`), persons (``earshot.identity``, as `earshot person show --json`). No table is
read here; a rule or a count that the web shows lives in the library.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ..analysis.call_detail import call_detail as _call_detail
from ..analysis.call_detail import text_pieces
from ..analysis.call_list import SORTS, CallFilters, call_list
from ..analysis.overview import case_overview as _case_overview
from ..identity import list_persons
from ..identity.report import person_report_by_id

__all__ = [
    "SORTS",
    "CallFilters",
    "call_detail",
    "calls_page",
    "case_overview",
    "person_detail",
    "persons_list",
    "text_pieces",
]


def case_overview(session: Session) -> dict[str, Any]:
    """The library's case overview (``earshot.analysis.overview``)."""
    return _case_overview(session).as_dict()


def calls_page(session: Session, filters: CallFilters) -> dict[str, Any]:
    """The library's filtered call list (``earshot.analysis.call_list``)."""
    return call_list(session, filters).as_dict()


def call_detail(session: Session, call_id: int) -> dict[str, Any] | None:
    """The library's call detail (``earshot.analysis.call_detail``), as `call --json`."""
    detail = _call_detail(session, call_id)
    return None if detail is None else detail.as_dict()


def persons_list(session: Session) -> list[dict[str, Any]]:
    """The library's person list (``earshot.identity.list_persons``), as `person list`."""
    return list_persons(session)


def person_detail(session: Session, person_id: int) -> dict[str, Any] | None:
    """The library's person report, exactly as `earshot person show --json` gives it:
    calls with the basis of each attribution, phones, voice matches, evidence,
    proposals, link history, verification history, merges and splits."""
    report = person_report_by_id(session, person_id)
    return None if report is None else report.as_dict()
