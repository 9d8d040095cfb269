"""Phone numbers as clinics type them: normalised to E.164, or refused with what to type."""

from __future__ import annotations

import pytest

from chalicelib.errors import ValidationFailed
from chalicelib.texts.phone import display_phone, normalise_phone
from chalicelib.texts.sender import InMemoryTextSender, OptedOut


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("+49 30 1234567", "+49301234567"),
        ("0049 (30) 123-4567", "+49301234567"),
        ("+1 202-555-0143", "+12025550143"),
        (" +44 20 7123 4567 ", "+442071234567"),
    ],
)
def test_numbers_are_stored_in_e164(typed: str, e164: str) -> None:
    assert normalise_phone(typed) == e164


@pytest.mark.parametrize(
    "typed", ["030 1234567", "+49 30", "+999 1234567", "call me", "", "+1 555 0000000000000"]
)
def test_a_number_that_is_not_one_is_refused_with_an_example(typed: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        normalise_phone(typed)
    assert refused.value.field == "patient_phone" and "+49 30 1234567" in refused.value.message


def test_numbers_are_shown_as_people_read_them() -> None:
    assert display_phone("+49301234567") == "+49 30 1234567"


def test_the_fake_sender_refuses_an_opted_out_number() -> None:
    sender = InMemoryTextSender()
    sender.opted_out.add("+49301234599")
    with pytest.raises(OptedOut):
        sender.send("+49301234599", "Hello")
    assert sender.send("+49301234567", "Hello") and sender.sent == [("+49301234567", "Hello")]
