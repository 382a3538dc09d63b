"""Quotes: an edited English quote that leads back to the exact seconds of a recording.

A quote is a span of contiguous segments of a call's current transcript. Its
verbatim English is the segments' translations; the editor may shorten it for
length and clarity, but only by cutting: every cut inside the quote is shown by
an ellipsis ("…"), and words that are not in the verbatim translation are a
rewrite, refused unless the editor says so (``allow_rewrite``). The word diff
against the verbatim is stored with the quote, with the call, the start and end
second, the original recording's SHA-256, the translator and the approver, so
any published quote can be checked against the recording. Quoting a translation
nobody approved is refused unless asked for (``allow_unapproved``); such a quote
has no approver and says so wherever it is shown.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from earshot.language.analysis import current_transcript
from earshot.store.custody import append_custody
from earshot.store.language_models import Translation
from earshot.store.models import Call, Segment
from earshot.store.publish_models import Quote

from ..errors import QuoteError

__all__ = [
    "EditCheck",
    "QuoteError",
    "check_edit",
    "create_quote",
    "get_quote",
    "hms",
    "list_quotes",
    "quote_dict",
    "verbatim_english",
]

ELLIPSIS = "…"


@dataclass(frozen=True)
class EditCheck:
    """How an edited quote differs from the verbatim translation."""

    diff: list[
        dict[str, str]
    ]  # ops: equal | cut | added, verbatim and edited text (punctuation kept)
    added: list[str]  # words of the edit that are not in the verbatim (a rewrite)
    unmarked_cuts: list[str]  # cuts inside the quote with no ellipsis where they were

    @property
    def rewritten(self) -> bool:
        return bool(self.added)


def hms(seconds: float | None) -> str:
    """Seconds as hh:mm:ss ("00:01:23"), "--:--:--" when unknown."""
    if seconds is None:
        return "--:--:--"
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


_ELLIPSIS_RE = re.compile(r"…|\.\.\.")
_WORD_RE = re.compile(r"\w")
_KEY_RE = re.compile(r"[\w'’-]+")
_EDGE_PUNCT = '.,;:!?"“”«»()[]—–'  # stripped from an added word when it is named


@dataclass(frozen=True)
class _Token:
    shown: str  # the word as written, punctuation kept ("five-hundreds.")
    key: str  # what is compared: the word alone, case-blind ("five-hundreds")
    mark: bool = False  # an ellipsis: where the editor says words were cut


def _tokens(text: str, *, marks: bool) -> list[_Token]:
    """Words with their punctuation; with `marks`, each ellipsis is a token of its own.
    Punctuation standing alone ("—") joins the word before it, so it is shown but
    never compared."""
    out: list[_Token] = []
    for piece in text.split():
        parts = _ELLIPSIS_RE.split(piece) if marks else [piece]
        for n, part in enumerate(parts):
            if n:
                out.append(_Token(ELLIPSIS, "", mark=True))
            if not part:
                continue
            key = "".join(_KEY_RE.findall(part)).lower().replace("’", "'")
            if _WORD_RE.search(part):
                out.append(_Token(part, key))
            elif out and not out[-1].mark:
                out[-1] = _Token(f"{out[-1].shown} {part}", out[-1].key)
    return out


def _shown(tokens: Sequence[_Token]) -> str:
    return " ".join(t.shown for t in tokens)


def check_edit(verbatim: str, edited: str) -> EditCheck:
    """Compare an edited quote with the verbatim translation, word by word (case-blind).

    The ellipses are part of the edited sequence, so the alignment runs over word
    sequences: "… The lawyer says" is matched to the "The" that begins "The lawyer
    says", never to an earlier "The" that happens to come first. A cut counts as
    marked when an ellipsis stands in or beside the edited place where it was made.
    """
    source = _tokens(verbatim, marks=False)
    words = _tokens(edited, marks=True)
    matcher = difflib.SequenceMatcher(
        None, [t.key for t in source], [t.key for t in words], autojunk=False
    )
    plain = [t for t in words if not t.mark]
    diff: list[dict[str, str]] = []
    added: list[str] = []
    unmarked: list[str] = []
    before = 0  # edited words (ellipses aside) before the current place
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        cut = source[i1:i2]
        new = [t for t in words[j1:j2] if not t.mark]
        marked = any(t.mark for t in words[max(j1 - 1, 0) : j2 + 1])
        if op == "equal":
            diff.append({"op": "equal", "verbatim": _shown(cut), "edited": _shown(words[j1:j2])})
        if cut and op != "equal":
            diff.append(
                {"op": "cut", "verbatim": _shown(cut), "edited": ELLIPSIS if marked else ""}
            )
            interior = i1 > 0 and i2 < len(source) and 0 < before < len(plain)
            if interior and not marked:
                unmarked.append(_shown(cut))
        if new and op != "equal":
            diff.append({"op": "added", "verbatim": "", "edited": _shown(new)})
            added += [t.shown.strip(_EDGE_PUNCT) or t.shown for t in new]
        before += len(new) if op != "equal" else j2 - j1
    return EditCheck(diff, added, unmarked)


def _span(session: Session, call_id: int, first: int, last: int) -> tuple[Call, list[Segment]]:
    call = session.get(Call, call_id)
    if call is None:
        raise QuoteError(f"no call with id {call_id} in this case; see `earshot calls`")
    transcript = current_transcript(session, call_id)
    if transcript is None:
        raise QuoteError(f"call {call_id} has no transcript to quote; transcribe it first")
    segments = list(transcript.segments)
    if not 0 <= first <= last < len(segments):
        raise QuoteError(
            f"segments {first}-{last} are not in call {call_id}'s transcript, which has "
            f"segments 0-{len(segments) - 1}; give --segments FIRST-LAST within it"
        )
    return call, segments[first : last + 1]


def _translations(session: Session, segments: Sequence[Segment]) -> list[Translation]:
    ids = [s.id for s in segments]
    rows = {
        t.segment_id: t
        for t in session.scalars(select(Translation).where(Translation.segment_id.in_(ids)))
    }
    missing = [s.idx for s in segments if s.id not in rows or not rows[s.id].text.strip()]
    if missing:
        raise QuoteError(
            f"segment(s) {', '.join(map(str, missing))} have no English translation; "
            "translate them first (`earshot translate`)"
        )
    return [rows[s.id] for s in segments]


def _names(values: Sequence[str | None]) -> str | None:
    seen = [v for v in dict.fromkeys(values) if v]
    return "; ".join(seen) if seen else None


def verbatim_english(session: Session, segments: Sequence[Segment]) -> str:
    """The segments' translations, joined: what a quote of them is checked against."""
    return " ".join(" ".join(t.text.split()) for t in _translations(session, segments))


