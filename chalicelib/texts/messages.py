"""The texts a patient gets: short, with the clinic's name, the time and the visit link.

Nothing medical goes into a text (a phone's lock screen shows it to whoever holds the phone):
no patient name, no reason for the visit, only who the appointment is with and when. The
wording mirrors the mails' (`chalicelib/mail/compose.py`), from the same context.
"""

from __future__ import annotations

from chalicelib.mail.compose import MailContext


def invitation(context: MailContext) -> str:
    lead = "New time for your" if context.appointment.calendar_sequence > 0 else "Your"
    return (
        f"{lead} video appointment with {context.group_name}: {context.when()}. "
        f"Waiting room: {context.visit_url} (personal link, do not share)"
    )


def reminder(context: MailContext) -> str:
    return (
        f"Reminder: video appointment with {context.group_name}, {context.when()}. "
        f"Waiting room: {context.visit_url}"
    )
