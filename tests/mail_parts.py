"""The parts of a sent mail that tests read (a text body, the .ics event and its SEQUENCE),
narrowed once here: the email and icalendar APIs return optionals and unions of property
types that every test would otherwise narrow again."""

from __future__ import annotations

from email.message import EmailMessage

import icalendar


def body_text(mail: EmailMessage, subtype: str) -> str:
    """The text of the mail's text/<subtype> body."""
    part = mail.get_body((subtype,))
    assert part is not None, f"the mail has no text/{subtype} body"
    content = part.get_content()
    assert isinstance(content, str)
    return content


def calendar_event(mail: EmailMessage) -> icalendar.Component:
    """The first VEVENT of the mail's text/calendar attachment."""
    (ics,) = [p for p in mail.iter_attachments() if p.get_content_type() == "text/calendar"]
    return icalendar.Calendar.from_ical(ics.get_content()).walk("VEVENT")[0]


def sequence_of(event: icalendar.Component) -> int:
    """The event's SEQUENCE, which a client compares to replace an older copy."""
    sequence = event["SEQUENCE"]
    assert isinstance(sequence, int)
    return int(sequence)
