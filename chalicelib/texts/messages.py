"""The texts a patient gets: short, with the clinic's name, the time and the visit link.

Nothing medical goes into a text (a phone's lock screen shows it to whoever holds the phone):
no patient name, no reason for the visit, only who the appointment is with and when. The
wording mirrors the mails' (`chalicelib/mail/compose.py`), from the same context.
"""

from __future__ import annotations

from chalicelib.domain.guest import ROLE_WORDS
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


def guest_invitation(context: MailContext) -> str:
    """A guest's text (`context.guest` set): the clinic, the role and the time, never the patient."""
    assert context.guest is not None
    return (
        f"You are invited to join a video appointment with {context.group_name} as "
        f"{ROLE_WORDS[context.guest.role]} on {context.when()}. "
        f"Join: {context.visit_url} (personal link, do not share)"
    )
