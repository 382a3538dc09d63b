"""Phone numbers: one normalization to E.164 for call records, transcripts and search.

Numbers arrive as "8 (915) 123-45-67", "+7 915 1234567", "79151234567" or
"+380 67 ...". We parse with Google's libphonenumber port against a default region
(RU unless configured) and fall back to reading the digits as international, so
that the same subscriber always becomes the same Phone.
"""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers
from phonenumbers import number_type
from phonenumbers.phonenumberutil import NumberParseException, PhoneNumberType

__all__ = ["PhoneInfo", "describe_phone", "normalize_phone", "phone_digits"]

_TYPE_NAMES = {
    value: name.lower() for name, value in vars(PhoneNumberType).items() if isinstance(value, int)
}


def _parse(raw: str, region: str) -> phonenumbers.PhoneNumber | None:
    text = raw.strip()
    if not text:
        return None
    candidates = [text]
    digits = "".join(ch for ch in text if ch.isdigit())
    if digits and not text.startswith("+"):
        candidates.append("+" + digits)
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, region)
        except NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return number
    return None


def normalize_phone(raw: str, region: str = "RU") -> str:
    """Return `raw` as E.164 ("+79151234567").

    Raises ValueError with the offending value when it is not a valid number in
    `region` nor a valid international number.
    """
    number = _parse(raw, region.upper())
    if number is None:
        raise ValueError(
            f"not a valid phone number: {raw!r} (read with default region {region.upper()}; "
            "write it with its country code, e.g. +7 915 123-45-67)"
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_digits(e164: str) -> str:
    """The digits of an E.164 number without the plus (what a leak scan looks for)."""
    return "".join(ch for ch in e164 if ch.isdigit())


@dataclass(frozen=True)
class PhoneInfo:
    """What libphonenumber's offline data says about a number."""

    e164: str
    region: str | None
    type: str
    carrier: str
    location: str


def describe_phone(e164: str) -> PhoneInfo:
    """Type, region, carrier and location from libphonenumber's offline data."""
    # The carrier and geocoder tables take ~0.3 s to import; only this function needs them.
    from phonenumbers import carrier, geocoder

    number = phonenumbers.parse(e164, None)
    return PhoneInfo(
        e164=e164,
        region=phonenumbers.region_code_for_number(number),
        type=_TYPE_NAMES.get(number_type(number), "unknown"),
        carrier=carrier.name_for_number(number, "en"),
        location=geocoder.description_for_number(number, "en"),
    )
