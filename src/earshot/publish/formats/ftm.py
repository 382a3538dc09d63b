"""FollowTheMoney entities for Aleph: Person, Call (with numbers when not redacted),
Audio (the transcript and its translation) and Note (themes and slang), as JSON lines.

Entity ids are namespaced by case: every id is made from a key derived from the
case's own id (a hash, so the file does not carry the case id) plus the export's
own keys (call id, side label, pseudonym), never from a protected name or number,
so a redacted file cannot be re-identified by hashing candidate names, and two
cases' exports aggregated together (``ftm aggregate``) never merge one case's
"Soldier 1" or call 3 into another's. Signing alone would not do: ``ftm
aggregate`` strips signatures before merging.

Audio carries ``contentHash`` and ``mimeType`` of the original recording, or of the
published redacted clip where there is one. FtM's checksum type is SHA-1 (at most 40
characters, the key of Aleph's archive), so ``contentHash`` is the SHA-1 and the
SHA-256 Earshot keys its evidence by goes in ``notes`` ("sha256:<hex>"). Every
entity is checked with followthemoney's own schema validation before the file is
written.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
from collections.abc import Sequence
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from earshot.errors import EarshotError

from ._common import Rendered, clock, notice, party_name, speaker
from .registry import ExportFormat, GuardReads

if TYPE_CHECKING:
    from earshot.store.case import Case

__all__ = ["FtmContext", "ftm_context", "render_ftm"]

FtmContext = dict[str, Any]
_MIME = {
    "wav": "audio/wav",
    "flac": "audio/flac",
    "mp3": "audio/mpeg",
    "ogg": "audio/ogg",
    "opus": "audio/ogg",
    "m4a": "audio/mp4",
    "amr": "audio/amr",
}


def _mime(name: str | None, codec: str | None = None) -> str:
    suffix = PurePath(name or "").suffix.lower().lstrip(".")
    if suffix in _MIME:
        return _MIME[suffix]
    guessed, _ = mimetypes.guess_type(name or "")
    if guessed and guessed.startswith("audio/"):
        return guessed
    if codec and codec.startswith("pcm"):
        return "audio/wav"
    return "application/octet-stream"


def case_namespace(case_id: str) -> str:
    """The case's id namespace: a hash of its id, so no file carries the id itself."""
    return hashlib.sha256(f"earshot-ftm:{case_id}".encode()).hexdigest()[:24]


def _sha1(stream: BinaryIO) -> str:
    digest = hashlib.sha1(usedforsecurity=False)
    for chunk in iter(lambda: stream.read(1 << 20), b""):
        digest.update(chunk)
    return digest.hexdigest()


def ftm_context(
    session: Session, case: Case, call_ids: Sequence[int], *, redacted: bool
) -> FtmContext:
    """What an FtM export needs beyond the export document: the case namespace and each
    call's audio hashes and media type (a redacted export uses the latest redacted clip
    of the call recorded in custody, when one was published)."""
    from earshot.store.models import Call, CustodyEntry, Original

    audio: dict[str, dict[str, Any]] = {}
    rows = session.execute(
        select(Call.id, Call.sha256, Call.source_file, Call.codec, Original.size)
        .join(Original, Original.sha256 == Call.sha256)
        .where(Call.id.in_(list(call_ids)))
    )
    for call_id, sha256, source_file, codec, size in rows:
        with case.media.open_original(sha256) as handle:
            sha1 = _sha1(handle)
        audio[str(call_id)] = {
            "sha256": sha256,
            "sha1": sha1,
            "mime_type": _mime(source_file, codec),
            "size": size,
            "clip": False,
        }
    if redacted:
        clips = session.scalars(
            select(CustodyEntry)
            .where(CustodyEntry.action == "clip-exported")
            .order_by(CustodyEntry.id)
        )
        for entry in clips:
            detail = entry.detail or {}
            key = str(detail.get("call_id"))
            if key in audio and detail.get("redacted") and detail.get("file_sha1"):
                audio[key] = {
                    "sha256": detail.get("file_sha256"),
                    "sha1": detail["file_sha1"],
                    "mime_type": _mime(str(detail.get("file") or "")),
                    "size": None,
                    "clip": True,
                }
    return {"namespace": case_namespace(case.case_id), "audio": audio}


