"""What each page and API endpoint shows, as plain data (one source for both).

Every answer is a library record's ``as_dict()``: the case overview and the call list
(``earshot.analysis``), one call (``earshot.analysis.call_detail``, as `earshot call
--json`), persons (``earshot.identity``, as `earshot person show --json`). No table is
read here; a rule or a count that the web shows lives in the library.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

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
    "facet_links",
    "hit_link",
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


# The search fields a facet narrows by (docs/search.md); a facet with none is shown as text.
FACET_FIELDS = {"call": "call", "speaker": "party", "theme": "theme"}


def hit_link(base: str, hit: dict[str, Any]) -> str:
    """The call page at the hit's segment (the player seeks to its second), with the
    words the search found passed on to be highlighted there."""
    words = list(dict.fromkeys(hit["text"][a:b] for a, b in hit["highlights"] if b > a))[:10]
    query = urlencode([("hl", w) for w in words])
    return f"{base}/calls/{hit['call_id']}{'?' + query if query else ''}#seg-{hit['segment_id']}"


def facet_links(
    base: str, query: str, facets: dict[str, list[tuple[Any, int]]]
) -> dict[str, list[dict[str, Any]]]:
    """Each facet value as a link to the same search narrowed by it (``theme:refusal``);
    values with no search field (the language of the text) have no link."""
    out: dict[str, list[dict[str, Any]]] = {}
    for name, values in facets.items():
        field = FACET_FIELDS.get(name)
        rows = []
        for value, count in values:
            text = str(value)
            href = None
            usable = (field == "party" and text in {"A", "B"}) or field not in (None, "party")
            if field and usable and text and text != "?":
                term = f'{field}:"{text}"' if " " in text else f"{field}:{text}"
                href = f"{base}/search?{urlencode({'q': f'{query} {term}'.strip()})}"
            rows.append({"value": text, "count": count, "href": href})
        out[name] = rows
    return out
