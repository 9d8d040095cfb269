"""A visit's guests: the clinician adds (invites), lists and removes them; a guest's link opens
the visit as that guest (`resolve_guest_link`, for the REST visit and the websocket connect).

Adding stores the guest with its appointment first (conditional on the version read, retried
from a fresh read when it loses a race: the loser of the last seat gets the domain's 409), then
mails and texts the guest their own link; a refused mail leaves the guest stored and is audited.
Removing tells the `GuestRemovedListener` (the live side: close that guest's connections, tell
the media worker) with the removed guest, which keeps the seat it held, and the appointment.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from chalicelib.auth import patient_links
from chalicelib.domain import guests as rules
from chalicelib.domain.appointment import Appointment, AuditEvent, TextStatus
from chalicelib.domain.clinician import Clinician
from chalicelib.domain.guest import Guest
from chalicelib.errors import Conflict, NotFound
from chalicelib.logs import logger
from chalicelib.mail import compose
from chalicelib.mail.mailer import Mailer, MailRejected
from chalicelib.store.ports import AppointmentStore, AuditLog, ConcurrentUpdate, GuestStore
from chalicelib.texts import messages as texts
from chalicelib.texts.sender import OptedOut, TextRejected, TextSender
from chalicelib.usecases.appointments import WRITE_ATTEMPTS, AppointmentService, LinkPolicy
from chalicelib.usecases.commands import AddGuestCommand
from chalicelib.usecases.ports import (
    AppointmentNotifier,
    GuestRemovedListener,
    NoGuestListener,
    NoNotifier,
)

_NO_LINK = "This link is not valid. Please check the address in your invitation."
# The audit action of the guest's text, by what became of it (never the number or the text).
_GUEST_TEXT_ACTIONS = {
    TextStatus.SENT: "guest_invitation_texted",
    TextStatus.FAILED: "guest_invitation_text_failed",
    TextStatus.OPTED_OUT: "guest_invitation_text_opted_out",
}
# A guest change: the new appointment and guest from the ones read, and the event (None: none).
GuestChange = Callable[[Appointment, Guest | None], tuple[Appointment, Guest, AuditEvent | None]]


@dataclass(frozen=True)
class GuestInvited:
    guest: Guest
    appointment: Appointment  # as stored, with the guest in `guests`
    mailed: bool | None  # whether SES took the invitation; None without an email


@dataclass(frozen=True)
class GuestRemoved:
    guest: Guest  # `removed`, with the seat it held
    appointment: Appointment  # as stored, without the guest


class GuestService:
    def __init__(
        self,
        appointments: AppointmentService,
        appointment_store: AppointmentStore,
        guest_store: GuestStore,
        audit_log: AuditLog,
        mailer: Mailer,
        texts: TextSender,
        links: LinkPolicy,
        notifier: AppointmentNotifier | None = None,
        removed_listener: GuestRemovedListener | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._appointments = appointments
        self._appointment_store = appointment_store
        self._guest_store = guest_store
        self._audit_log = audit_log
        self._mailer = mailer
        self._texts = texts
        self._links = links
        self._notifier = notifier or NoNotifier()
        self.removed_listener = removed_listener or NoGuestListener()
        self._clock = clock or appointments.now

    # -- the clinician -------------------------------------------------------------------

    def add(self, actor: Clinician, appointment_id: str, request: AddGuestCommand) -> GuestInvited:
        self._appointments.get(actor, appointment_id)  # 404 for another group's
        token = patient_links.random_token()
        guest_id = str(uuid.uuid4())

        def add(current: Appointment, _: Guest | None) -> tuple[Appointment, Guest, AuditEvent | None]:
            return rules.add_guest(
                current,
                request.guest,
                guest_id=guest_id,
                link_token_hash=patient_links.hash_token(token),
                actor=actor,
                at=self._clock(),
                grace=self._links.grace,
            )

        appointment, guest = self._write(appointment_id, None, add, new=True)
        logger().info("guest added", appointment_id=appointment_id, guest_id=guest.id, role=guest.role.value)
        mailed = self._invite(appointment, guest, token, actor)
        return GuestInvited(guest=guest, appointment=appointment, mailed=mailed)

    def guests(self, actor: Clinician, appointment_id: str) -> Sequence[Guest]:
        """Every guest of the appointment, removed ones too, oldest first."""
        appointment = self._appointments.get(actor, appointment_id)
        return self._guest_store.for_appointment(appointment.id)

    def remove(self, actor: Clinician, appointment_id: str, guest_id: str) -> GuestRemoved:
        """The guest removed (idempotent: a removed guest again, with no second event); the
        listener is told every time, so that a retry closes what an interrupted first call left."""
        self._appointments.get(actor, appointment_id)  # 404 for another group's

        def remove(current: Appointment, guest: Guest | None) -> tuple[Appointment, Guest, AuditEvent | None]:
            assert guest is not None
            return rules.remove_guest(current, guest, actor, self._clock())

        appointment, guest = self._write(appointment_id, guest_id, remove)
        self.removed_listener.guest_removed(appointment, guest)
        return GuestRemoved(guest=guest, appointment=appointment)

    # -- the guest's link ----------------------------------------------------------------

    def resolve_guest_link(self, token: str) -> tuple[Appointment, Guest]:
        """The appointment and guest a guest's link opens. NotFound (404) for a link that is no
        guest's; Gone (410) once the guest is removed, the appointment cancelled or completed,
        or past its window (`rules.check_link`)."""
        if not patient_links.looks_like_token(token):
            raise NotFound(_NO_LINK)
        guest = self._guest_store.by_link_hash(patient_links.hash_token(token))
        appointment = None if guest is None else self._appointment_store.get(guest.appointment_id)
        if guest is None or appointment is None:
            raise NotFound(_NO_LINK)
        rules.check_link(appointment, guest, self._clock(), self._links.grace)
        return appointment, guest

    def open_link(self, token: str) -> tuple[Appointment, Guest | None]:
        """What `GET /api/visit/{token}` opens: the patient's appointment (no guest), or a
        guest's appointment and guest; the patient's rules (`AppointmentService.visit`) first."""
        try:
            return self._appointments.visit(token), None
        except NotFound:
            return self.resolve_guest_link(token)

    def set_presence(self, appointment_id: str, guest_id: str, online: bool) -> tuple[Appointment, Guest]:
        """For the live side: the guest `online` while a page of theirs is connected, `invited`
        when the last one is gone (not audited). A removed guest stays removed."""

        def presence(
            current: Appointment, guest: Guest | None
        ) -> tuple[Appointment, Guest, AuditEvent | None]:
            assert guest is not None
            return (*rules.with_presence(current, guest, online), None)

        return self._write(appointment_id, guest_id, presence)

    # -- internals -----------------------------------------------------------------------

    def _known_guest(self, appointment_id: str, guest_id: str) -> Guest:
        guest = self._guest_store.get(appointment_id, guest_id)
        if guest is None:
            raise NotFound("No such guest.")
        return guest

    def _write(
        self, appointment_id: str, guest_id: str | None, change: GuestChange, new: bool = False
    ) -> tuple[Appointment, Guest]:
        """Applies `change` to a fresh read of the appointment (and guest) and stores both
        conditionally, retrying a lost race; nothing to do stores nothing."""
        for _ in range(WRITE_ATTEMPTS):
            current = self._appointment_store.get(appointment_id)
            if current is None:
                raise NotFound("No such appointment.")
            guest = None if guest_id is None else self._known_guest(appointment_id, guest_id)
            changed, after, audit = change(current, guest)
            if audit is None and (changed, after) == (current, guest):
                return current, after
            try:
                if new:
                    assert audit is not None  # an add is always audited
                    stored = self._guest_store.add(after, changed, current.version, audit)
                else:
                    stored = self._guest_store.save(after, changed, current.version, audit)
            except ConcurrentUpdate:
                continue
            self._notifier.appointment_changed(current, stored, audit)
            return stored, after
        raise Conflict("The appointment is being changed by someone else; try again.")

    def _invite(self, appointment: Appointment, guest: Guest, token: str, actor: Clinician) -> bool | None:
        """Mails (with an email) and texts (with a phone) the guest their link; audited."""
        # The patient's context (the clinic's name, the sender, the time) with the guest's link.
        context = replace(
            self._appointments.mail_context(appointment),
            visit_url=f"{self._links.base_url}/visit/{token}",
            guest=guest,
        )
        detail = {"guest_id": guest.id}
        mailed = None
        if guest.email:
            try:
                self._mailer.send(compose.guest_invitation(context))
                mailed = True
            except MailRejected as exc:
                logger().warning("guest invitation refused", appointment_id=appointment.id, reason=exc.reason)
                mailed = False
            action = "guest_invitation_sent" if mailed else "guest_invitation_failed"
            self._audit_log.append(appointment.audit_event(action, actor, self._clock(), detail=detail))
        if guest.phone:
            text = self._text(appointment, guest.phone, texts.guest_invitation(context))
            self._audit_log.append(
                appointment.audit_event(_GUEST_TEXT_ACTIONS[text], actor, self._clock(), detail=detail)
            )
        return mailed

    def _text(self, appointment: Appointment, phone: str, body: str) -> TextStatus:
        try:
            self._texts.send(phone, body)
        except OptedOut:
            logger().info("guest text not sent: the number opted out", appointment_id=appointment.id)
            return TextStatus.OPTED_OUT
        except TextRejected as exc:
            logger().warning("guest text refused", appointment_id=appointment.id, reason=exc.reason)
            return TextStatus.FAILED
        return TextStatus.SENT
