"""What the patient's page says about their appointment: one sentence per status, and the
words for the moments that need their own (the clinician stepped out, the session ended). A
guest's page is the patient's page, in the guest's words (GUEST_WORDS): the appointment is not
theirs, and they join when the session starts."""

from __future__ import annotations

from chalicelib.domain.appointment import Status

PATIENT_WORDS = {
    Status.SCHEDULED: "Your appointment is booked. Open this page again shortly before it starts.",
    Status.WAITING: "You are in the waiting room. The clinician will be with you shortly.",
    Status.IN_SESSION: "Your clinician has joined.",
    Status.COMPLETED: "This appointment has ended. You can close this window.",
    Status.CANCELLED: "This appointment has been cancelled. Please contact your practice for a new one.",
}
STEPPED_OUT = "Your clinician has stepped out and will be back with you shortly. Please stay on this page."
SESSION_ENDED = "The clinician has ended the session. Thank you, you can close this window now."
_GUEST_WAITS = "The session has not started yet. Please stay on this page: you join as soon as it starts."
GUEST_WORDS = {
    Status.SCHEDULED: _GUEST_WAITS,
    Status.WAITING: _GUEST_WAITS,
    Status.IN_SESSION: "The session is running.",
    Status.COMPLETED: "The appointment has ended. Thank you for joining.",
    Status.CANCELLED: "This appointment was cancelled. The clinic will contact you if you are needed again.",
}
GUEST_STEPPED_OUT = "The clinician has stepped out and will be back shortly. Please stay on this page."
GUEST_REMOVED = "The clinician has ended your part in this visit. Thank you, you can close this window now."