def _person_key(doc: dict[str, Any], call: dict[str, Any], party: dict[str, Any]) -> str:
    """One Person per attributed person; an unattributed side is its own Person (never
    merged with other sides by its phone: a phone's owner is not its speaker)."""
    side = f"call-{call['id']}-{party['label']}"
    if doc.get("redacted"):
        return str(party.get("pseudonym") or side)
    return str(party.get("person") or side)


def _validate(entities: dict[str, Any]) -> None:
    from followthemoney.exc import InvalidData

    for entity in entities.values():
        try:
            entity.schema.validate(entity.to_dict())
        except InvalidData as exc:
            raise EarshotError(
                f"FtM {entity.schema.name} {entity.id} does not validate ({exc}); "
                "this is a bug in the FtM writer: report it"
            ) from exc


def render_ftm(doc: dict[str, Any]) -> Rendered:
    from followthemoney import model

    context: FtmContext = doc.get("ftm") or {}
    namespace = str(context.get("namespace") or "")
    if not namespace:
        raise EarshotError(
            "an FtM export needs its case namespace (export it with `earshot export "
            "--format ftm`, which adds it)"
        )
    media: dict[str, dict[str, Any]] = context.get("audio") or {}
    redacted = bool(doc.get("redacted"))

    def make(schema: str, *parts: str) -> Any:
        entity = model.make_entity(schema)
        entity.make_id("earshot", namespace, *parts)
        return entity

    entities: dict[str, Any] = {}
    for call in doc.get("calls", []):
        sides: dict[str, Any] = {}
        for party in call.get("parties", []):
            key = _person_key(doc, call, party)
            person = entities.get(f"person:{key}")
            if person is None:
                person = make("Person", "person", key)
                person.add("name", party_name(party))
                if redacted:
                    person.add("description", "Published name in a redacted Earshot export")
                entities[f"person:{key}"] = person
            if not redacted and party.get("phone"):
                person.add("phone", party["phone"])
            sides[party["label"]] = (person, party)
        audio = make("Audio", "audio", str(call["id"]))
        found = media.get(str(call["id"])) or {}
        audio.add("fileName", call.get("source_file"))
        audio.add("title", f"Call {call['id']}")
        if found.get("sha1"):
            audio.add("contentHash", found["sha1"])
        if found.get("sha256"):
            what = "the published redacted clip" if found.get("clip") else "the original"
            audio.add("notes", f"sha256:{found['sha256']} ({what})")
        audio.add("mimeType", found.get("mime_type") or "application/octet-stream")
        if found.get("size") and not redacted:
            audio.add("fileSize", str(found["size"]))
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
        phone_call = make("Call", "call", str(call["id"]))
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
            note = make("Note", "note", str(call["id"]))
            note.add("entity", phone_call.id)
            note.add("name", f"Call {call['id']}: themes and slang")
            note.add(
                "description",
                "Themes: " + ", ".join(call.get("themes") or []) + "\nSlang: " + "; ".join(glosses),
            )
            entities[f"note:{call['id']}"] = note
    _validate(entities)
    lines_out = [
        json.dumps(e.to_dict(), ensure_ascii=False, sort_keys=True) for e in entities.values()
    ]
    text = "\n".join(lines_out) + "\n"
    return Rendered(text.encode("utf-8"), [("ftm", text)])


def with_ftm_context(session: Session, case: Case, doc: dict[str, Any]) -> dict[str, Any]:
    """`doc` with the case namespace and the audio hashes the FtM writer needs."""
    calls = [int(c["id"]) for c in doc["calls"]]
    return {**doc, "ftm": ftm_context(session, case, calls, redacted=bool(doc.get("redacted")))}


FTM = ExportFormat(
    "ftm",
    render_ftm,
    "ftm.json",
    "application/json",
    GuardReads.OUTPUT,
    "FollowTheMoney entities (Person, Call, Audio) for Aleph, one per line",
    prepare=with_ftm_context,
)
