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

from .attribution import (
    AttributionState,
    attribution_report,
    call_side_attributions,
    side_names,
)
from .metadata import Precision, neutral_call_metadata
from .policy import RedactionPolicy, default_policy
from .pseudonyms import assign_pseudonyms
from .redaction import RedactedText, Redactor, TextSpan
from .terms import all_phone_numbers, protected_people

__all__ = ["REDACTED_NOTICE", "RedactionSummary", "redact_export"]

REDACTED_NOTICE = (
    "Redacted export: names are replaced by pseudonyms and phone numbers, unit numbers, "
    "addresses, dates of birth and home towns by labels. Check it before publication."
)


@dataclass
class RedactionSummary:
    """The redaction report: what was replaced, by category and by where it was (text,
    file names, metadata), and every attribution the publication relies on (counts and
    pseudonyms only: the words stay in the case)."""

    counts: dict[str, int] = field(default_factory=dict)
    where: dict[str, int] = field(default_factory=dict)  # text | file names | metadata
    persons: dict[str, str] = field(default_factory=dict)  # person id -> pseudonym
    attributions: list[dict[str, Any]] = field(default_factory=list)
    proposed: int = 0  # sides published on a proposed attribution (--allow-proposed)

    def add(self, spans: Sequence[TextSpan], where: str = "text") -> None:
        for span in spans:
            self.count(span.category, where)

    def count(self, category: str, where: str, n: int = 1) -> None:
        """Record `n` replacements of `category` found in `where`."""
        if n <= 0:
            return
        self.counts[category] = self.counts.get(category, 0) + n
        self.where[where] = self.where.get(where, 0) + n

    def merge(self, other: RedactionSummary) -> None:
        for category, n in other.counts.items():
            self.counts[category] = self.counts.get(category, 0) + n
        for where, n in other.where.items():
            self.where[where] = self.where.get(where, 0) + n

    def as_dict(self) -> dict[str, Any]:
        return {
            "withheld": dict(sorted(self.counts.items())),
            "replaced_in": dict(sorted(self.where.items())),
            "attributions": list(self.attributions),
            "proposed_attributions": self.proposed,
        }


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
    allow_proposed: bool = False,
    phone_groups: bool = False,
) -> tuple[dict[str, Any], RedactionSummary]:
    """A redacted copy of `doc` (the dict of :func:`build_export`) and what was withheld.

    Pseudonyms are assigned (and persisted) for persons who have none yet. Call sides
    are named from the library's current attribution only (see
    :mod:`earshot.publish.attribution`); a side with only a proposed attribution is
    refused unless `allow_proposed`. File names become call ids and times are rounded
    to the policy's precision; every replacement is counted in the summary.
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
    attributions = call_side_attributions(session, call_ids)
    names = side_names(
        session,
        attributions,
        pseudonyms,
        allow_proposed=allow_proposed,
        phone_groups=phone_groups,
    )
    precision = Precision.of(policy)
    phones = all_phone_numbers(session)
    for call in out["calls"]:
        summary.merge(neutral_call_metadata(call, redactor, precision, phones))
        for party in call.get("parties", []):
            key = (int(call["id"]), str(party["label"]))
            published = names.get(key)
            summary.count("person", "metadata", int(party.get("person") is not None))
            summary.count("phone", "metadata", int(party.get("phone") is not None))
            party["person"] = None
            party["phone"] = None
            current = published is not None and published.state is AttributionState.CURRENT
            party["pseudonym"] = published.name if current and published else None
            party["speaker"] = published.name if published else f"Party {party['label']}"
            party["attribution"] = str(published.state) if published else "none"
    out["warning"] = REDACTED_NOTICE
    out["redacted"] = True
    summary.persons = {str(k): v for k, v in sorted(pseudonyms.items())}
    summary.attributions = attribution_report(attributions, names)
    summary.proposed = sum(1 for n in names.values() if n.state is AttributionState.PROPOSED)
    return out, summary
