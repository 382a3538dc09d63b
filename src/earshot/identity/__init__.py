"""Identity and verification: who is speaking, how the team knows, and how sure it is.

Persons (aliases, role, affiliation, protected flag), phones with libphonenumber's
offline data, call-side attributions with their basis and full history, evidence,
editor-set verification status, merge/split that keep history, self-identification
proposals, and the protected terms the publication layer redacts.
"""

from __future__ import annotations

from .actor import CONTRIBUTOR_ROLES, EDITOR_ROLES, Actor, require_role
from .errors import IdentityError, IdentityNotFoundError
from .evidence import (
    EVIDENCE_KINDS,
    EvidenceSubject,
    StoredFile,
    add_evidence,
    evidence_dict,
    list_evidence,
    store_evidence_file,
)
from .links import (
    BASES,
    PartyLinkDecision,
    current_link,
    decide_proposal,
    link_party,
    pending_proposals,
    set_party_person,
    sync_call_record_links,
    unlink_party,
)
from .merge import merge_persons, split_calls, unmerge
from .persons import ROLES, PersonDetails, PersonEdit, add_person, add_person_phone, edit_person
from .phones import list_phones, phone_dict
from .refs import find_call, find_party, find_person, find_phone
from .report import bring_up_to_date, list_persons, person_report
from .selfid import SelfIdentificationStage, propose_self_identifications
from .terms import ProtectedPerson, identity_terms
from .verification import STATUSES, current_status, set_verification, status_history
from .voice import VoiceMatch, VoiceOutcome, apply_voice_matches, load_voice_matches

__all__ = [
    "BASES",
    "CONTRIBUTOR_ROLES",
    "EDITOR_ROLES",
    "EVIDENCE_KINDS",
    "ROLES",
    "STATUSES",
    "Actor",
    "EvidenceSubject",
    "IdentityError",
    "IdentityNotFoundError",
    "PartyLinkDecision",
    "PersonDetails",
    "PersonEdit",
    "ProtectedPerson",
    "SelfIdentificationStage",
    "StoredFile",
    "VoiceMatch",
    "VoiceOutcome",
    "add_evidence",
    "add_person",
    "add_person_phone",
    "apply_voice_matches",
    "bring_up_to_date",
    "current_link",
    "current_status",
    "decide_proposal",
    "edit_person",
    "evidence_dict",
    "find_call",
    "find_party",
    "find_person",
    "find_phone",
    "identity_terms",
    "link_party",
    "list_evidence",
    "list_persons",
    "list_phones",
    "load_voice_matches",
    "merge_persons",
    "pending_proposals",
    "person_report",
    "phone_dict",
    "propose_self_identifications",
    "require_role",
    "set_party_person",
    "set_verification",
    "split_calls",
    "status_history",
    "store_evidence_file",
    "sync_call_record_links",
    "unlink_party",
    "unmerge",
]
