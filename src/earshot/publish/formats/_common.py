"""What every format shares: the rendered result and how times and speakers read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Rendered", "clock", "notice", "party_name", "speaker", "title"]


@dataclass(frozen=True)
class Rendered:
    """A rendered export: its bytes and the (location, text) pairs it contains."""

    data: bytes
    texts: list[tuple[str, str]] = field(default_factory=list)


def clock(seconds: float | None) -> str:
    """Seconds as H:MM:SS.s ("0:01:23.4"), or "--" for untimed text."""
    if seconds is None:
        return "--"
    whole = int(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}.{int(seconds * 10) % 10}"


def party_name(party: dict[str, Any]) -> str:
    """How a call side is named: in a redacted export its published name (the pseudonym of
    its current attribution, or "Unknown speaker N"), else the person or phone."""
    for key in ("speaker", "pseudonym", "person", "phone"):
        if party.get(key):
            return str(party[key])
    return f"Party {party.get('label', '?')}"


def speaker(call: dict[str, Any], segment: dict[str, Any]) -> str:
    """Who says a segment: its side's published name; "Unknown speaker" when no side was
    told apart (a mono call without diarization)."""
    label = segment.get("party")
    for party in call.get("parties", []):
        if party.get("label") == label:
            return party_name(party)
    return str(label) if label else "Unknown speaker"


def notice(doc: dict[str, Any]) -> str:
    """The first line of every export: redacted, or a warning that it identifies people."""
    return str(doc.get("warning") or "")


def title(doc: dict[str, Any]) -> str:
    calls = doc.get("calls", [])
    kind = "Redacted transcript" if doc.get("redacted") else "Transcript"
    return f"{kind} of {len(calls)} call(s)"
