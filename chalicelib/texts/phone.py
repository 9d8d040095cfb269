"""Phone numbers as the clinic types them, checked and stored in E.164.

`phonenumberslite` is Google's libphonenumber metadata without the geocoding and carrier data
(5 MB instead of 48 MB in the Lambda bundle): parsing, validation and formatting are the same.
"""

from __future__ import annotations

import phonenumbers

from chalicelib.errors import ValidationFailed

EXAMPLE = "+49 30 1234567"


def normalise_phone(raw: str, field: str = "patient_phone") -> str:
    """The number in E.164 (`+4930123456`); a number without `+` or `00` is refused, since the
    clinic's country is not known here."""
    text = raw.strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException as exc:
        raise ValidationFailed(
            f"Enter the phone number with its country code, for example {EXAMPLE}.", field
        ) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationFailed(f"This is not a valid phone number. For example: {EXAMPLE}.", field)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def display_phone(e164: str) -> str:
    """The number as people read it (`+49 30 1234567`)."""
    return phonenumbers.format_number(
        phonenumbers.parse(e164, None), phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
