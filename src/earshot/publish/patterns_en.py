"""English patterns the redactor applies to translations: dates of birth, addresses, units.

Kept apart from :mod:`earshot.publish.redaction` because they are data-like regexes about
how English renders Russian details ("born 14 May 1991", "Lenina Street 5, flat 12",
"military unit 45678"), not the logic of redaction.
"""

from __future__ import annotations

import re

__all__ = ["EN_ADDRESS_RE", "EN_DOB_RE", "EN_UNIT_RE", "date_pattern"]

_MONTHS_EN = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_EN_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
_EN_DATE = (
    rf"(?:\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_EN_MONTH},?\s+\d{{4}}"
    rf"|{_EN_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"
    r"|\d{1,2}[./]\d{1,2}[./]\d{2,4}|\d{4}-\d{2}-\d{2})"
)
EN_DOB_RE = re.compile(
    r"(?:\bborn(?:\s+on|\s+in)?|\bdate\s+of\s+birth:?|\bDOB:?|\bd\.o\.b\.?:?)\s+"
    rf"({_EN_DATE}|\d{{4}})",
    re.IGNORECASE,
)
_EN_STREET = (
    r"(?:Street|St\.|Avenue|Ave\.|Prospekt|Prospect|Lane|Boulevard|Blvd\.?|Road|Rd\.|"
    r"Square|Embankment|Highway|Alley|Passage|Drive|ulitsa|pereulok|per\.|ul\.)"
)
_EN_HOUSE = (
    r"(?:,?\s*(?:building|bldg\.?|house|no\.|block|bl\.|flat|apt\.?|apartment|room|korpus)"
    r"\s*\d+[a-z]?)"
)
EN_ADDRESS_RE = re.compile(
    rf"\b(?:[A-Z][\w'’-]+\s+){{1,3}}{_EN_STREET}(?:,?\s*\d+[a-z]?\b)?{_EN_HOUSE}*"
    rf"|\b{_EN_STREET}\s+(?:[A-Z][\w'’-]+\s*){{1,3}}(?:,?\s*\d+[a-z]?\b)?{_EN_HOUSE}*"
)
EN_UNIT_RE = re.compile(
    r"\b(?:military\s+unit|unit|MU|v/ch)\s*(?:No\.?|number|#)?\s*(\d{4,6})\b", re.IGNORECASE
)


def date_pattern(iso: str) -> str:
    """A regex for one ISO date ("1991-05-14", "--05-14", "1991") written in English or digits."""
    m = re.fullmatch(r"(\d{4}|-)-(\d{2})-(\d{2})", iso)
    if not m:
        return rf"\b{re.escape(iso)}\b" if iso.isdigit() else r"(?!x)x"
    year, month, day = m.group(1), int(m.group(2)), int(m.group(3))
    name = _MONTHS_EN[month - 1]
    y = rf"(?:,?\s+{year})?" if year != "-" else ""
    return (
        rf"\b0?{day}(?:st|nd|rd|th)?\s+(?:of\s+)?{name[:3]}[a-z]*\.?{y}"
        rf"|\b{name[:3]}[a-z]*\.?\s+0?{day}(?:st|nd|rd|th)?{y}"
        rf"|\b0?{day}[./]0?{month}[./](?:{year}|{year[-2:]})\b"
        if year != "-"
        else rf"\b0?{day}(?:st|nd|rd|th)?\s+(?:of\s+)?{name[:3]}[a-z]*"
        rf"|\b{name[:3]}[a-z]*\s+0?{day}\b"
    )
