"""Which encoding a text file from outside is in, decided by whether the result reads as Russian.

Legacy Cyrillic encodings (Windows cp1251, Unix KOI8-R, DOS cp866) map almost every byte to
*some* letter, so "it decoded" proves nothing: KOI8-R bytes read as cp1251 give «ЪЧПОПЛ НБФЕТЙ»,
and storing that is worse than refusing the file. Each candidate decoding is therefore scored on
how Russian it looks — the share of non-ASCII characters that are Cyrillic letters, how often
each letter appears against Russian letter frequencies, and whether words are cased like words
(mojibake between KOI8-R and cp1251 swaps upper and lower case) — and the best one is taken
only when it is plausible. Otherwise the file is refused naming the encodings tried.
"""

from __future__ import annotations

import codecs
import math
import re
from dataclasses import dataclass

from ..errors import EncodingRefused

__all__ = [
    "LEGACY_ENCODINGS",
    "Decoded",
    "EncodingRefused",
    "decode_bytes",
    "plausibility",
    "supported_encoding",
]

LEGACY_ENCODINGS: tuple[str, ...] = ("cp1251", "koi8_r", "cp866")

_SHOWN = {"cp1251": "cp1251", "koi8_r": "KOI8-R", "cp866": "cp866", "koi8_u": "KOI8-U"}

# Letter frequencies of Russian prose (per cent, lower case), plus the Ukrainian and
# Belarusian letters at the rates they have in those languages' texts.
_FREQ_PERCENT = {
    "о": 10.97, "е": 8.45, "а": 8.01, "и": 7.35, "н": 6.70, "т": 6.26, "с": 5.47,
    "р": 4.73, "в": 4.54, "л": 4.40, "к": 3.49, "м": 3.21, "д": 2.98, "п": 2.81,
    "у": 2.62, "я": 2.01, "ы": 1.90, "ь": 1.74, "г": 1.70, "з": 1.65, "б": 1.59,
    "ч": 1.44, "й": 1.21, "х": 0.97, "ж": 0.94, "ш": 0.73, "ю": 0.64, "ц": 0.48,
    "щ": 0.36, "э": 0.32, "ф": 0.26, "ъ": 0.04, "ё": 0.04,
    "і": 1.0, "ї": 0.3, "є": 0.3, "ґ": 0.05, "ў": 0.1,
}  # fmt: skip
_LOG_FREQ = {letter: math.log(p / 100) for letter, p in _FREQ_PERCENT.items()}
_LETTERS = frozenset(_FREQ_PERCENT) | frozenset(k.upper() for k in _FREQ_PERCENT)
_PUNCTUATION = frozenset("«»—–№…‘’‚“”„•·°\u00a0§©®™€±")
_WORD = re.compile(r"[^\W\d_]+")
# Average log-frequency of the letters of real Russian text is about -3.1; a permutation of
# the alphabet (the wrong legacy code page) lands near -4.
_MIN_LOG_FREQ = -3.75
_MAX_MISCASED = 0.2
_SAMPLE = 200_000  # characters judged at each end of a large file


@dataclass(frozen=True)
class Decoded:
    """A file's text and the encoding it was read in (as named to the user)."""

    text: str
    encoding: str


def supported_encoding(name: str) -> str:
    """The codec name for `name` (cp1251, koi8-r, utf-16, ...); ValueError if unknown."""
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise ValueError(
            f"unknown encoding {name!r}; use e.g. utf-8, utf-16, cp1251, koi8-r or cp866"
        ) from None


def _miscased(word: str) -> bool:
    """A word cased as no writer cases one: 'зВОНОК' (lower, then upper) or 'ЗвОНОК'."""
    if len(word) < 2 or word.islower() or word.isupper() or word.istitle():
        return False
    return not (word[0].isupper() and word[1:].islower())


