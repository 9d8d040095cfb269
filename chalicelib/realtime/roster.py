"""Who is in a call: the channels that reach everyone in it, and the `participants` message
that tells each of them who else is there.

A call has up to four seats (eclinic_protocol.mlines.SEATS): the clinician who holds the
session, the patient, and two guests. "Present" means a live connection of that seat: the
clinician's tabs, the patient's, a guest's. The participants message goes to every present page
whenever that changes (a join, a leave, the session taken, mute or camera), so that each page
lays out its tiles and its m-line pairs by seat.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.appointment import Appointment, Status
from chalicelib.realtime.broadcast import Broadcaster
from chalicelib.realtime.connections import (
    Connection,
    ConnectionRegistry,
    Role,
    clinician_channel,
    guest_channel,
    patient_channel,
)
from eclinic_protocol import to_browser
from eclinic_protocol.mlines import CLINICIAN, GUEST_SEATS, PATIENT, SEATS


def seat_channel(appointment: Appointment, seat: str) -> str:
    """The channel of one seat's pages in the appointment's call."""
    if seat == CLINICIAN:
        return clinician_channel(appointment.taken_by_id or "")
    if seat == PATIENT:
        return patient_channel(appointment.id)
    return guest_channel(appointment.id, seat)


def session_channels(appointment: Appointment, but: str | None = None) -> list[str]:
    """The channels of every seat of the call, except the seat `but` (a sender's own)."""
    return [seat_channel(appointment, seat) for seat in SEATS if seat != but]


def link_holder_channels(appointment_id: str) -> list[str]:
    """The pages opened by the appointment's links: the patient's and the guests'."""
    return [patient_channel(appointment_id), *(guest_channel(appointment_id, s) for s in GUEST_SEATS)]


class Roster:
    """Tells everyone in a running call who is there."""

    def __init__(
        self,
        registry: ConnectionRegistry,
        broadcaster: Broadcaster,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._registry = registry
        self._broadcaster = broadcaster
        self._clock = clock

    def present(self, appointment: Appointment) -> list[dict[str, Any]]:
        """One entry per seat with a live page, in SEATS order."""
        now = self._clock()
        entries = []
        for seat in SEATS:
            if seat == CLINICIAN and not appointment.taken_by_id:
                continue
            # A seat's channel holds only that seat's pages (every tab of the clinician who
            # holds the session: the schedule opens the session in place); one still
            # connecting is joining.
            live = [c for c in self._registry.in_channel(seat_channel(appointment, seat)) if c.alive(now)]
            if live:
                entries.append(_entry(appointment, seat, max(live, key=lambda c: c.connected_at)))
        return entries

    def announce(self, appointment: Appointment) -> None:
        """The participants message to every page of the call, while the session runs."""
        if appointment.status is not Status.IN_SESSION:
            return
        message = to_browser.Participants(
            appointment_id=appointment.id, participants=self.present(appointment)
        )
        self._broadcaster.to_channels(session_channels(appointment), message.to_json())


def _entry(appointment: Appointment, seat: str, connection: Connection) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": connection.guest_id if connection.role is Role.GUEST else seat,
        "seat": seat,
        "role": connection.role.value,
        "name": appointment.patient_name if seat == PATIENT else connection.name,
        "audio": connection.audio,
        "video": connection.video,
    }
    if connection.role is Role.GUEST:
        entry["guest_role"] = connection.guest_role
    return entry