def create_quote(
    session: Session,
    call_id: int,
    first_segment: int,
    last_segment: int,
    edited_text: str,
    *,
    actor: str,
    allow_rewrite: bool = False,
    allow_unapproved: bool = False,
) -> Quote:
    """Record a quote of segments `first_segment`..`last_segment` (positions in the
    call's current transcript) edited to `edited_text`."""
    call, segments = _span(session, call_id, first_segment, last_segment)
    translations = _translations(session, segments)
    verbatim = " ".join(" ".join(t.text.split()) for t in translations)
    edited = " ".join(edited_text.split())
    if not edited:
        raise QuoteError("the quote text is empty; give the edited English with --text")
    check = check_edit(verbatim, edited)
    if check.rewritten and not allow_rewrite:
        raise QuoteError(
            f"the quote adds words that are not in the verbatim translation "
            f"({', '.join(repr(w) for w in check.added[:10])}); a quote may only cut. "
            "Fix the text, or pass --allow-rewrite to keep it as a marked rewrite"
        )
    if check.unmarked_cuts and not allow_rewrite:
        raise QuoteError(
            f"cut(s) inside the quote are not shown: {'; '.join(check.unmarked_cuts[:5])!r}; "
            f"put an ellipsis ({ELLIPSIS}) where the words were cut"
        )
    unapproved = [
        s.idx for s, t in zip(segments, translations, strict=True) if t.status != "approved"
    ]
    if unapproved and not allow_unapproved:
        raise QuoteError(
            f"the translation of segment(s) {', '.join(map(str, unapproved))} is not approved; "
            "have an editor approve it (`earshot translation approve`), or pass "
            "--allow-unapproved to quote it marked as unapproved"
        )
    quote = Quote(
        call_id=call.id,
        first_segment_id=segments[0].id,
        last_segment_id=segments[-1].id,
        start=segments[0].start,
        end=segments[-1].end,
        verbatim_en=verbatim,
        edited_en=edited,
        diff=check.diff,
        original_sha256=call.sha256,
        translator=_names([t.translator for t in translations]),
        approver=None if unapproved else _names([t.approver for t in translations]),
        created_by=actor,
    )
    session.add(quote)
    session.flush()
    append_custody(
        session,
        operator=actor,
        action="quote-created",
        sha256=call.sha256,
        detail={
            "quote_id": quote.id,
            "call_id": call.id,
            "segments": [first_segment, last_segment],
            "rewritten": check.rewritten,
            "unapproved": bool(unapproved),
        },
    )
    return quote


def list_quotes(session: Session, call_ids: Sequence[int] | None = None) -> list[Quote]:
    query = select(Quote).order_by(Quote.call_id, Quote.start, Quote.id)
    if call_ids is not None:
        query = query.where(Quote.call_id.in_(list(call_ids)))
    return list(session.scalars(query))


def get_quote(session: Session, quote_id: int) -> Quote:
    quote = session.get(Quote, quote_id)
    if quote is None:
        raise QuoteError(f"no quote with id {quote_id}; see `earshot quotes CASE`")
    return quote


def _segments_of(session: Session, quote: Quote) -> list[Segment]:
    first = session.get(Segment, quote.first_segment_id)
    last = session.get(Segment, quote.last_segment_id)
    if first is None or last is None:
        return []
    return list(
        session.scalars(
            select(Segment)
            .where(
                Segment.transcript_id == first.transcript_id,
                Segment.idx >= first.idx,
                Segment.idx <= last.idx,
            )
            .order_by(Segment.idx)
        )
    )


def quote_dict(session: Session, quote: Quote) -> dict[str, Any]:
    """A quote with its provenance, and whether the translation changed since (stale)."""
    segments = _segments_of(session, quote)
    try:
        current = verbatim_english(session, segments) if segments else None
    except QuoteError:
        current = None
    added = [
        w for op in quote.diff if op["op"] in ("added", "changed") for w in op["edited"].split()
    ]
    return {
        "id": quote.id,
        "call_id": quote.call_id,
        "segments": [segments[0].idx, segments[-1].idx] if segments else None,
        "parties": sorted({s.party for s in segments if s.party}),
        "start": quote.start,
        "end": quote.end,
        "start_hms": hms(quote.start),
        "end_hms": hms(quote.end),
        "text": quote.edited_en,
        "verbatim": quote.verbatim_en,
        "diff": quote.diff,
        "rewritten": bool(added),
        "added_words": added,
        "original_sha256": quote.original_sha256,
        "translator": quote.translator,
        "approver": quote.approver,
        "unapproved": quote.approver is None,
        # A span that lost its translation (a split's new half is untranslated) or its
        # segments has changed too: never report it as unchanged.
        "stale": current != quote.verbatim_en,
        "created_by": quote.created_by,
        "at": quote.at.isoformat(),
    }