def plausibility(text: str) -> float | None:
    """How Russian-looking `text` is (higher is better), or None if it is not plausible.

    Only characters beyond ASCII are judged: an ASCII-only text decodes the same in every
    candidate and says nothing about which one is right.
    """
    high = [ch for ch in text if ord(ch) > 0x7F]
    if not high:
        return 0.0
    letters = [ch for ch in high if ch in _LETTERS]
    other = sum(ch in _PUNCTUATION for ch in high)
    if len(letters) + other < 0.95 * len(high) or len(letters) < 0.6 * len(high):
        return None
    words = [w for w in _WORD.findall(text) if any(ch in _LETTERS for ch in w)]
    # Latin-1 read as cp1251 gives Cyrillic letters inside Latin words ("Mьller").
    mixed = sum(1 for w in words if any(ord(ch) > 0x7F and ch not in _LETTERS for ch in w))
    mixed += sum(1 for w in words if any(ch.isascii() for ch in w))
    miscased = sum(1 for w in words if _miscased(w))
    if words and (mixed > 0.1 * len(words) or miscased > _MAX_MISCASED * len(words)):
        return None
    mean = sum(_LOG_FREQ[ch.lower()] for ch in letters) / len(letters)
    if len(letters) >= 12 and mean < _MIN_LOG_FREQ:
        return None
    return mean - (miscased / len(words) if words else 0.0)


def _utf16_without_bom(data: bytes) -> str | None:
    """'utf-16-le' / 'utf-16-be' when every other byte is 0x00 or 0x04 (ASCII or Cyrillic)."""
    if len(data) < 4 or len(data) % 2:
        return None
    even, odd = data[0::2], data[1::2]
    for name, high, low in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
        share = (high.count(0) + high.count(4)) / len(high)
        if share >= 0.95 and low.count(0) < 0.05 * len(low) and high.count(0):
            return name
    return None


def _show(name: str) -> str:
    return _SHOWN.get(name, name)


def decode_bytes(data: bytes, encoding: str | None = None) -> Decoded:
    """Decode `data`: the given `encoding`, else UTF-8/UTF-16 (BOM or not), else the most
    plausibly Russian of cp1251, KOI8-R and cp866. EncodingRefused says why not.
    """
    if encoding:
        codec = supported_encoding(encoding)
        try:
            text = data.decode("utf-8-sig" if codec == "utf-8" else codec)
        except UnicodeDecodeError as exc:
            raise EncodingRefused(
                f"is not valid {encoding} (byte 0x{data[exc.start]:02x} at {exc.start}); "
                "check --encoding, or leave it out to detect the encoding"
            ) from None
        return Decoded(text.removeprefix("\ufeff"), codec)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) and not data.startswith(b"\xff\xfe\x00\x00"):
        try:
            return Decoded(data.decode("utf-16").removeprefix("\ufeff"), "utf-16")
        except UnicodeDecodeError as exc:
            raise EncodingRefused(f"broken UTF-16 at byte {exc.start}") from None
    bomless = _utf16_without_bom(data)
    if bomless is not None:
        try:
            text = data.decode(bomless)
        except UnicodeDecodeError:
            pass
        else:
            if plausibility(text) is not None:
                return Decoded(text, bomless)
    if b"\x00" in data:
        where = data.index(b"\x00")
        raise EncodingRefused(
            f"contains NUL bytes (first at byte {where}): binary data (a spreadsheet saved "
            "as .xls?), or UTF-16 without a byte-order mark; save it as CSV in UTF-8"
        )
    try:
        return Decoded(data.decode("utf-8-sig"), "utf-8")
    except UnicodeDecodeError as exc:
        bad = f"not UTF-8 (invalid byte 0x{data[exc.start]:02x} at byte {exc.start})"
    scored: list[tuple[float, str, str]] = []
    for name in LEGACY_ENCODINGS:
        try:
            text = data.decode(name)
        except UnicodeDecodeError:
            continue
        # The first stretch decides (a large export is judged on its head, cheaply), and
        # the rest must not contradict it.
        score = plausibility(text[:_SAMPLE])
        if score is not None and len(text) > _SAMPLE and plausibility(text[-_SAMPLE:]) is None:
            score = None
        if score is not None:
            scored.append((score, name, text))
    if not scored:
        tried = ", ".join(_show(n) for n in LEGACY_ENCODINGS)
        raise EncodingRefused(
            f"{bad}, and none of {tried} gives plausible Russian text (tried UTF-8, UTF-16, "
            f"{tried}); pass --encoding NAME if you know it, or export the file again as UTF-8"
        )
    scored.sort(key=lambda item: item[0], reverse=True)
    _, name, text = scored[0]
    return Decoded(text, _show(name))
