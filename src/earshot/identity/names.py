"""How two spellings of one person's name are recognised as the same name.

Persons are looked up by this key everywhere (call records at ingest, `--person`
references, merges, aliases), so it lives once, here, in the identity layer.
"""

from __future__ import annotations

import re

__all__ = ["name_key"]

_SPACES = re.compile(r"\s+")


def name_key(name: str) -> str:
    """Case, ё/е and spacing folded: "Андрей  Шмелёв" and "андрей шмелев" are one name."""
    return _SPACES.sub(" ", name.strip()).casefold().replace("ё", "е")
