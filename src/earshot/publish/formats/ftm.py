"""FollowTheMoney entities for Aleph: Person, Call (with numbers when not redacted),
Audio (the transcript and its translation) and Note (themes and slang), as JSON lines.

Entity ids are derived from the export's own keys (call id, party label,
pseudonym), never from a protected name or number, so a redacted file cannot be
re-identified by hashing candidate names.
"""

from __future__ import annotations

import json
from typing import Any

from ._common import Rendered, clock, notice, party_name, speaker
from .registry import ExportFormat, GuardReads

__all__ = ["render_ftm"]


def _person_key(doc: dict[str, Any], call: dict[str, Any], party: dict[str, Any]) -> str:
    if doc.get("redacted"):
        return party.get("pseudonym") or f"call-{call['id']}-{party['label']}"
    return party.get("person") or party.get("phone") or f"call-{call['id']}-{party['label']}"


def render_ftm(doc: dict[str, Any]) -> Rendered:
    from followthemoney import model

    redacted = bool(doc.get("redacted"))
    entities: dict[str, Any] = {}
    for call in doc.get("calls", []):
        sides: dict[str, Any] = {}
        for party in call.get("parties", []):
            key = _person_key(doc, call, party)
            person = entities.get(f"person:{key}")
            if person is None:
                person = model.make_entity("Person")
                person.make_id("earshot", "person", key)
                person.add("name", party_name(party))
                if redacted:
                    person.add("description", "Pseudonym in a redacted Earshot export")
                entities[f"person:{key}"] = person
            if not redacted and party.get("phone"):
                person.add("phone", party["phone"])
            sides[party["label"]] = (person, party)
        audio = model.make_entity("Audio")
        audio.make_id("earshot", "audio", str(call["id"]))
        audio.add("fileName", call.get("source_file"))
        audio.add("title", f"Call {call['id']}")
        lines = [
            f"{speaker(call, s)} [{clock(s.get('start'))}]: {s['text']}" for s in call["segments"]
        ]
        english = [
            f"{speaker(call, s)} [{clock(s.get('start'))}]: {s['translation']}"
            for s in call["segments"]
            if s.get("translation")
        ]
        audio.add("bodyText", "\n".join(lines) or None)
        audio.add("translatedText", "\n".join(english) or None)
        audio.add("language", "rus")
        audio.add("translatedLanguage", "eng" if english else None)
        audio.add("summary", notice(doc))
        if call.get("duration"):
            audio.add("duration", str(call["duration"]))
        entities[f"audio:{call['id']}"] = audio
        phone_call = model.make_entity("Call")
        phone_call.make_id("earshot", "call", str(call["id"]))
        if call.get("started_at"):
            phone_call.add("date", str(call["started_at"])[:19])
        if call.get("duration"):
            phone_call.add("duration", str(call["duration"]))
        caller, receiver = sides.get("A"), sides.get("B")
        if caller:
            phone_call.add("caller", caller[0].id)
            if not redacted and caller[1].get("phone"):
                phone_call.add("callerNumber", caller[1]["phone"])
        if receiver:
            phone_call.add("receiver", receiver[0].id)
            if not redacted and receiver[1].get("phone"):
                phone_call.add("receiverNumber", receiver[1]["phone"])
        phone_call.add("proof", audio.id)
        phone_call.add("description", f"Call {call['id']}: {notice(doc)}")
        entities[f"call:{call['id']}"] = phone_call
        glosses = sorted(
            {f"{m['text']} = {m['gloss']}" for s in call["segments"] for m in s.get("slang") or []}
        )
        if call.get("themes") or glosses:
            note = model.make_entity("Note")
            note.make_id("earshot", "note", str(call["id"]))
            note.add("entity", phone_call.id)
            note.add("name", f"Call {call['id']}: themes and slang")
            note.add(
                "description",
                "Themes: " + ", ".join(call.get("themes") or []) + "\nSlang: " + "; ".join(glosses),
            )
            entities[f"note:{call['id']}"] = note
    lines_out = [
        json.dumps(e.to_dict(), ensure_ascii=False, sort_keys=True) for e in entities.values()
    ]
    text = "\n".join(lines_out) + "\n"
    return Rendered(text.encode("utf-8"), [("ftm", text)])


FTM = ExportFormat(
    "ftm",
    render_ftm,
    "ftm.json",
    "application/json",
    GuardReads.OUTPUT,
    "FollowTheMoney entities (Person, Call, Audio) for Aleph, one per line",
)
