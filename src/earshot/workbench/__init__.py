"""What the workbench adds around a call's lines: comments and translation history.

Like :mod:`earshot.edits` (the same layer), every function takes the session and the
:class:`~earshot.security.roles.Actor`, checks the role, and leaves its audit entry in
the same transaction; the CLI and the web call these and only translate exceptions.
Comments are the team's notes on a segment, threaded and signed; nothing in
:mod:`earshot.publish` reads them, so they never reach an export.
"""

from __future__ import annotations

from .attribution import (
    EvidenceRecord,
    MergeRecord,
    SideLink,
    SplitRecord,
    add_evidence,
    link_side,
    may_add_evidence,
    merge,
    side_evidence,
    split,
    undo_merge,
    unlink_side,
    verify_side,
)
from .identity import (
    AttributionDecision,
    CallSideProposal,
    VoiceProposal,
    call_proposals,
    decide_attribution,
    person_voice_proposals,
)
from .identity_history import (
    PERSON_SORTS,
    HistoryEntry,
    PersonRow,
    call_side_histories,
    person_history,
    persons_overview,
    side_history,
)
from .notes import (
    MAX_COMMENT,
    CommentRecord,
    TranslationVersion,
    add_comment,
    call_comments,
    segment_translation_history,
)
from .searches import SavedSearchRecord, delete_saved_search, save_search, saved_searches
from .segments import (
    SegmentEditRecord,
    layout_version,
    merge_segments,
    move_boundary,
    segment_at,
    segment_edit_history,
    set_party,
    split_segment,
)
from .transcript import SegmentTextRecord, correct_segment_text, segment_text_versions

__all__ = [
    "MAX_COMMENT",
    "PERSON_SORTS",
    "AttributionDecision",
    "CallSideProposal",
    "CommentRecord",
    "EvidenceRecord",
    "HistoryEntry",
    "MergeRecord",
    "PersonRow",
    "SavedSearchRecord",
    "SegmentEditRecord",
    "SegmentTextRecord",
    "SideLink",
    "SplitRecord",
    "TranslationVersion",
    "VoiceProposal",
    "add_comment",
    "add_evidence",
    "call_comments",
    "call_proposals",
    "call_side_histories",
    "correct_segment_text",
    "decide_attribution",
    "delete_saved_search",
    "layout_version",
    "link_side",
    "may_add_evidence",
    "merge",
    "merge_segments",
    "move_boundary",
    "person_history",
    "person_voice_proposals",
    "persons_overview",
    "save_search",
    "saved_searches",
    "segment_at",
    "segment_edit_history",
    "segment_text_versions",
    "segment_translation_history",
    "set_party",
    "side_evidence",
    "side_history",
    "split",
    "split_segment",
    "undo_merge",
    "unlink_side",
    "verify_side",
]
