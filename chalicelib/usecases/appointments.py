"""Appointment use cases: invite, list, reschedule, cancel, re-invite, complete, tasks, audit,
visit.

Each one checks who may act, moves the domain object, and writes conditionally; a write that
loses a race is retried from a fresh read, so the loser ends with the domain's verdict on the
new state (usually IllegalTransition, a 409) and never overwrites the winner. Reminder
schedules follow every stored change (`reminders.follow`): planned with the appointment, moved
with it, dropped when it ends. The appointment is always stored first, so a scheduler that
fails loses no appointment (it is logged and audited `reminder_planning_failed`).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from chalicelib import metrics, paging, representations
from chalicelib.auth import patient_links
from chalicelib.domain import reminders, rules
from chalicelib.domain.appointment import (
    FINAL_STATES,
    Appointment,
    AuditEvent,
    Invite,
    Move,
    Status,
    TextStatus,
)
from chalicelib.domain.chat import ChatMessage
from chalicelib.domain.clinician import Clinician
from chalicelib.domain.task import Task
from chalicelib.domain.timeutil import iso_utc_precise
from chalicelib.errors import Conflict, Gone, NotFound, ValidationFailed
from chalicelib.events.publisher import EventPublisher
from chalicelib.logs import logger
from chalicelib.mail import compose
from chalicelib.mail.mailer import Mailer, MailRejected
from chalicelib.paging import Page
from chalicelib.reminders.scheduler import ReminderScheduler, SchedulingFailed
from chalicelib.store.ports import (
    AppointmentStore,
    AuditLog,
    ChatStore,
    ConcurrentUpdate,
    ScheduleResult,
    TaskStore,
)
from chalicelib.texts import messages as texts
from chalicelib.texts.sender import OptedOut, TextRejected, TextSender
from chalicelib.usecases.commands import CreateTaskCommand, InviteCommand, RescheduleCommand
from chalicelib.usecases.ports import AppointmentNotifier, CallEnder, Change, NoCalls, NoNotifier

WRITE_ATTEMPTS = 5
# The audit action of a text to the patient, by what became of it (never the number or the text).
_TEXT_ACTIONS = {
    TextStatus.SENT: "invitation_texted",
    TextStatus.FAILED: "invitation_text_failed",
    TextStatus.OPTED_OUT: "invitation_text_opted_out",
}
# What `schedule_position` makes: the start as stored and the appointment's id.
_SCHEDULE_POSITION = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z#[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class LinkPolicy:
    secret: bytes
    grace: timedelta
    base_url: str

    def token(self, appointment: Appointment) -> str:
        return patient_links.token_for(self.secret, appointment.id, appointment.link_nonce)

    def url(self, appointment: Appointment) -> str:
        return f"{self.base_url}/visit/{self.token(appointment)}"


class AppointmentService:
    def __init__(
        self,
        appointment_store: AppointmentStore,
        audit_log: AuditLog,
        chat_store: ChatStore,
        task_store: TaskStore,
        mailer: Mailer,
        events: EventPublisher,
        group_names: Callable[[], Mapping[str, str]],
        links: LinkPolicy,
        mail_sender: str,
        texts: TextSender,
        reminder_scheduler: ReminderScheduler,
        reminder_offsets: Mapping[str, timedelta] = reminders.DEFAULT_OFFSETS,
        notifier: AppointmentNotifier | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        calls: CallEnder | None = None,
    ) -> None:
        self._appointment_store = appointment_store
        self._audit_log = audit_log
        self._chat_store = chat_store
        self._task_store = task_store
        self._mailer = mailer
        self._texts = texts
        self._scheduler = reminder_scheduler
        self._offsets = dict(reminder_offsets)
        self._events = events
        self._group_names = group_names
        self._links = links
        self._sender = mail_sender
        self._notifier = notifier or NoNotifier()
        self._clock = clock
        self._calls = calls or NoCalls()

    # -- clinician actions -------------------------------------------------------------

    def invite(self, actor: Clinician, request: InviteCommand) -> Appointment:
        now = self._clock()
        rules.check_start(request.starts_at, now)
        actor.require_member(request.group)
        appointment_id = str(uuid.uuid4())
        nonce = patient_links.new_nonce()
        token = patient_links.token_for(self._links.secret, appointment_id, nonce)
        appointment = Appointment(
            id=appointment_id,
            group=request.group,
            starts_at=request.starts_at,
            duration_minutes=request.duration_minutes,
            timezone=request.timezone,
            patient_name=request.patient_name,
            patient_email=request.patient_email,
            status=Status.SCHEDULED,
            taken_by=None,
            invited_by=actor.email,
            invite=Invite(),
            created_at=now,
            updated_at=now,
            link_nonce=nonce,
            link_token_hash=patient_links.hash_token(token),
            patient_phone=request.patient_phone,
        )
        self._appointment_store.add(appointment, appointment.audit_event("created", actor, now))
        logger().info("appointment created", appointment_id=appointment_id, group=request.group)
        metrics.count("AppointmentsCreated")
        self._follow_reminders(None, appointment)
        return self._send_invitation(appointment, actor)

    def schedule(self, actor: Clinician, query: Mapping[str, str]) -> tuple[ScheduleResult, dict[str, str]]:
        """One page of the schedule and what the answer carries beside it (`next`)."""
        start, end = rules.schedule_range(query, self._clock())
        group = query.get("group")
        if group:
            actor.require_member(group)
        groups = [group] if group else sorted(actor.groups)
        scope = _schedule_scope(start, end, groups)
        wanted = paging.request(query, scope)
        if wanted.after is not None and not _SCHEDULE_POSITION.fullmatch(wanted.after):
            raise ValidationFailed(paging.BAD_CURSOR, "cursor")
        result = self._appointment_store.schedule(groups, start, end, wanted.limit, wanted.after)
        return result, paging.next_cursor(paging.Page(result.appointments, result.after), scope)

    def get(self, actor: Clinician, appointment_id: str) -> Appointment:
        return self._visible(actor, appointment_id)

    def cancel(self, actor: Clinician, appointment_id: str) -> Appointment:
        self._visible(actor, appointment_id)
        cancelled = self._move(appointment_id, Move.CANCEL, actor)
        message = compose.cancellation(self.mail_context(cancelled))
        try:
            self._mailer.send(message)
            action = "cancellation_sent"
        except MailRejected as exc:
            logger().warning("cancellation mail refused", appointment_id=appointment_id, reason=exc.reason)
            action = "cancellation_failed"
        self._audit_log.append(cancelled.audit_event(action, "system", self._clock()))
        return cancelled

    def reinvite(self, actor: Clinician, appointment_id: str) -> Appointment:
        appointment = self._visible(actor, appointment_id)
        if appointment.status in FINAL_STATES:
            raise Conflict(f"The appointment is {appointment.status.value}; it cannot be re-invited.")
        # Plans the reminders still ahead again (create-or-move: the same ones once more), which
        # is how an appointment whose planning failed gets them (README).
        self._follow_reminders(None, appointment)
        return self._send_invitation(appointment, actor)

    def reschedule(self, actor: Clinician, appointment_id: str, request: RescheduleCommand) -> Appointment:
        """Moves the appointment (scheduled or waiting) to a new time and sends the invitation
        again: the same link, the .ics with its UID and a higher SEQUENCE. Somebody else's
        reschedule in between (the calendar sequence moved since this caller's read) is a 409,
        not a silent overwrite; any other change in between is retried."""
        seen = self._visible(actor, appointment_id)
        now = self._clock()
        rules.check_start(request.starts_at, now)  # 400 before anything

        def move(current: Appointment) -> tuple[Appointment, AuditEvent | None]:
            if current.calendar_sequence != seen.calendar_sequence and current.status not in FINAL_STATES:
                raise Conflict(
                    "Someone else has just moved this appointment; check its new time and try again."
                )
            wanted = request.time_keeping(current.duration_minutes, current.timezone)
            return current.rescheduled(*wanted, actor, now)

        moved = self.mutate(appointment_id, move)
        if moved.calendar_sequence == seen.calendar_sequence:
            return moved  # the same time again: nothing to move, nobody to tell
        logger().info("appointment rescheduled", appointment_id=appointment_id)
        return self._send_invitation(moved, actor)

    def complete(self, actor: Clinician, appointment_id: str) -> Appointment:
        self._visible(actor, appointment_id)
        return self._move(appointment_id, Move.COMPLETE, actor)

    def create_task(self, actor: Clinician, appointment_id: str, request: CreateTaskCommand) -> Task:
        appointment = self._visible(actor, appointment_id)
        now = self._clock()
        task = Task(
            id=str(uuid.uuid4()),
            appointment_id=appointment.id,
            title=request.title,
            note=request.note,
            created_by=actor.email,
            created_at=now,
        )
        self._task_store.add(task, appointment.audit_event("task_created", actor, now))
        self._events.publish("TaskCreated", {"task": representations.task(task), "group": appointment.group})
        return task

    def audit_page(
        self, actor: Clinician, appointment_id: str, query: Mapping[str, str] | None
    ) -> tuple[Page[AuditEvent], dict[str, str]]:
        """One page of the audit trail and what the answer carries beside it (`next`)."""
        appointment = self._visible(actor, appointment_id)
        return paging.of_appointment(self._audit_log.page, appointment.id, query)

    def chat_page(
        self, actor: Clinician, appointment_id: str, query: Mapping[str, str] | None
    ) -> tuple[Page[ChatMessage], dict[str, str]]:
        """One page of the session's chat, oldest first, and what the answer carries beside it."""
        appointment = self._visible(actor, appointment_id)
        return paging.of_appointment(self._chat_store.page, appointment.id, query)

    def now(self) -> datetime:
        return self._clock()

    @property
    def link_grace(self) -> timedelta:
        """How long after its end an appointment's link (and its call) stays usable."""
        return self._links.grace

    def group_name(self, group: str) -> str:
        return self._group_names().get(group, group)

    # -- patient -------------------------------------------------------------------

    def visit(self, token: str) -> Appointment:
        """The appointment a patient link opens; Gone when cancelled or past its window."""
        if not patient_links.looks_like_token(token):
            raise NotFound("This link is not valid. Please check the address in your invitation.")
        appointment = self._appointment_store.by_link_hash(patient_links.hash_token(token))
        if appointment is None:
            raise NotFound("This link is not valid. Please check the address in your invitation.")
        if appointment.status is Status.CANCELLED:
            raise Gone("This appointment was cancelled. Please contact your practice.")
        if self._clock() > appointment.link_expires_at(self._links.grace):
            raise Gone("This appointment is over and its link has expired.")
        return appointment

    # -- internals -----------------------------------------------------------------

    def _visible(self, actor: Clinician, appointment_id: str) -> Appointment:
        try:
            uuid.UUID(appointment_id)
        except ValueError as exc:
            raise NotFound("No such appointment.") from exc
        appointment = self._appointment_store.get(appointment_id)
        if appointment is None:
            raise NotFound("No such appointment.")
        actor.require_visible(appointment.group)
        return appointment

    def _move(self, appointment_id: str, move: Move, actor: Clinician | str) -> Appointment:
        before, after = self.mutate_seen(appointment_id, lambda a: a.apply(move, actor, self._clock()))
        self._calls.end_call(before, after)
        return after

    def mutate(self, appointment_id: str, change: Change) -> Appointment:
        """Applies `change` to a fresh read and writes it conditionally, retrying lost races."""
        return self.mutate_seen(appointment_id, change)[1]

    def mutate_seen(self, appointment_id: str, change: Change) -> tuple[Appointment, Appointment]:
        """`mutate`, answering the appointment as the winning attempt read it and as stored
        (the same one twice when there was nothing to do)."""
        for _ in range(WRITE_ATTEMPTS):
            current = self._appointment_store.get(appointment_id)
            if current is None:
                raise NotFound("No such appointment.")
            changed, audit = change(current)
            if audit is None and changed == current:
                return current, current
            try:
                stored = self._appointment_store.save(changed, current.version, audit)
            except ConcurrentUpdate:
                continue
            self._notifier.appointment_changed(current, stored, audit)
            self._follow_reminders(current, stored)
            return current, stored
        raise Conflict("The appointment is being changed by someone else; try again.")

    def _follow_reminders(self, before: Appointment | None, after: Appointment) -> None:
        """Plans, moves or drops the reminder schedules as the change asks (`reminders.follow`).
        A failure never undoes the stored change: planning is logged, counted and audited; a
        schedule left behind by a failed drop sends nothing when it fires (`still_due`)."""
        follow = reminders.follow(before, after, self._clock(), self._offsets)
        if follow.plan:
            try:
                for reminder in follow.plan:
                    self._scheduler.plan(reminder)
            except SchedulingFailed as exc:
                logger().error("reminder planning failed", appointment_id=after.id, reason=exc.reason)
                metrics.count("ReminderPlanningFailed")
                self._audit_log.append(after.audit_event("reminder_planning_failed", "system", self._clock()))
        if follow.drop:
            try:
                self._scheduler.drop(after.id, follow.drop)
            except SchedulingFailed as exc:
                logger().warning(
                    "reminder schedules not dropped; they will send nothing",
                    appointment_id=after.id,
                    reason=exc.reason,
                )

    def _send_invitation(self, appointment: Appointment, actor: Clinician) -> Appointment:
        context = self.mail_context(appointment)
        try:
            self._mailer.send(compose.invitation(context))
            sent = True
        except MailRejected as exc:
            logger().warning("invitation refused", appointment_id=appointment.id, reason=exc.reason)
            sent = False
        # Mail is the main channel: a text that fails is recorded and changes nothing else.
        text = self.text_patient(appointment, texts.invitation(context))
        at = self._clock()

        def record_result(current: Appointment) -> tuple[Appointment, AuditEvent]:
            action = "invitation_sent" if sent else "invitation_failed"
            # The link just sent is the one that opens the visit: after a rotation of the link
            # secret it is a new one (the old link stops), else the same as before.
            changed = current.with_invite_result(sent, at).with_link_hash(
                patient_links.hash_token(self._links.token(current))
            )
            if text is not None:
                changed = changed.with_invite_text(text, at)
            return changed, current.audit_event(action, actor, at)

        stored = self.mutate(appointment.id, record_result)
        if text is not None:
            # After the invitation's own event (the trail is ordered by time).
            texted = stored.audit_event(
                _TEXT_ACTIONS[text], actor, self._clock(), detail={"kind": "invitation"}
            )
            self._audit_log.append(texted)
        return stored

    def text_patient(self, appointment: Appointment, body: str) -> TextStatus | None:
        """Texts the patient's phone, if the appointment has one: what became of it, or None."""
        if appointment.patient_phone is None:
            return None
        try:
            self._texts.send(appointment.patient_phone, body)
        except OptedOut:
            logger().info("text not sent: the number opted out", appointment_id=appointment.id)
            return TextStatus.OPTED_OUT
        except TextRejected as exc:
            logger().warning("text refused", appointment_id=appointment.id, reason=exc.reason)
            return TextStatus.FAILED
        return TextStatus.SENT

    def mail_context(self, appointment: Appointment) -> compose.MailContext:
        return compose.MailContext(
            appointment=appointment,
            group_name=self.group_name(appointment.group),
            visit_url=self._links.url(appointment),
            sender=self._sender,
            now=self._clock(),
        )


def _schedule_scope(start: datetime, end: datetime, groups: Sequence[str]) -> str:
    """What a schedule cursor is bound to: the same bounds (to the microsecond) and groups, or it
    is refused. JSON keeps a group name holding a comma from passing for two groups."""
    query = json.dumps([iso_utc_precise(start), iso_utc_precise(end), list(groups)])
    return "schedule:" + hashlib.sha256(query.encode()).hexdigest()[:32]
