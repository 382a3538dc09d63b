"""Markdown that reads as plain text: escape only what Markdown would misread.

A transcript line is full of brackets ("[phone number]"), dashes, underscores and
numbers; escaping every punctuation mark made exports unreadable as text (hundreds of
backslashes). Here a character is escaped only where CommonMark or GFM would take it
for markup: emphasis, code, links and images, raw HTML and entities, strikethrough,
hard line breaks, and block markers at the start of a line. The test renders the
escaped text with markdown-it-py and checks that exactly the original text comes out.
"""

from __future__ import annotations

import re

__all__ = ["md_escape"]

_BACKSLASH_RE = re.compile(r"\\(?=[!-/:-@\[-`{-~]|$)")  # a backslash before punctuation
_EMPHASIS_RE = re.compile(r"[*`]|~~")
_UNDERSCORE_RE = re.compile(r"(?<![0-9A-Za-zА-Яа-яЁё])_|_(?![0-9A-Za-zА-Яа-яЁё])")
_LINK_RE = re.compile(r"\](?=[(\[:])")  # "[x](y)", "[x][y]", "[x]: y"
_IMAGE_RE = re.compile(r"!(?=\[)")
_HTML_RE = re.compile(r"<(?=[A-Za-z/!?])")
_ENTITY_RE = re.compile(r"&(?=#?[0-9A-Za-z]+;)")
_BLOCK_START_RE = re.compile(r"^(\s*)([#>+\-=|]|\d+[.)])")


def md_escape(text: str, *, line_start: bool = False) -> str:
    """`text` as Markdown that renders as exactly `text` (on one line).

    `line_start`: the text begins a line, so block markers ("# ", "> ", "- ", "1. ")
    are escaped too.
    """
    text = " ".join(text.split())  # a line break could open a block or a hard break
    text = _BACKSLASH_RE.sub(r"\\\\", text)
    text = _EMPHASIS_RE.sub(lambda m: "".join("\\" + c for c in m.group(0)), text)
    text = _UNDERSCORE_RE.sub(r"\\_", text)
    text = _LINK_RE.sub(r"\\]", text)
    text = _IMAGE_RE.sub(r"\\!", text)
    text = _HTML_RE.sub(r"\\<", text)
    text = _ENTITY_RE.sub(r"\\&", text)
    if line_start:
        text = _BLOCK_START_RE.sub(lambda m: m.group(1) + _escape_marker(m.group(2)), text)
    return text


def _escape_marker(marker: str) -> str:
    if marker[0].isdigit():
        return marker[:-1] + "\\" + marker[-1]
    return "\\" + marker
