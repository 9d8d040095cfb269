"""Sending a reminder when its schedule fires: the use case behind the `send_reminder` function.

A schedule carries only the reminder (`Reminder.to_input`); the appointment is read again and
the reminder goes out only if it is still due (open, at the start it was planned for, not sent
before), so a schedule left behind by a cancel, a completion or a move sends nothing. Each
reminder is claimed on the appointment with a conditional write before anything is sent: of a
retried invocation, or of two running at once, one claims it and sends, the others find it
claimed. When the mail cannot be sent the claim is released and ReminderNotSent raised, so
that the invocation fails and is retried. The text is second to the mail: a failed text is
recorded, never retried (a retry would mail the patient again).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from chalicelib.domain.appointment import Appointment, AuditEvent, TextStatus
from chalicelib.domain.reminders import Reminder, still_due
from chalicelib.errors import ValidationFailed
from chalicelib.logs import logger
from chalicelib.mail import compose
from chalicelib.mail.mailer import Mailer, MailRejected
from chalicelib.store.ports import AppointmentStore, AuditLog
from chalicelib.texts import messages as texts
from chalicelib.usecases.appointments import AppointmentService


class ReminderNotSent(Exception):
    """The reminder mail was refused; the claim is released, so a retry may send it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ReminderService:
    def __init__(
        self,
        appointments: AppointmentService,
        appointment_store: AppointmentStore,
        audit_log: AuditLog,
        mailer: Mailer,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._appointments = appointments
        self._appointment_store = appointment_store
        self._audit_log = audit_log
        self._mailer = mailer
        self._clock = clock or appointments.now

    def send(self, reminder: Reminder) -> str:
        """Sends the reminder a schedule delivered if it is still due; returns what happened:
        `sent`, `not_due` (moved, ended, or already sent) or `unknown` (no such appointment).
        Raises ValidationFailed for an appointment id that is not one, ReminderNotSent when the
        mail failed."""
        try:
            uuid.UUID(reminder.appointment_id)
        except ValueError as exc:
            raise ValidationFailed("A reminder names an appointment by its id.") from exc
        appointment = self._appointment_store.get(reminder.appointment_id)
        if appointment is None:
            logger().warning("reminder for an unknown appointment", appointment_id=reminder.appointment_id)
            return "unknown"
        claimed = self._claim(appointment, reminder)
        if claimed is None:
            logger().info("reminder not due", appointment_id=appointment.id, kind=reminder.kind)
            return "not_due"
        context = self._appointments.mail_context(claimed)
        try:
            self._mailer.send(compose.reminder(context))
        except MailRejected as exc:
            logger().warning("reminder mail refused", appointment_id=claimed.id, reason=exc.reason)
            self._release(claimed, reminder)
            raise ReminderNotSent(exc.reason) from exc
        text = None
        if not claimed.patient_phone_opted_out:
            text = self._appointments.text_patient(claimed, texts.reminder(context))
        if text is not None:
            self._record_text(claimed.id, text)
        detail = {"kind": reminder.kind, "text_status": text.value if text else "none"}
        self._audit_log.append(claimed.audit_event("reminder_sent", "system", self._clock(), detail=detail))
        logger().info("reminder sent", appointment_id=claimed.id, kind=reminder.kind)
        return "sent"

    def _claim(self, appointment: Appointment, reminder: Reminder) -> Appointment | None:
        """The appointment with the reminder claimed, written on its version; None when it is
        not due (any more): ended, moved, or claimed by another invocation first."""
        claimed = False

        def claim(current: Appointment) -> tuple[Appointment, AuditEvent | None]:
            nonlocal claimed
            claimed = still_due(current, reminder, current.reminders_sent)
            if not claimed:
                return current, None
            return current.with_reminder_claimed(reminder.key), None

        if not still_due(appointment, reminder, appointment.reminders_sent):
            return None
        stored = self._appointments.mutate(appointment.id, claim)
        return stored if claimed else None

    def _release(self, appointment: Appointment, reminder: Reminder) -> None:
        def release(current: Appointment) -> tuple[Appointment, AuditEvent | None]:
            return current.without_reminder_claim(reminder.key), None

        self._appointments.mutate(appointment.id, release)
        self._audit_log.append(
            appointment.audit_event(
                "reminder_failed", "system", self._clock(), detail={"kind": reminder.kind}
            )
        )

    def _record_text(self, appointment_id: str, status: TextStatus) -> None:
        """Keeps whether the number is on the opt-out list (the schedule shows it)."""
        at = self._clock()

        def keep_opt_out(current: Appointment) -> tuple[Appointment, AuditEvent | None]:
            changed = current.with_text_result(status, at)
            if changed.patient_phone_opted_out == current.patient_phone_opted_out:
                return current, None
            return changed, None

        self._appointments.mutate(appointment_id, keep_opt_out)
