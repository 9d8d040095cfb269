"""Reminders before an appointment: which are still ahead, and whether one is still due.

A reminder is planned for a start time; when it fires it is checked against the appointment
as it is then, so a schedule left behind by a cancel, a completion or a move sends nothing.
No I/O here: the scheduler adapter and the use case carry these values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib.domain.appointment import FINAL_STATES, Appointment, Status
from chalicelib.errors import ValidationFailed

# 24 hours and 1 hour before the start (API.md); the names are the audit's and the schedules'.
DEFAULT_OFFSETS: dict[str, timedelta] = {"24h": timedelta(hours=24), "1h": timedelta(hours=1)}
OPEN_STATES = frozenset({Status.SCHEDULED, Status.WAITING})


@dataclass(frozen=True)
class Reminder:
    """One reminder of one appointment for one start time; also what a schedule carries."""

    appointment_id: str
    kind: str
    starts_at: datetime  # the start it reminds of (aware, UTC)
    due_at: datetime

    @property
    def key(self) -> str:
        """Names this reminder for this start, so that one sent is never sent again."""
        return f"{self.kind}@{self.starts_at.strftime('%Y-%m-%dT%H:%M:%SZ')}"

    def to_input(self) -> dict[str, str]:
        return {
            "appointment_id": self.appointment_id,
            "kind": self.kind,
            "starts_at": self.starts_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "due_at": self.due_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }

    @classmethod
    def from_input(cls, body: Any) -> Reminder:
        """Parses what a schedule delivers; anything missing or malformed is refused."""
        if not isinstance(body, dict) or set(body) != {"appointment_id", "kind", "starts_at", "due_at"}:
            raise ValidationFailed("A reminder needs appointment_id, kind, starts_at and due_at.")
        if not all(isinstance(value, str) and value for value in body.values()):
            raise ValidationFailed("A reminder's fields are non-empty strings.")
        try:
            starts_at = datetime.strptime(body["starts_at"], "%Y-%m-%dT%H:%M:%S%z")
            due_at = datetime.strptime(body["due_at"], "%Y-%m-%dT%H:%M:%S%z")
        except ValueError as exc:
            raise ValidationFailed("A reminder's times are UTC timestamps.") from exc
        return cls(body["appointment_id"], body["kind"], starts_at, due_at)


def reminders_ahead(
    appointment_id: str, starts_at: datetime, now: datetime, offsets: dict[str, timedelta]
) -> list[Reminder]:
    """The reminders of an appointment starting at `starts_at` that are still in the future."""
    planned = (
        Reminder(appointment_id, kind, starts_at, starts_at - offset) for kind, offset in offsets.items()
    )
    return [reminder for reminder in planned if reminder.due_at > now]


def still_due(appointment: Appointment, reminder: Reminder, already_sent: frozenset[str]) -> bool:
    """Whether a reminder that fires now should reach the patient: the appointment is still
    open, still at the start it was planned for, and this reminder was not sent before."""
    return (
        appointment.status in OPEN_STATES
        and appointment.starts_at == reminder.starts_at
        and reminder.key not in already_sent
    )


def kind_for(offset: timedelta) -> str:
    """A reminder's name from its offset: whole hours as `24h`, `1h`; other minutes as `90m`."""
    minutes = int(offset.total_seconds() // 60)
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"


def offsets_from_minutes(minutes: tuple[int, ...]) -> dict[str, timedelta]:
    """The reminders of the setting (minutes before the start), by kind."""
    return {kind_for(timedelta(minutes=m)): timedelta(minutes=m) for m in minutes}


@dataclass(frozen=True)
class Follow:
    """What the reminder schedules must do after a change of an appointment."""

    plan: list[Reminder]
    drop: list[str]  # kinds


def follow(
    before: Appointment | None, after: Appointment, now: datetime, offsets: dict[str, timedelta]
) -> Follow:
    """Reminders follow the appointment: planned when it is made, planned anew (and the ones
    no longer ahead dropped) when it moves, dropped when it is cancelled or completed; nothing
    for any other change (a patient coming online, a session starting)."""
    if after.status in FINAL_STATES:
        if before is not None and before.status not in FINAL_STATES:
            return Follow(plan=[], drop=list(offsets))
        return Follow(plan=[], drop=[])
    if after.status not in OPEN_STATES:
        return Follow(plan=[], drop=[])
    if before is not None and before.starts_at == after.starts_at:
        return Follow(plan=[], drop=[])
    ahead = reminders_ahead(after.id, after.starts_at, now, offsets)
    planned = {r.kind for r in ahead}
    stale = [] if before is None else [kind for kind in offsets if kind not in planned]
    return Follow(plan=ahead, drop=stale)
