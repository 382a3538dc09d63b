#!/usr/bin/env python3
"""Re-verify an Earshot log exported with `earshot audit export`, without Earshot.

Needs only Python 3.11+ and the `rfc8785` package (pip install rfc8785). It re-does,
from the definition alone, what `earshot verify` / `earshot audit verify` do:

- each entry's ``entry_hash`` is the SHA-256 (lower-case hex) of the RFC 8785 (JCS)
  canonical JSON of its ``content`` object with one more member, ``"prev"``: the
  previous entry's ``entry_hash`` (64 zeros for the first entry);
- each entry's ``prev_hash`` equals the previous entry's ``entry_hash``;
- with ``--key-file`` (the case's ``chain.key``, 64 hex digits), each ``entry_mac`` is
  HMAC-SHA256(key, b"earshot chain entry v2\\0" + TABLE + b"\\0" + entry_hash) where
  TABLE is ``audit_log`` or ``custody_log``;
- with ``--statement`` (what `earshot audit anchor` printed and you kept), the log has
  at least the stated length and its entry at that position has the stated hash.

Entries written before Earshot sealed its logs have ``entry_mac`` null and were hashed
over ``json.dumps(..., sort_keys=True, ensure_ascii=False, separators=(",", ":"))``
instead; they may only come first.

Usage: verify_chain.py EXPORT.jsonl [--key-file chain.key] [--statement anchor.json]
Exit status 0 when everything holds, 1 when something does not (each problem printed).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import sys
from pathlib import Path
from typing import Any

import rfc8785

GENESIS = "0" * 64
MAC_LABEL = b"earshot chain entry v2\x00"


def jcs_hash(prev: str, content: dict[str, Any]) -> str:
    return hashlib.sha256(rfc8785.dumps({"prev": prev, **content})).hexdigest()


def legacy_hash(prev: str, content: dict[str, Any]) -> str:
    body = json.dumps(
        {"prev": prev, **content}, sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def verify(
    entries: list[dict[str, Any]], key: bytes | None, statement: dict[str, Any] | None
) -> list[str]:
    problems: list[str] = []
    prev = GENESIS
    sealed = False
    hashes: list[str] = []
    for entry in entries:
        where = f"{entry.get('log', '?')} entry {entry.get('id', '?')}"
        table = f"{entry['log']}_log"
        if entry["prev_hash"] != prev:
            problems.append(f"{where}: does not follow the entry before it")
        mac = entry.get("entry_mac")
        if mac is None:
            if sealed:
                problems.append(f"{where}: has no MAC after entries that have one")
            digest = legacy_hash(entry["prev_hash"], entry["content"])
        else:
            sealed = True
            digest = jcs_hash(entry["prev_hash"], entry["content"])
            if key is not None:
                message = MAC_LABEL + table.encode() + b"\x00" + entry["entry_hash"].encode()
                expected = hmac.new(key, message, hashlib.sha256).hexdigest()
                if not hmac.compare_digest(mac, expected):
                    problems.append(f"{where}: wrong MAC (forged, or another key)")
        if digest != entry["entry_hash"]:
            problems.append(f"{where}: content does not match its hash (altered)")
        prev = entry["entry_hash"]
        hashes.append(prev)
    if statement is not None and entries:
        head = statement.get(entries[0]["log"])
        if head is not None and head["length"]:
            length = int(head["length"])
            if len(hashes) < length:
                problems.append(
                    f"the statement records {length} entries, the export has {len(hashes)}: "
                    "entries were removed"
                )
            elif hashes[length - 1] != head["head"]:
                problems.append(
                    f"entry number {length} is not the one in the statement: the log was rewritten"
                )
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("export", type=Path, help="JSON Lines from `earshot audit export`")
    parser.add_argument("--key-file", type=Path, help="the case's chain key, to check MACs")
    parser.add_argument(
        "--statement", type=Path, help="a statement printed by `earshot audit anchor`"
    )
    args = parser.parse_args(argv)
    entries = [
        json.loads(line)
        # Lines end at "\n" only: JSON text may hold U+2028, which str.splitlines() splits on.
        for line in args.export.read_text(encoding="utf-8").split("\n")
        if line.strip()
    ]
    key = bytes.fromhex(args.key_file.read_text().strip()) if args.key_file else None
    statement = None
    if args.statement:
        statement = json.loads(args.statement.read_text(encoding="utf-8"))
        statement = statement.get("statement", statement)  # the --json form wraps it
    problems = verify(entries, key, statement)
    for problem in problems:
        print(f"PROBLEM  {problem}")
    checks = ["hashes", "links"] + (["MACs"] if key else []) + (["statement"] if statement else [])
    if problems:
        print(f"FAILED: {len(problems)} problem(s) in {len(entries)} entries")
        return 1
    print(f"OK: {len(entries)} entries; checked {', '.join(checks)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
