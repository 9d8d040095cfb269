"""The rules of a visit's guests: adding one, removing one, a guest's presence, and whether a
guest's link still opens the visit.

No I/O: each rule takes the appointment as read (and the guest), and returns the new
appointment (its `guests`), the new guest and the audit event, or raises the contract's error.
The store writes the appointment conditionally on the version read, with the guest and the
event in the same transaction, so two adds racing for the last seat cannot both win.
An audit event names the guest by id and role only: never their name, email or phone.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from chalicelib.domain.appointment import FINAL_STATES, Appointment, AuditEvent, Status
from chalicelib.domain.clinician import Clinician
from chalicelib.domain.guest import MAX_GUESTS, Guest, GuestRole, GuestStatus
from chalicelib.errors import Conflict, Gone, ValidationFailed
from eclinic_protocol.mlines import GUEST_SEATS


@dataclass(frozen=True)
class NewGuest:
    """Who the clinician invites; the edge has checked each field (`bodies.add_guest`)."""

    name: str
    role: GuestRole
    email: str | None = None
    phone: str | None = None  # E.164


def add_guest(
    appointment: Appointment,
    wanted: NewGuest,
    *,
    guest_id: str,
    link_token_hash: str,
    actor: Clinician,
    at: datetime,
    grace: timedelta,
) -> tuple[Appointment, Guest, AuditEvent]:
    """The appointment holding the new guest in the lowest free guest seat, the guest
    (`invited`) and `guest_added`. Raises Conflict when the appointment is over (completed,
    cancelled, or past its link's window) or both guest seats are held."""
    if not wanted.email and not wanted.phone:
        raise ValidationFailed("Give the guest's email address or phone number.", "email")
    if appointment.status in FINAL_STATES:
        raise Conflict(f"The appointment is {appointment.status.value}; no guest can be added.")
    if at > appointment.link_expires_at(grace):
        raise Conflict("The appointment is over; no guest can be added.")
    held = {g.seat for g in appointment.guests}
    free = [seat for seat in GUEST_SEATS if seat not in held]
    if not free:
        raise Conflict(f"At most {MAX_GUESTS} guests at a time; remove one first.")
    guest = Guest(
        id=guest_id,
        appointment_id=appointment.id,
        name=wanted.name,
        role=wanted.role,
        email=wanted.email,
        phone=wanted.phone,
        seat=free[0],
        status=GuestStatus.INVITED,
        link_token_hash=link_token_hash,
        invited_by=actor.id,
        created_at=at,
    )
    changed = replace(appointment, guests=(*appointment.guests, guest.summary()), updated_at=at)
    return changed, guest, appointment.audit_event("guest_added", actor, at, detail=_detail(guest))


def remove_guest(
    appointment: Appointment, guest: Guest, actor: Clinician, at: datetime
) -> tuple[Appointment, Guest, AuditEvent | None]:
    """The appointment without the guest, the guest `removed` (keeping the seat it held, so
    the live side knows which seat to close) and `guest_removed`. Removing a guest already
    removed is idempotent: the same appointment and guest, and no event."""
    if guest.removed:
        return appointment, guest, None
    removed = replace(guest, status=GuestStatus.REMOVED, removed_at=at)
    changed = replace(
        appointment, guests=tuple(g for g in appointment.guests if g.id != guest.id), updated_at=at
    )
    return changed, removed, appointment.audit_event("guest_removed", actor, at, detail=_detail(guest))


def with_presence(appointment: Appointment, guest: Guest, online: bool) -> tuple[Appointment, Guest]:
    """The guest `online` while a page of theirs is connected, else `invited` (not audited:
    the connects are). A removed guest stays removed."""
    if guest.removed:
        return appointment, guest
    status = GuestStatus.ONLINE if online else GuestStatus.INVITED
    changed = replace(guest, status=status)
    summaries = tuple(replace(g, status=status) if g.id == guest.id else g for g in appointment.guests)
    return replace(appointment, guests=summaries), changed


def check_link(appointment: Appointment, guest: Guest, now: datetime, grace: timedelta) -> None:
    """Raises Gone (410) when the guest's link no longer opens the visit: the guest was removed,
    the appointment was cancelled or completed, or it is past the window the patient's link
    has (`Appointment.link_expires_at` with the link grace)."""
    if guest.removed:
        raise Gone("You were removed from this appointment; this link no longer works.")
    if appointment.status is Status.CANCELLED:
        raise Gone("This appointment was cancelled.")
    if appointment.status is Status.COMPLETED:
        raise Gone("This appointment has ended; this link no longer works.")
    if now > appointment.link_expires_at(grace):
        raise Gone("This appointment is over and its link has expired.")


def _detail(guest: Guest) -> dict[str, str]:
    return {"guest_id": guest.id, "role": guest.role.value}
