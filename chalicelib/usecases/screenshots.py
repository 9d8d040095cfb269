"""Screenshots of the patient's camera: the clinician's request, the patient's consent, the
worker's picture (or its failure), and the stored pictures with their short-lived links."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from chalicelib import paging, representations
from chalicelib.domain.appointment import Appointment, AuditEvent
from chalicelib.domain.clinician import Clinician
from chalicelib.domain.screenshot import Screenshot, ScreenshotStatus
from chalicelib.domain.timeutil import iso_utc_precise
from chalicelib.errors import Conflict, NotFound, ServiceUnavailable
from chalicelib.files.storage import FileStore
from chalicelib.realtime.broadcast import Broadcaster
from chalicelib.realtime.connections import Connection, clinician_channel, patient_channel
from chalicelib.store.ports import AppointmentStore, AuditLog, ConcurrentUpdate, ScreenshotStore
from chalicelib.usecases.appointments import AppointmentService
from chalicelib.usecases.media_workers import MediaWorkers
from chalicelib.usecases.participants import clinician_of, running_session
from chalicelib.usecases.signalling import Signalling
from eclinic_protocol import from_browser, from_worker, to_browser, to_worker

Reply = dict[str, Any]


class Screenshots:
    """A screenshot is taken only after the patient has approved that one request (DESIGN.md):
    this service carries a request from the clinician to the patient, the consent to the
    worker, and the picture back, auditing each step and storing the file privately."""

    def __init__(
        self,
        appointments: AppointmentService,
        appointment_store: AppointmentStore,
        audit_log: AuditLog,
        screenshot_store: ScreenshotStore,
        broadcaster: Broadcaster,
        files: FileStore,
        workers: MediaWorkers,
        signalling: Signalling,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._appointments = appointments
        self._appointment_store = appointment_store
        self._audit_log = audit_log
        self._screenshot_store = screenshot_store
        self._broadcaster = broadcaster
        self._files = files
        self._workers = workers
        self._signalling = signalling
        self._clock = clock or appointments.now

    # -- clinician and patient -------------------------------------------------------------

    def screenshot_request(
        self, connection: Connection, message: from_browser.ScreenshotRequest
    ) -> list[Reply]:
        appointment = running_session(
            self._appointments, self._appointment_store, connection, message.appointment_id
        )
        now = self._clock()
        shot = Screenshot(
            id=str(uuid.uuid4()),
            appointment_id=appointment.id,
            requested_by=clinician_of(connection).id,
            requested_at=now,
        )
        self._screenshot_store.add(
            shot, appointment.audit_event("screenshot_requested", clinician_of(connection), now)
        )
        self._broadcaster.to_channels(
            [patient_channel(shot.appointment_id)],
            to_browser.ScreenshotRequest(appointment_id=shot.appointment_id, request_id=shot.id).to_json(),
        )
        return [
            to_browser.ScreenshotRequested(appointment_id=shot.appointment_id, request_id=shot.id).to_json()
        ]

    def screenshot_consent(
        self, connection: Connection, message: from_browser.ScreenshotConsent
    ) -> list[Reply]:
        appointment = running_session(
            self._appointments, self._appointment_store, connection, message.appointment_id
        )
        granted = message.granted
        shot = self._screenshot(appointment.id, message.request_id)
        now = self._clock()
        decided = shot.decide(granted, now)
        action = "screenshot_allowed" if granted else "screenshot_denied"
        self._save_screenshot(
            decided, ScreenshotStatus.REQUESTED, appointment.audit_event(action, "patient", now)
        )
        if not granted:
            self._broadcaster.to_channels(
                [clinician_channel(appointment.taken_by_id or "")],
                to_browser.ScreenshotDenied(request_id=shot.id).to_json(),
            )
            return []
        try:
            worker = self._signalling.worker_for(appointment)
        except ServiceUnavailable:
            self._fail_screenshot(decided, appointment, "The video connection is not running.")
            return []
        assert decided.consent_until is not None  # granted
        capture = to_worker.Capture(
            appointment_id=decided.appointment_id,
            request_id=decided.id,
            key=decided.storage_key(),
            not_after=representations.instant(decided.consent_until),
        )
        self._broadcaster.to_connection(worker.id, capture.to_json())
        return []

    # -- worker results --------------------------------------------------------------------

    def captured(self, connection: Connection, message: from_worker.Captured) -> list[Reply]:
        appointment = self._workers.visit_of(connection, message.appointment_id)
        shot = self._screenshot(appointment.id, message.request_id)
        width, height = message.width, message.height
        if shot.status is not ScreenshotStatus.GRANTED:
            raise Conflict("This screenshot is not waiting for a picture.")
        now = self._clock()
        try:
            stored = shot.stored(shot.storage_key(), width, height, now)
        except Conflict:
            # The worker has already put the picture: the patient's consent does not cover it.
            self._files.delete(shot.storage_key())
            self._audit_log.append(appointment.audit_event("screenshot_deleted", "system", now))
            self._fail_screenshot(
                shot, appointment, "The patient's consent expired before the picture was taken."
            )
            return []
        self._save_screenshot(
            stored, ScreenshotStatus.GRANTED, appointment.audit_event("screenshot_stored", "system", now)
        )
        self._broadcaster.to_channels(
            [clinician_channel(appointment.taken_by_id or "")],
            to_browser.ScreenshotReady(
                request_id=stored.id, screenshot=self.screenshot_json(stored)
            ).to_json(),
        )
        return []

    def capture_failed(self, connection: Connection, message: from_worker.CaptureFailed) -> list[Reply]:
        appointment = self._workers.visit_of(connection, message.appointment_id)
        shot = self._screenshot(appointment.id, message.request_id)
        self._fail_screenshot(shot, appointment, "No picture could be taken from the patient's camera.")
        return []

    # -- REST ------------------------------------------------------------------------------

    def screenshots(
        self, actor: Clinician, appointment_id: str, query: Mapping[str, str] | None = None
    ) -> tuple[list[dict[str, Any]], dict[str, str]]:
        """One page of the stored screenshots, oldest first, and the answer's `next`."""
        appointment = self._appointments.get(actor, appointment_id)
        wanted = paging.request(query, appointment.id)
        stored = [
            s
            for s in self._screenshot_store.for_appointment(appointment.id)
            if s.status is ScreenshotStatus.STORED
        ]
        page = paging.cut(stored, _screenshot_position, wanted.limit, wanted.after)
        return [self.screenshot_json(s) for s in page.items], paging.next_cursor(page, appointment.id)

    def screenshot_json(self, shot: Screenshot) -> dict[str, Any]:
        assert shot.key and shot.filename and shot.taken_at
        return {
            "id": shot.id,
            "taken_at": representations.instant(shot.taken_at),
            "filename": shot.filename,
            "url": self._files.link(shot.key, shot.filename),
            "width": shot.width,
            "height": shot.height,
        }

    # -- internals -------------------------------------------------------------------------

    def _screenshot(self, appointment_id: str, request_id: str) -> Screenshot:
        shot = self._screenshot_store.get(appointment_id, request_id)
        if shot is None:
            raise NotFound("No such screenshot request.")
        return shot

    def _save_screenshot(self, shot: Screenshot, expected: ScreenshotStatus, audit: AuditEvent) -> None:
        try:
            self._screenshot_store.save(shot, expected, audit)
        except ConcurrentUpdate as exc:
            raise Conflict("This screenshot request has already been answered.") from exc

    def _fail_screenshot(self, shot: Screenshot, appointment: Appointment, reason: str) -> None:
        if shot.status is ScreenshotStatus.GRANTED:
            now = self._clock()
            try:
                self._screenshot_store.save(
                    shot.failed(),
                    ScreenshotStatus.GRANTED,
                    appointment.audit_event("screenshot_failed", "system", now),
                )
            except ConcurrentUpdate:
                return
        self._broadcaster.to_channels(
            [clinician_channel(appointment.taken_by_id or "")],
            to_browser.ScreenshotFailed(request_id=shot.id, message=reason).to_json(),
        )


def _screenshot_position(shot: Screenshot) -> str:
    return f"{iso_utc_precise(shot.requested_at)}#{shot.id}"
