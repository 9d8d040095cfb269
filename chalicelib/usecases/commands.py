"""The typed commands the REST use cases take: what a request asks for, already checked.

The HTTP edge (`chalicelib/api/bodies.py`) parses a request's JSON body into one of these, with
the contract's validation errors; a use case receives only well-formed values and applies the
rules that need the clock or the stored state (a start in the past, the caller's groups).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from chalicelib.domain.guests import NewGuest


@dataclass(frozen=True)
class InviteCommand:
    """`POST /api/appointments`: a new appointment and the patient to invite to it."""

    starts_at: datetime  # UTC, whole seconds; not yet checked against the clock
    duration_minutes: int
    patient_name: str
    patient_email: str
    group: str
    timezone: str
    patient_phone: str | None = None  # E.164


@dataclass(frozen=True)
class RescheduleCommand:
    """`POST /api/appointments/{id}/reschedule`: a new start; the duration and the time zone
    stay what the appointment has unless given (None)."""

    starts_at: datetime  # UTC, whole seconds; not yet checked against the clock
    duration_minutes: int | None = None
    timezone: str | None = None

    def time_keeping(self, duration_minutes: int, timezone: str) -> tuple[datetime, int, str]:
        """The new start, duration and time zone, those not given kept from the appointment's."""
        return (
            self.starts_at,
            duration_minutes if self.duration_minutes is None else self.duration_minutes,
            timezone if self.timezone is None else self.timezone,
        )


@dataclass(frozen=True)
class CreateTaskCommand:
    """`POST /api/appointments/{id}/tasks`: a follow-up task."""

    title: str
    note: str


@dataclass(frozen=True)
class SendDocumentCommand:
    """`POST /api/appointments/{id}/documents`: a text or an allowed file, as it will be stored."""

    title: str
    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class AddGuestCommand:
    """`POST /api/appointments/{id}/guests`: the guest to invite (email or phone, or both)."""

    guest: NewGuest
