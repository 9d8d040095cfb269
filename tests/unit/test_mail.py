"""The mails as a patient's mail program sees them: MIME parts, escaping, link and .ics."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

import icalendar
import pytest

from chalicelib.domain.appointment import Appointment
from chalicelib.mail import compose
from tests.mail_parts import body_text
from tests.unit.factories import NOW, appointment


def context(a: Appointment) -> compose.MailContext:
    return compose.MailContext(
        appointment=a,
        group_name="Cardiology",
        visit_url="https://eclinic.test/visit/TOKEN123",
        sender="eClinic <no-reply@clinic.example>",
        now=NOW,
    )


def reparse(message: EmailMessage) -> EmailMessage:
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_invitation_has_both_parts_link_zone_and_ics() -> None:
    a = appointment(patient_name="Pat <script>alert(1)</script> & Co")
    mail = reparse(compose.invitation(context(a)))
    assert mail.get_content_type() == "multipart/mixed"
    text = body_text(mail, "plain")
    html = body_text(mail, "html")
    # 10:00 UTC is 11:00 in Berlin in November (CET)
    for part in (text, html):
        assert "Thursday 26 November 2026" in part and "11:00" in part
        assert "Europe/Berlin, CET" in part and "Cardiology" in part
        assert "15 minutes" in part and "camera" in part and "microphone" in part
    assert 'href="https://eclinic.test/visit/TOKEN123"' in html
    assert "https://eclinic.test/visit/TOKEN123" in text
    assert "<script>" not in html and "Pat &lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in html
    assert "Pat <script>alert(1)</script> & Co" in text
    assert mail["Subject"] == "Your video appointment with Cardiology on Thu 26 Nov 2026, 11:00 CET"

    (ics,) = list(mail.iter_attachments())
    assert ics.get_filename() == "appointment.ics" and ics.get_content_type() == "text/calendar"
    calendar = icalendar.Calendar.from_ical(ics.get_content())
    (event,) = calendar.walk("VEVENT")
    assert str(event["UID"]) == f"{a.id}@eclinic"
    assert event.decoded("DTSTART") == a.starts_at and event.decoded("DTEND") == a.ends_at
    assert event.decoded("DTSTART").utcoffset().total_seconds() == 0
    assert str(event["URL"]) == "https://eclinic.test/visit/TOKEN123"
    assert "Cardiology" in str(event["SUMMARY"])


def test_cancellation_has_no_link() -> None:
    mail = reparse(compose.cancellation(context(appointment())))
    text = body_text(mail, "plain")
    assert "cancelled" in text and "TOKEN123" not in mail.as_string()
    (ics,) = list(mail.iter_attachments())
    calendar = icalendar.Calendar.from_ical(ics.get_content())
    assert str(calendar["METHOD"]) == "CANCEL"
    assert str(calendar.walk("VEVENT")[0]["STATUS"]) == "CANCELLED"


def test_a_name_cannot_add_a_header() -> None:
    # The rules refuse such names before they get here; the mail library refuses them too.
    with pytest.raises(ValueError):
        compose.invitation(context(appointment(patient_name="Pat\r\nBcc: x@evil.test")))


def test_the_to_header_quotes_odd_names() -> None:
    mail = reparse(compose.invitation(context(appointment(patient_name='Doe, "Pat" <x@evil.test>'))))
    (address,) = mail["To"].addresses
    assert address.addr_spec == "pat@example.com"
    assert address.display_name == 'Doe, "Pat" <x@evil.test>'
