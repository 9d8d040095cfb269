"""Notices: a few words from the clinic to a patient in the waiting room ("Running about 10
minutes late"). Only a waiting patient gets one; the audit records that one was sent
(`notice_sent`), never its text, and the text is not stored.
"""

from __future__ import annotations

from chalicelib.domain.appointment import Appointment, Status
from chalicelib.domain.rules import written_text
from chalicelib.errors import Conflict

NOTICE_MAX = 500
AUDIT_ACTION = "notice_sent"

_NOT_WAITING = {
    Status.SCHEDULED: "The patient is not in the waiting room; a notice reaches only a waiting patient.",
    Status.IN_SESSION: "The session has started; write to the patient in the session's chat instead.",
    Status.COMPLETED: "The appointment is completed; there is nobody waiting to tell.",
    Status.CANCELLED: "The appointment is cancelled; there is nobody waiting to tell.",
}


def notice_text(value: str) -> str:
    """The notice's words, trimmed: 1 to NOTICE_MAX characters, line breaks allowed, no other
    control characters (that it is a string at all, the protocol's `notice` checks)."""
    return written_text(value.strip(), NOTICE_MAX, "notice", "Write the notice first.")


def require_waiting(appointment: Appointment) -> None:
    """A notice is for a patient in the waiting room; any other status says why not."""
    if appointment.status is not Status.WAITING:
        raise Conflict(_NOT_WAITING[appointment.status])
