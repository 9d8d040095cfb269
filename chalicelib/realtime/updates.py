"""Turns stored appointment changes into pushes: the row for every clinician of the group,
and for the patient the words that say what just happened."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from chalicelib import metrics, representations
from chalicelib.domain.appointment import Appointment, AuditEvent, Move, Status
from chalicelib.domain.timeutil import iso_utc
from chalicelib.realtime.broadcast import Broadcaster
from chalicelib.realtime.connections import (
    ConnectionRegistry,
    group_channel,
    patient_channel,
    worker_connection,
)

PATIENT_WORDS = {
    Status.SCHEDULED: "Your appointment is booked. Open this page again shortly before it starts.",
    Status.WAITING: "You are in the waiting room. The clinician will be with you shortly.",
    Status.IN_SESSION: "Your clinician has joined.",
    Status.COMPLETED: "This appointment has ended. You can close this window.",
    Status.CANCELLED: "This appointment has been cancelled. Please contact your practice for a new one.",
}
DASHBOARD_COUNTS = {Move.PATIENT_ONLINE.value: "PatientsOnline", Move.TAKE.value: "SessionsStarted"}
STEPPED_OUT = "Your clinician has stepped out and will be back with you shortly. Please stay on this page."
SESSION_ENDED = "The clinician has ended the session. Thank you, you can close this window now."


def status_message(appointment: Appointment, audit: AuditEvent | None = None) -> dict[str, Any]:
    words = PATIENT_WORDS[appointment.status]
    if audit is not None and audit.action == Move.EXIT.value:
        words = STEPPED_OUT
    message: dict[str, Any] = {"type": "status", "status": appointment.status.value, "message": words}
    if appointment.waiting_since is not None:
        # Beyond API.md: since when the patient waits, for the waiting room's "You have waited ...".
        message["waiting_since"] = iso_utc(appointment.waiting_since)
    return message


class LiveUpdates:
    def __init__(
        self,
        broadcaster: Broadcaster,
        registry: ConnectionRegistry,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._broadcaster = broadcaster
        self._registry = registry
        self._clock = clock

    def appointment_changed(self, before: Appointment, after: Appointment, audit: AuditEvent | None) -> None:
        appointment = after
        if before.media_worker_id and before.media_worker_id != after.media_worker_id:
            self._end_call(before.media_worker_id, after.id)
        self._broadcaster.to_channels(
            [group_channel(appointment.group)],
            {"type": "appointment", "appointment": representations.appointment(appointment)},
        )
        if audit is None or audit.from_status is audit.to_status:
            return
        if audit.action in DASHBOARD_COUNTS:
            metrics.count(DASHBOARD_COUNTS[audit.action])
        patients = self._registry.in_channel(patient_channel(appointment.id))
        if not patients:
            return
        if appointment.status is Status.CANCELLED:
            self._broadcaster.to_connections(
                patients, {"type": "cancelled", "message": PATIENT_WORDS[Status.CANCELLED]}
            )
            self._broadcaster.close(patients)
        elif audit.action == Move.LEAVE.value:
            self._broadcaster.to_connections(patients, {"type": "session_ended", "message": SESSION_ENDED})
        else:
            self._broadcaster.to_connections(patients, status_message(appointment, audit))

    def _end_call(self, worker_id: str, appointment_id: str) -> None:
        """The old worker lets go of the visit (session over, or moved to another worker)."""
        worker = worker_connection(self._registry, worker_id, self._clock())
        if worker is not None:
            self._broadcaster.to_connection(worker.id, {"type": "end", "appointment_id": appointment_id})
