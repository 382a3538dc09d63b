"""RFC 3161 time-stamp requests: have an authority sign that a log head existed by now.

Why by hand: a request is a dozen bytes of DER (version, SHA-256 imprint, nonce,
certReq) and the reply only needs its status read; the token itself is kept as received
(``.tsr``) and checked with standard tools, e.g.
``openssl ts -verify -digest HEX -in anchor.tsr -token_in -CAfile tsa.pem``. Earshot
checks only that the token carries the requested hash and nonce (so a reply to some
other request is refused), not the authority's signature.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import httpx

from ..errors import TimestampError

__all__ = ["TimestampError", "TimestampReply", "request_timestamp", "timestamp_request"]

_SHA256_OID = bytes.fromhex("0609608648016503040201")  # 2.16.840.1.101.3.4.2.1
_STATUS = {0: "granted", 1: "grantedWithMods", 2: "rejection", 3: "waiting"}
_MAX_REPLY = 1 << 20


def _der(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 0x80:
        length = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + length + body


def _integer(value: int) -> bytes:
    raw = value.to_bytes(value.bit_length() // 8 + 1, "big", signed=True)
    return _der(0x02, raw)


def timestamp_request(digest: bytes, nonce: int) -> bytes:
    """DER TimeStampReq (RFC 3161 section 2.4.1) for a SHA-256 `digest`, asking for the
    authority's certificate in the reply."""
    if len(digest) != 32:
        raise ValueError("a SHA-256 digest has 32 bytes")
    imprint = _der(0x30, _der(0x30, _SHA256_OID + b"\x05\x00") + _der(0x04, digest))
    return _der(0x30, _integer(1) + imprint + _integer(nonce) + b"\x01\x01\xff")


def _read(data: bytes, at: int) -> tuple[int, int, int]:
    """(tag, start of body, end of body) of the DER element at `at`."""
    if at + 2 > len(data):
        raise ValueError("truncated")
    tag, first = data[at], data[at + 1]
    at += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or at + count > len(data):
            raise ValueError("bad length")
        length = int.from_bytes(data[at : at + count], "big")
        at += count
    if at + length > len(data):
        raise ValueError("truncated")
    return tag, at, at + length


@dataclass(frozen=True)
class TimestampReply:
    """The authority's answer: its status and the token (DER ContentInfo) as received."""

    status: str
    token: bytes
    nonce: int

    def as_dict(self) -> dict[str, object]:
        return {"status": self.status, "token_bytes": len(self.token), "nonce": str(self.nonce)}


def parse_reply(data: bytes, nonce: int, digest: bytes | None = None) -> TimestampReply:
    """Read a DER TimeStampResp: PKIStatusInfo, then the token, which must hold `digest`
    (the message imprint) and `nonce` (TSTInfo echoes both)."""
    try:
        tag, start, end = _read(data, 0)
        if tag != 0x30:
            raise ValueError("not a SEQUENCE")
        tag, s_start, s_end = _read(data, start)
        if tag != 0x30:
            raise ValueError("no PKIStatusInfo")
        tag, i_start, i_end = _read(data, s_start)
        if tag != 0x02:
            raise ValueError("no status")
        status = int.from_bytes(data[i_start:i_end], "big", signed=True)
    except ValueError as exc:
        raise TimestampError(f"the time-stamp authority's reply is not RFC 3161 ({exc})") from None
    token = data[s_end:end]
    name = _STATUS.get(status, f"status {status}")
    if status not in (0, 1) or not token:
        raise TimestampError(f"the time-stamp authority did not grant a token ({name})")
    if digest is not None and (digest not in token or _integer(nonce) not in token):
        raise TimestampError(
            "the time-stamp authority's token is not for this request (hash or nonce "
            "missing); nothing was written"
        )
    return TimestampReply(status=name, token=token, nonce=nonce)


def request_timestamp(url: str, digest: bytes, *, timeout: float = 30.0) -> TimestampReply:
    """POST a request for `digest` to the authority at `url` and return its reply."""
    nonce = secrets.randbits(63)
    try:
        response = httpx.post(
            url,
            content=timestamp_request(digest, nonce),
            headers={"Content-Type": "application/timestamp-query"},
            timeout=timeout,
        )
    except httpx.HTTPError as exc:
        raise TimestampError(f"cannot reach the time-stamp authority {url} ({exc})") from None
    if response.status_code != 200:
        raise TimestampError(f"the time-stamp authority {url} answered HTTP {response.status_code}")
    if len(response.content) > _MAX_REPLY:
        raise TimestampError(f"the time-stamp authority {url} sent an oversized reply")
    return parse_reply(response.content, nonce, digest)
