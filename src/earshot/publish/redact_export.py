"""The redacted export: the full export's dict with every identifying detail replaced.

Parties carry their pseudonym and no person or phone; segment texts and their
translations are redacted; entities that were redacted keep only their kind and
the label now in the text; slang marks, themes and translations stay.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from copy import deepcopy
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from earshot.language.entities import Entity, EntityExtractor

from .policy import RedactionPolicy, default_policy
from .pseudonyms import assign_pseudonyms, party_persons
from .redaction import RedactedText, Redactor, TextSpan
from .terms import protected_people

__all__ = ["REDACTED_NOTICE", "RedactionSummary", "redact_export"]

REDACTED_NOTICE = (
    "Redacted export: names are replaced by pseudonyms and phone numbers, unit numbers, "
    "addresses, dates of birth and home towns by labels. Check it before publication."
)


@dataclass
class RedactionSummary:
    """What was withheld, by category (counts only: the words stay in the case)."""

    counts: dict[str, int] = field(default_factory=dict)
    persons: dict[str, str] = field(default_factory=dict)  # person id -> pseudonym

    def add(self, spans: Sequence[TextSpan]) -> None:
        for span in spans:
            self.counts[span.category] = self.counts.get(span.category, 0) + 1


def _slang_spans(text: str, slang: Sequence[dict[str, Any]]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for mark in slang:
        surface = str(mark.get("text") or "")
        if surface:
            spans += [(m.start(), m.end()) for m in re.finditer(re.escape(surface), text)]
    return spans


def _stored_entities(segment: dict[str, Any]) -> list[Entity]:
    out: list[Entity] = []
    for e in segment.get("entities") or []:
        try:
            out.append(
                Entity(
                    e["kind"],
                    int(e["start"]),
                    int(e["end"]),
                    e["text"],
                    e["normal"],
                    e.get("value"),
                )
            )
        except (KeyError, TypeError, ValueError):
            continue
    return out


def _entity_after(entity: dict[str, Any], redacted: RedactedText) -> dict[str, Any]:
    start, end = int(entity["start"]), int(entity["end"])
    out = dict(entity)
    for key in ("person_id", "person", "person_score"):
        if key in out:
            out[key] = None
    hit = next((s for s in redacted.spans if s.start < end and start < s.end), None)
    if hit is None:
        out["start"], out["end"] = redacted.map_offset(start), redacted.map_offset(end)
        return out
    new_start = redacted.map_offset(hit.start)
    out.update(
        start=new_start,
        end=new_start + len(hit.replacement),
        text=hit.replacement,
        normal=hit.replacement,
        value=None,
    )
    if "place" in out:
        out["place"] = None
    if "places" in out:
        out["places"] = 0
    return out


def redact_export(
    session: Session,
    doc: dict[str, Any],
    *,
    policy: RedactionPolicy | None = None,
    operator: str,
    extractor: EntityExtractor | None = None,
) -> tuple[dict[str, Any], RedactionSummary]:
    """A redacted copy of `doc` (the dict of :func:`build_export`) and what was withheld.

    Pseudonyms are assigned (and persisted) for persons who have none yet.
    """
    policy = policy or default_policy()
    pseudonyms = assign_pseudonyms(session, operator=operator)
    redactor = Redactor(policy, protected_people(session), pseudonyms, extractor=extractor)
    out = deepcopy(doc)
    segments = [s for call in out["calls"] for s in call.get("segments", [])]
    slang = [_slang_spans(s["text"], s.get("slang") or []) for s in segments]
    first = redactor.analyse(
        [s["text"] for s in segments], slang, [_stored_entities(s) for s in segments]
    )
    summary = RedactionSummary()
    for segment, spans, marks in zip(segments, first, slang, strict=True):
        redacted = redactor.redact(segment["text"], spans, marks)
        summary.add(redacted.spans)
        segment["entities"] = [_entity_after(e, redacted) for e in segment.get("entities") or []]
        segment["text"] = redacted.text
        if segment.get("translation"):
            translated = redactor.redact(segment["translation"])
            summary.add(translated.spans)
            segment["translation"] = translated.text
        for mark in segment.get("slang") or []:
            mark["text"] = redactor.redact(str(mark.get("text", ""))).text
    call_ids = [int(c["id"]) for c in out["calls"]]
    owners = party_persons(session, call_ids)
    for call in out["calls"]:
        call["source_file"] = redactor.redact(str(call.get("source_file", ""))).text
        for party in call.get("parties", []):
            person_id = owners.get((int(call["id"]), str(party["label"])))
            party["person"] = None
            party["phone"] = None
            party["pseudonym"] = pseudonyms.get(person_id) if person_id is not None else None
    out["warning"] = REDACTED_NOTICE
    out["redacted"] = True
    summary.persons = {str(k): v for k, v in sorted(pseudonyms.items())}
    return out, summary
