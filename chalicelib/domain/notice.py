"""Notices: a few words from the clinic to a patient in the waiting room ("Running about 10
minutes late"). Only a waiting patient gets one; the audit records that one was sent
(`notice_sent`), never its text, and the text is not stored.
"""

from __future__ import annotations

from chalicelib.domain.appointment import Appointment, Status
from chalicelib.domain.rules import field_has_control_characters
from chalicelib.errors import Conflict, ValidationFailed

NOTICE_MAX = 500
AUDIT_ACTION = "notice_sent"

_NOT_WAITING = {
    Status.SCHEDULED: "The patient is not in the waiting room; a notice reaches only a waiting patient.",
    Status.IN_SESSION: "The session has started; write to the patient in the session's chat instead.",
    Status.COMPLETED: "The appointment is completed; there is nobody waiting to tell.",
    Status.CANCELLED: "The appointment is cancelled; there is nobody waiting to tell.",
}


def notice_text(value: object) -> str:
    """The notice's words, trimmed: 1 to NOTICE_MAX characters, line breaks allowed, no other
    control characters."""
    if not isinstance(value, str):
        raise ValidationFailed("`text` is required: the words for the patient.", "text")
    text = value.strip()
    if not text:
        raise ValidationFailed("Write the notice first.", "text")
    if len(text) > NOTICE_MAX:
        raise ValidationFailed(f"A notice may be at most {NOTICE_MAX} characters.", "text")
    if field_has_control_characters(text, allow_newlines=True):
        raise ValidationFailed("The notice contains characters that cannot be sent.", "text")
    return text


def require_waiting(appointment: Appointment) -> None:
    """A notice is for a patient in the waiting room; any other status says why not."""
    if appointment.status is not Status.WAITING:
        raise Conflict(_NOT_WAITING[appointment.status])
