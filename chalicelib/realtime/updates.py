"""Turns stored appointment changes into pushes: the row for every clinician of the group,
for the patient and the guests (whose pages are the patient's page) the words that say what
just happened (`patient_wording`), and who is in the call once the session is taken."""

from __future__ import annotations

from typing import Any

from chalicelib import metrics, representations
from chalicelib.domain.appointment import Appointment, AuditEvent, Move, Status
from chalicelib.domain.patient_wording import (
    GUEST_STEPPED_OUT,
    GUEST_WORDS,
    PATIENT_WORDS,
    SESSION_ENDED,
    STEPPED_OUT,
)
from chalicelib.domain.timeutil import iso_utc
from chalicelib.realtime.broadcast import Broadcaster
from chalicelib.realtime.connections import Connection, ConnectionRegistry, Role, group_channel, subscribers
from chalicelib.realtime.roster import Roster, link_holder_channels
from eclinic_protocol import to_browser

DASHBOARD_COUNTS = {Move.PATIENT_ONLINE.value: "PatientsOnline", Move.TAKE.value: "SessionsStarted"}


def status_message(
    appointment: Appointment, audit: AuditEvent | None = None, guest: bool = False
) -> dict[str, Any]:
    """The `status` push to the patient's pages, or (`guest`) in a guest's words."""
    words = (GUEST_WORDS if guest else PATIENT_WORDS)[appointment.status]
    if audit is not None and audit.action == Move.EXIT.value:
        words = GUEST_STEPPED_OUT if guest else STEPPED_OUT
    # Beyond API.md: since when the patient waits, for the waiting room's "You have waited ...".
    since = iso_utc(appointment.waiting_since) if appointment.waiting_since is not None else None
    return to_browser.Status(status=appointment.status.value, message=words, waiting_since=since).to_json()


class LiveUpdates:
    """The appointment notifier: every stored change pushed to whoever watches it live."""

    def __init__(
        self, broadcaster: Broadcaster, registry: ConnectionRegistry, roster: Roster | None = None
    ) -> None:
        self._broadcaster = broadcaster
        self._registry = registry
        self._roster = roster or Roster(registry, broadcaster)

    def appointment_changed(self, before: Appointment, after: Appointment, audit: AuditEvent | None) -> None:
        appointment = after
        self._broadcaster.to_channels(
            [group_channel(appointment.group)],
            to_browser.AppointmentChanged(appointment=representations.appointment(appointment)).to_json(),
        )
        if audit is None or audit.from_status is audit.to_status:
            return
        if audit.action in DASHBOARD_COUNTS:
            metrics.count(DASHBOARD_COUNTS[audit.action])
        if audit.action == Move.TAKE.value:
            self._roster.announce(appointment)
        holders = subscribers(self._registry, link_holder_channels(appointment.id))
        for guest in (False, True):
            pages = [c for c in holders if (c.role is Role.GUEST) == guest]
            if pages:
                self._tell_link_holders(pages, appointment, audit, guest)

    def _tell_link_holders(
        self, pages: list[Connection], appointment: Appointment, audit: AuditEvent, guest: bool
    ) -> None:
        if appointment.status is Status.CANCELLED:
            words = (GUEST_WORDS if guest else PATIENT_WORDS)[Status.CANCELLED]
            self._broadcaster.to_connections(pages, to_browser.Cancelled(message=words).to_json())
            self._broadcaster.close(pages)
        elif audit.action == Move.LEAVE.value:
            self._broadcaster.to_connections(pages, to_browser.SessionEnded(message=SESSION_ENDED).to_json())
        else:
            self._broadcaster.to_connections(pages, status_message(appointment, audit, guest))
