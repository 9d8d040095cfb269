"""What the appointment use cases tell the rest of the system after a stored change, and the
shape of a change itself. The adapters (live fan-out, the media workers) implement these."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from chalicelib.domain.appointment import Appointment, AuditEvent
from chalicelib.domain.guest import Guest

# A change returns the new appointment and its audit event, or the same appointment and None
# when there is nothing to do (for example a second tab of a patient who is already waiting).
Change = Callable[[Appointment], tuple[Appointment, AuditEvent | None]]


class AppointmentNotifier(Protocol):
    """Told after every stored change, to push it live (websocket fan-out)."""

    def appointment_changed(
        self, before: Appointment, after: Appointment, audit: AuditEvent | None
    ) -> None: ...


class NoNotifier:
    def appointment_changed(self, before: Appointment, after: Appointment, audit: AuditEvent | None) -> None:
        return None


class CallEnder(Protocol):
    """Told after a move that may end a session (complete), to let its media worker go."""

    def end_call(self, before: Appointment, after: Appointment) -> None: ...


class NoCalls:
    def end_call(self, before: Appointment, after: Appointment) -> None:
        return None


class GuestRemovedListener(Protocol):
    """Told after a guest's removal is stored (`GuestService.remove`), to end them live: close
    that guest's connections and tell the media worker to drop `guest.seat`. `appointment` is
    as stored (without the guest); `guest` is `removed` and keeps the seat it held. Told again
    when a removed guest is removed again, so it must be idempotent."""

    def guest_removed(self, appointment: Appointment, guest: Guest) -> None: ...


class NoGuestListener:
    def guest_removed(self, appointment: Appointment, guest: Guest) -> None:
        return None
