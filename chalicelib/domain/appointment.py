"""The appointment and its state machine.

The transitions table is the single source of truth for which moves are legal; every use
case goes through `Appointment.apply`, or one of the rules built on it (taking a session,
coming online, going offline, hanging up, assigning a media worker), each of which returns the
new appointment and the audit event that records the move (or the same appointment and None
when there is nothing to do). Storage makes the write conditional on the version read here, so two
concurrent moves on one appointment cannot both win.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from chalicelib.domain.clinician import Clinician
from chalicelib.domain.device_check import DeviceCheck
from chalicelib.domain.guest import GuestSummary
from chalicelib.domain.timeutil import iso_utc
from chalicelib.errors import Conflict, Forbidden


class Status(enum.StrEnum):
    SCHEDULED = "scheduled"
    WAITING = "waiting"
    IN_SESSION = "in_session"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class Move(enum.StrEnum):
    """What can happen to an appointment's status; the names are the audit's action names."""

    PATIENT_ONLINE = "patient_online"
    PATIENT_GONE = "patient_gone"
    TAKE = "take"
    EXIT = "exit"
    LEAVE = "leave"
    CANCEL = "cancel"
    COMPLETE = "complete"


TRANSITIONS: Mapping[tuple[Status, Move], Status] = {
    (Status.SCHEDULED, Move.PATIENT_ONLINE): Status.WAITING,
    (Status.WAITING, Move.PATIENT_GONE): Status.SCHEDULED,
    (Status.WAITING, Move.TAKE): Status.IN_SESSION,
    (Status.IN_SESSION, Move.EXIT): Status.WAITING,
    (Status.IN_SESSION, Move.LEAVE): Status.COMPLETED,
    (Status.SCHEDULED, Move.CANCEL): Status.CANCELLED,
    (Status.WAITING, Move.CANCEL): Status.CANCELLED,
    (Status.SCHEDULED, Move.COMPLETE): Status.COMPLETED,
    (Status.WAITING, Move.COMPLETE): Status.COMPLETED,
    (Status.IN_SESSION, Move.COMPLETE): Status.COMPLETED,
}

FINAL_STATES = frozenset({Status.COMPLETED, Status.CANCELLED})
# A move to another time keeps the status, so it is no row of TRANSITIONS: it is allowed before
# the session only (API.md). The audit action is `rescheduled`.
RESCHEDULABLE = frozenset({Status.SCHEDULED, Status.WAITING})


class IllegalTransition(Conflict):
    """A move that the transitions table does not allow from the current status."""

    def __init__(self, current: Status, move: Move) -> None:
        super().__init__(f"The appointment is {current.value}; it cannot {_MOVE_WORDS[move]} now.")
        self.current = current
        self.move = move


_MOVE_WORDS = {
    Move.PATIENT_ONLINE: "start waiting",
    Move.PATIENT_GONE: "stop waiting",
    Move.TAKE: "be taken",
    Move.EXIT: "be exited",
    Move.LEAVE: "be left",
    Move.CANCEL: "be cancelled",
    Move.COMPLETE: "be marked as complete",
}


class InviteStatus(enum.StrEnum):
    SENT = "sent"
    FAILED = "failed"


class TextStatus(enum.StrEnum):
    """What became of the last text to the patient (an invitation or a reminder)."""

    SENT = "sent"
    FAILED = "failed"
    OPTED_OUT = "opted_out"  # the number replied STOP: the text service refuses it


@dataclass(frozen=True)
class Invite:
    # "failed" until the mail service has accepted a mail: a crash between storing the
    # appointment and mailing it leaves an invite that re-invite will retry.
    status: InviteStatus = InviteStatus.FAILED
    count: int = 0
    last_sent_at: datetime | None = None
    # The invitation's text; None when the appointment has no phone number.
    text_status: TextStatus | None = None


@dataclass(frozen=True)
class AuditEvent:
    appointment_id: str
    at: datetime
    actor: str  # a clinician's user id, "patient" or "system"
    action: str
    from_status: Status
    to_status: Status
    actor_email: str | None = None  # a clinician's email at the time, for people to read
    # What else the action needs said (a reminder's kind, a reschedule's old and new time):
    # never patient data.
    detail: Mapping[str, str] | None = None


@dataclass(frozen=True)
class Appointment:
    id: str
    group: str
    starts_at: datetime  # aware, UTC, whole seconds
    duration_minutes: int
    timezone: str
    patient_name: str
    patient_email: str
    status: Status
    taken_by: str | None  # the email of the clinician in the session, for display
    invited_by: str
    invite: Invite
    created_at: datetime
    updated_at: datetime
    link_nonce: str
    link_token_hash: str
    version: int = 0
    taken_by_name: str | None = None
    media_worker_id: str | None = None  # the worker relaying this visit's media, once called
    taken_by_id: str | None = None  # the user id of the clinician in the session: who may act in it
    device_check: DeviceCheck | None = None  # the patient page's last device check, if any
    patient_phone: str | None = None  # E.164; texts go here when given
    patient_phone_opted_out: bool = False  # the text service's opt-out list has the number
    # The .ics SEQUENCE: 0 for the first invitation, one more at each reschedule, so that a
    # calendar that took the event moves it rather than adding another.
    calendar_sequence: int = 0
    # Reminder keys (`Reminder.key`) already claimed for sending: each is sent once.
    reminders_sent: frozenset[str] = frozenset()
    # UTC, while `waiting`: when the patient came online, or came back to the waiting room
    # after "exit without ending" (they have been waiting again since the exit); else None.
    waiting_since: datetime | None = None
    # The guests not removed, in the order they were added (chalicelib/domain/guests.py).
    guests: tuple[GuestSummary, ...] = ()

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.duration_minutes)

    def local_start(self) -> datetime:
        """The start in the appointment's own time zone, for mail and pages."""
        return self.starts_at.astimezone(ZoneInfo(self.timezone))

    def link_expires_at(self, grace: timedelta) -> datetime:
        return self.ends_at + grace

    def apply(self, move: Move, actor: Clinician | str, at: datetime) -> tuple[Appointment, AuditEvent]:
        """The appointment after `move` by `actor` (a clinician, or "patient" / "system"), and
        the audit event recording it.

        Raises IllegalTransition when the transitions table has no such move.
        """
        target = TRANSITIONS.get((self.status, move))
        if target is None:
            raise IllegalTransition(self.status, move)
        taken = (self.taken_by_id, self.taken_by, self.taken_by_name)
        worker = self.media_worker_id
        if move is Move.TAKE:
            if not isinstance(actor, Clinician):
                raise TypeError("only a clinician takes an appointment")
            taken = (actor.id, actor.email, actor.name)
        if target is not Status.IN_SESSION:
            worker = None  # the call ends with the session
        if target in (Status.SCHEDULED, Status.WAITING):
            taken = (None, None, None)
        # Every move into `waiting` (coming online, exit without ending) starts the wait;
        # the table has no move from `waiting` to itself, and any other status has no wait.
        waiting_since = at if target is Status.WAITING else None
        changed = replace(
            self,
            status=target,
            waiting_since=waiting_since,
            taken_by_id=taken[0],
            taken_by=taken[1],
            taken_by_name=taken[2],
            media_worker_id=worker,
            updated_at=at,
        )
        return changed, self.audit_event(action=move.value, actor=actor, at=at, to=target)

    def take(self, clinician: Clinician, at: datetime) -> tuple[Appointment, AuditEvent | None]:
        """`waiting` -> `in_session` for this clinician. The clinician already in the running
        session takes it again (a reload, a second tab): a rejoin, nothing changes. Raises
        IllegalTransition for anything else (a second taker, an appointment not waiting)."""
        if self.status is Status.IN_SESSION and self.held_by(clinician.id):
            return self, None
        return self.apply(Move.TAKE, clinician, at)

    def come_online(self, at: datetime) -> tuple[Appointment, AuditEvent | None]:
        """The patient's first live connection: `scheduled` -> `waiting`. A patient already
        waiting or in the session (another tab), or one whose appointment is over, changes nothing."""
        if self.status is Status.SCHEDULED:
            return self.apply(Move.PATIENT_ONLINE, "patient", at)
        return self, None

    def go_offline(self, at: datetime) -> tuple[Appointment, AuditEvent | None]:
        """The patient's last live connection gone: `waiting` -> `scheduled`. In a session (the
        clinician's page keeps it) or in any other status nothing changes."""
        if self.status is Status.WAITING:
            return self.apply(Move.PATIENT_GONE, "patient", at)
        return self, None

    def hang_up(self, clinician: Clinician, leave: bool, at: datetime) -> tuple[Appointment, AuditEvent]:
        """The clinician in the session hangs up: "exit without ending" (`in_session` ->
        `waiting`) or, with `leave`, "leave session" (-> `completed`). Raises Forbidden for a
        clinician who is not in it, IllegalTransition when no session is running."""
        if not self.held_by(clinician.id):
            raise Forbidden("You are not in this session.")
        return self.apply(Move.LEAVE if leave else Move.EXIT, clinician, at)

    def assign_worker(self, worker_id: str, at: datetime) -> tuple[Appointment, AuditEvent | None]:
        """The running session's media relayed by `worker_id` (`call_assigned`); the same
        worker again changes nothing. Raises Conflict when no session is running."""
        if self.status is not Status.IN_SESSION:
            raise Conflict("The session is not running.")
        if self.media_worker_id == worker_id:
            return self, None
        assigned = replace(self, media_worker_id=worker_id, updated_at=at)
        return assigned, self.audit_event("call_assigned", "system", at)

    def held_by(self, clinician_id: str) -> bool:
        """Whether that clinician is the one in this appointment's session."""
        return self.taken_by_id is not None and self.taken_by_id == clinician_id

    def audit_event(
        self,
        action: str,
        actor: Clinician | str,
        at: datetime,
        to: Status | None = None,
        detail: Mapping[str, str] | None = None,
    ) -> AuditEvent:
        """An audit event for an action on this appointment (a move, or one that keeps the status)."""
        return AuditEvent(
            appointment_id=self.id,
            at=at,
            actor=actor.id if isinstance(actor, Clinician) else actor,
            action=action,
            from_status=self.status,
            to_status=to or self.status,
            actor_email=actor.email if isinstance(actor, Clinician) else None,
            detail=dict(detail) if detail else None,
        )

    def rescheduled(
        self, starts_at: datetime, duration_minutes: int, timezone: str, actor: Clinician, at: datetime
    ) -> tuple[Appointment, AuditEvent | None]:
        """The appointment at its new time, with the calendar sequence one higher, and the
        `rescheduled` audit event (old and new time); the same appointment and None when
        nothing changes. Raises Conflict once the session has started or the appointment ended."""
        if self.status not in RESCHEDULABLE:
            raise Conflict(
                f"The appointment is {self.status.value.replace('_', ' ')}; only an appointment "
                "that has not started yet can be rescheduled."
            )
        if (starts_at, duration_minutes, timezone) == (self.starts_at, self.duration_minutes, self.timezone):
            return self, None
        moved = replace(
            self,
            starts_at=starts_at,
            duration_minutes=duration_minutes,
            timezone=timezone,
            calendar_sequence=self.calendar_sequence + 1,
            updated_at=at,
        )
        detail = {
            "from_starts_at": iso_utc(self.starts_at),
            "to_starts_at": iso_utc(starts_at),
            "from_duration_minutes": str(self.duration_minutes),
            "to_duration_minutes": str(duration_minutes),
            "from_timezone": self.timezone,
            "to_timezone": timezone,
        }
        return moved, self.audit_event("rescheduled", actor, at, detail=detail)

    def with_text_result(self, status: TextStatus, at: datetime) -> Appointment:
        """After a text to the patient: what became of it, and whether the number opted out
        (a text that went through clears an earlier opt-out: the patient opted in again)."""
        opted_out = status is TextStatus.OPTED_OUT or (
            self.patient_phone_opted_out and status is TextStatus.FAILED
        )
        return replace(self, patient_phone_opted_out=opted_out, updated_at=at)

    def with_invite_text(self, status: TextStatus, at: datetime) -> Appointment:
        changed = self.with_text_result(status, at)
        return replace(changed, invite=replace(self.invite, text_status=status))

    def with_link_hash(self, link_token_hash: str) -> Appointment:
        """The appointment opened by the link whose hash this is (the link last sent)."""
        return replace(self, link_token_hash=link_token_hash)

    def with_reminder_claimed(self, key: str) -> Appointment:
        return replace(self, reminders_sent=self.reminders_sent | {key})

    def without_reminder_claim(self, key: str) -> Appointment:
        return replace(self, reminders_sent=self.reminders_sent - {key})

    def with_device_check(self, camera: str, microphone: str, at: datetime) -> Appointment:
        """The appointment with the patient's latest device check; it keeps its status."""
        if self.status in FINAL_STATES:
            raise Conflict(f"The appointment is {self.status.value}; there is nothing to check for.")
        return replace(self, device_check=DeviceCheck(camera, microphone, at), updated_at=at)

    def with_invite_result(self, sent: bool, at: datetime) -> Appointment:
        invite = replace(
            self.invite,
            status=InviteStatus.SENT if sent else InviteStatus.FAILED,
            count=self.invite.count + (1 if sent else 0),
            last_sent_at=at if sent else self.invite.last_sent_at,
        )
        return replace(self, invite=invite, updated_at=at)
