"""Reading text files that come from outside: strict decoding and invisible-character cleanup.

Shared by the sidecar and call-record readers. Hostile or broken input (binary junk,
NUL bytes, Latin-1 posing as cp1251, bidi overrides) is refused or cleaned here once.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["clean_line", "decode_text", "strip_controls"]

_KEEP_FORMAT = frozenset("\u200c\u200d")
_RUSSIAN_LETTERS = frozenset(
    "абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯіїєґўІЇЄҐЎ"
)
_RUSSIAN_PUNCTUATION = frozenset("«»—–№…‘’‚“”„•·°\u00a0§©®™€±")
_WHITESPACE = re.compile(r"\s+")
_WORD = re.compile(r"[^\W\d_]+")


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


def _plausibly_russian(text: str) -> bool:
    """Whether cp1251-decoded `text` reads as Cyrillic prose rather than random bytes."""
    high = [ch for ch in text if ord(ch) > 0x7F]
    if not high:
        return False
    letters = sum(ch in _RUSSIAN_LETTERS for ch in high)
    other = sum(ch in _RUSSIAN_PUNCTUATION for ch in high)
    if (letters + other) < 0.97 * len(high) or letters < 0.6 * len(high):
        return False
    # Latin-1 read as cp1251 gives Cyrillic letters inside Latin words ("Mьller"); Russian doesn't.
    words = [w for w in _WORD.findall(text) if any(ord(ch) > 0x7F for ch in w)]
    mixed = sum(1 for w in words if any(ch not in _RUSSIAN_LETTERS for ch in w))
    return mixed <= 0.1 * len(words)


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode a text file's bytes as (text, encoding name); ValueError says why not.

    UTF-8 with or without BOM first; UTF-16 only with its BOM (what Windows Notepad writes as
    "Unicode"); otherwise cp1251, the usual legacy encoding of Russian files, but only when the
    result is plausibly Cyrillic text — cp1251 maps almost every byte to *something*, so
    accepting it blindly would turn binary junk into "text".
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) and not data.startswith(b"\xff\xfe\x00\x00"):
        try:
            text, encoding = data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise ValueError(f"broken UTF-16 at byte {exc.start}") from None
    elif b"\x00" in data:
        where = data.index(b"\x00")
        raise ValueError(
            f"contains NUL bytes (first at byte {where}): binary data, or UTF-16 without "
            "a byte-order mark"
        )
    else:
        try:
            text, encoding = data.decode("utf-8-sig"), "utf-8"
        except UnicodeDecodeError as exc:
            try:
                text, encoding = data.decode("cp1251"), "cp1251"
            except UnicodeDecodeError:
                text, encoding = "", ""
            if not encoding or not _plausibly_russian(text):
                raise ValueError(
                    f"not UTF-8 (invalid byte 0x{data[exc.start]:02x} at byte {exc.start}) "
                    "and not plausibly Russian text in cp1251"
                ) from None
    text = text.removeprefix("\ufeff")
    controls = sum(1 for ch in text if ch < " " and ch not in "\t\n\r\f\v")
    if "\x00" in text or controls > max(8, len(text) // 100):
        raise ValueError(f"{controls} control characters: binary data, not text")
    return text, encoding


# --------------------------------------------------------------------------- errors, reading
