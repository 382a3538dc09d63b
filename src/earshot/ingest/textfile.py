"""Reading text files that come from outside: strict decoding and invisible-character cleanup.

Shared by the sidecar and call-record readers. Hostile or broken input (binary junk,
NUL bytes, Latin-1 posing as cp1251, bidi overrides) is refused or cleaned here once.
"""

from __future__ import annotations

import re
import unicodedata

from .encodings import decode_bytes

__all__ = ["clean_line", "decode_text", "strip_controls"]

_KEEP_FORMAT = frozenset("\u200c\u200d")
_WHITESPACE = re.compile(r"\s+")
_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1f]")  # C0 controls other than \t \n \v \f \r


def strip_controls(text: str, *, keep: str = "") -> str:
    """NFC-normalize `text` and drop control, format and surrogate characters not in `keep`.

    Control characters corrupt terminals, logs and CSV exports; invisible format characters
    (bidi overrides, zero-width spaces, soft hyphens) let two different strings look the same,
    which search and speaker matching must not be fooled by.
    """
    text = unicodedata.normalize("NFC", text)
    if text.isprintable():  # fast path: nothing invisible in it (printable excludes Cc/Cf/Cs)
        return text
    out = []
    for ch in text:
        category = unicodedata.category(ch)
        if ch in keep or ch in _KEEP_FORMAT or category not in ("Cc", "Cf", "Cs"):
            out.append(ch)
    return "".join(out)


def clean_line(text: str) -> str:
    """`strip_controls`, then every run of whitespace (line breaks too) becomes one space."""
    return _WHITESPACE.sub(" ", strip_controls(text, keep="\t\n\r")).strip()


def decode_text(data: bytes, encoding: str | None = None) -> tuple[str, str]:
    """Decode a text file's bytes as (text, encoding name); ValueError says why not.

    UTF-8 and UTF-16 (with or without BOM) first, then the legacy Cyrillic code pages, each
    only when the result is plausibly Russian (see :mod:`earshot.ingest.encodings`): those
    map almost every byte to *something*, so accepting one blindly would store mojibake or
    turn binary junk into "text". `encoding` forces one.
    """
    decoded = decode_bytes(data, encoding)
    text, encoding = decoded.text, decoded.encoding
    text = text.removeprefix("\ufeff")
    controls = len(_CONTROLS.findall(text))
    if "\x00" in text or controls > max(8, len(text) // 100):
        raise ValueError(f"{controls} control characters: binary data, not text")
    return text, encoding


# --------------------------------------------------------------------------- errors, reading
