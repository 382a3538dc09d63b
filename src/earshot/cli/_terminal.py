"""Terminal-safe output: nothing printed from data can drive the terminal.

File names, transcripts and record values come from hostile material. Printed raw, an
escape sequence in a file name can clear the screen, move the cursor, set the window
title (OSC) or make a link (OSC 8), and so paint a fake "OK: verified"; rich markup in a
value ("[link=...]", "[/]") can restyle or break the output. Two layers:

* :func:`safe` for every data value put into a printed line or table cell: control
  characters made visible as ``\\x1b``-style escapes, then rich markup escaped;
* :class:`SafeConsole` (the CLI's ``out`` and ``err``) makes C0/C1 controls, DEL and the
  bidirectional overrides visible in *everything* it renders, keeping only newline and
  tab, so a value printed without :func:`safe` still cannot reach the terminal as a
  control sequence.

``--json`` output goes through :func:`safe_json`: JSON escapes C0 controls itself; DEL,
C1 controls and bidi overrides are written as ``\\uXXXX`` escapes too. The JSON stays
valid and decodes to the raw value.
"""

from __future__ import annotations

import json
import re
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.text import Text

__all__ = ["SafeConsole", "safe", "safe_json", "safe_json_text", "visible"]

# C0 controls (ESC included), DEL, C1 controls (CSI 0x9b, OSC 0x9d, ...), and the Unicode
# marks that reorder text on screen (bidi overrides, isolates, LRM/RLM).
_BIDI = "\u200e\u200f\u202a-\u202e\u2066-\u2069"
_VALUE_UNSAFE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}]")
_TEXT_UNSAFE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}]")  # keeps \t and \n
_JSON_UNSAFE = re.compile(f"[\x7f-\x9f{_BIDI}]")


def _show(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str, *, lines: bool = False) -> str:
    """`text` with control characters written out (ESC -> ``\\x1b``); with `lines`,
    newline and tab are kept (whole messages), otherwise shown too (one value)."""
    return (_TEXT_UNSAFE if lines else _VALUE_UNSAFE).sub(_show, text)


def safe(value: object) -> str:
    """A data value ready to be put into rich markup: controls visible, markup escaped."""
    return escape(visible(str(value)))


def safe_json(data: Any) -> str:
    """JSON for the terminal: valid, decoding to the raw values, with no raw control."""
    return safe_json_text(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def safe_json_text(text: str) -> str:
    """Already serialised JSON (C0 escaped by the encoder) with DEL, C1 and bidi controls
    written as ``\\uXXXX`` too: they can only occur inside strings, so the value is kept."""
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class SafeConsole(Console):
    """A rich Console that never lets a control character of rendered text through."""

    def render_str(self, text: str, **kwargs: Any) -> Text:
        return super().render_str(visible(text, lines=True), **kwargs)
