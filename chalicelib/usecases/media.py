"""The video call: assigning a media worker, routing signalling between the browsers and the
worker, screenshots with the patient's consent, and written information.

Lambda never waits for the worker: an offer goes browser -> here -> worker, and the worker's
answer comes back later as a message of its own, which is routed to the browser that offered.
"""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from chalicelib import metrics, paging, representations
from chalicelib.auth.turn_credentials import TurnCredentials
from chalicelib.domain.appointment import Appointment, AuditEvent, Status
from chalicelib.domain.clinician import Clinician
from chalicelib.domain.document import Document, new_document
from chalicelib.domain.screenshot import Screenshot, ScreenshotStatus
from chalicelib.domain.timeutil import iso_utc_precise
from chalicelib.errors import Conflict, NotFound, ServiceUnavailable, ValidationFailed
from chalicelib.files.storage import FileStore
from chalicelib.logs import logger
from chalicelib.realtime import messages
from chalicelib.realtime.broadcast import Broadcaster
from chalicelib.realtime.connections import (
    Connection,
    ConnectionRegistry,
    Role,
    clinician_channel,
    live_workers,
    patient_channel,
    worker_connection,
)
from chalicelib.store.repository import AppointmentRepository, ConcurrentUpdate
from chalicelib.usecases.appointments import AppointmentService
from chalicelib.usecases.participants import clinician_of, running_session

Reply = dict[str, Any]
SDP_MAX = 24 * 1024


QUALITY_LEVELS = ("good", "fair", "poor")
# Beyond API.md: why a page sends no video, so the other side can say so ("camera paused" for a
# phone whose page went to the background).
VIDEO_OFF_REASONS = ("camera_off", "audio_only", "background")


@dataclass(frozen=True)
class Participant:
    """The sender of a signalling message, checked to belong to the appointment's session."""

    connection: Connection
    appointment: Appointment
    role: Role


class MediaService:
    def __init__(
        self,
        appointments: AppointmentService,
        repository: AppointmentRepository,
        registry: ConnectionRegistry,
        broadcaster: Broadcaster,
        files: FileStore,
        worker_secret: str,
        ice_servers: Sequence[Mapping[str, object]],
        turn: TurnCredentials | None = None,
        clock: Callable[[], datetime] | None = None,
        ice_transport_policy: str = "all",
    ) -> None:
        self._appointments = appointments
        self._repo = repository
        self._registry = registry
        self._broadcaster = broadcaster
        self._files = files
        self._worker_secret = worker_secret
        self._ice_servers = [dict(s) for s in ice_servers]
        self._turn = turn
        self._ice_transport_policy = ice_transport_policy
        self._clock = clock or appointments.now

    # -- workers ---------------------------------------------------------------------------

    def is_worker_credential(self, offered: str) -> bool:
        return bool(self._worker_secret) and hmac.compare_digest(
            offered.encode(), self._worker_secret.encode()
        )

    def worker_hello(self, connection: Connection, incoming: messages.Incoming) -> list[Reply]:
        worker_id = incoming.text("worker_id")
        if len(worker_id) > 100:
            raise ValidationFailed("`worker_id` is too long.", "worker_id")
        updated = replace(connection, subject=worker_id, **_worker_figures(incoming), last_seen=self._clock())
        self._registry.update(updated)
        logger().info("media worker registered", worker_id=worker_id, capacity=updated.capacity)
        return [{"type": "worker_welcome", "worker_id": worker_id}]

    def worker_status(self, connection: Connection, incoming: messages.Incoming) -> list[Reply]:
        updated = replace(connection, **_worker_figures(incoming), last_seen=self._clock())
        self._registry.update(updated)
        if updated.draining and not connection.draining:
            self._move_visits_off(updated)
        return []

    def _move_visits_off(self, worker: Connection) -> None:
        """A draining worker's visits go to another worker; both browsers renegotiate."""
        for appointment_id in self._repo.appointments_on_worker(worker.subject):
            appointment = self._repo.get(appointment_id)
            if appointment is None or appointment.status is not Status.IN_SESSION:
                continue
            try:
                moved = self._assign(appointment, exclude=worker.subject)
            except ServiceUnavailable:
                self._tell_both(
                    appointment,
                    {
                        "type": "call_failed",
                        "appointment_id": appointment_id,
                        "message": "The video connection was lost. Press the phone to try again.",
                    },
                )
                continue
            self._send_call(moved, reconnect=True)

    def _assign(self, appointment: Appointment, exclude: str | None = None) -> Appointment:
        """The appointment with a live worker: its own if still live, else the least loaded."""
        now = self._clock()
        workers = [w for w in live_workers(self._registry, now) if w.subject != exclude]
        if appointment.media_worker_id and any(
            w.subject == appointment.media_worker_id and not w.draining for w in workers
        ):
            return appointment
        free = [w for w in workers if not w.draining and w.capacity > w.load]
        if not free:
            metrics.count("CallSetupFailures")
            raise ServiceUnavailable("No video server is free right now. Please try again in a minute.")
        chosen = max(free, key=lambda w: (w.free_share(), -w.load))
        # Count the visit now, so that calls arriving before the worker's next report spread out.
        self._registry.update(replace(chosen, load=chosen.load + 1))

        def assign(current: Appointment) -> tuple[Appointment, AuditEvent | None]:
            if current.status is not Status.IN_SESSION:
                raise Conflict("The session is not running.")
            if current.media_worker_id == chosen.subject:
                return current, None
            return replace(current, media_worker_id=chosen.subject, updated_at=now), current.record(
                "call_assigned", "system", now
            )

        return self._appointments.mutate(appointment.id, assign)

    # -- clinician and patient -------------------------------------------------------------

    def call(self, connection: Connection, incoming: messages.Incoming) -> list[Reply]:
        participant = self._participant(connection, incoming.appointment_id())
        if participant.role is Role.PATIENT:
            # A patient's page that reloaded mid-session asks to rejoin a running call; only it
            # renegotiates. Before the clinician has called there is nothing to join yet.
            if not participant.appointment.media_worker_id:
                return []
            return [self._call_message(self._assign(participant.appointment), reconnect=True)]
        self._send_call(self._assign(participant.appointment), reconnect=False)
        return []

    def offer(self, connection: Connection, incoming: messages.Incoming) -> list[Reply]:
        return self._to_worker(connection, incoming, sdp=_sdp(incoming))

    def candidate(self, connection: Connection, incoming: messages.Incoming) -> list[Reply]:
        candidate = incoming.body.get("candidate")
        if candidate is not None and not isinstance(candidate, dict | str):
            raise ValidationFailed("`candidate` must be an ICE candidate object.", "candidate")
        return self._to_worker(connection, incoming, candidate=candidate)

    def _to_worker(self, connection: Connection, incoming: messages.Incoming, **payload: Any) -> list[Reply]:
        """Forwards a browser's signalling to its visit's worker, naming the browser's peer."""
        participant = self._participant(connection, incoming.appointment_id())
        worker = self._worker_for(participant.appointment)
        self._broadcaster.to_connection(
            worker.id,
            {
                "type": incoming.type,
                "appointment_id": participant.appointment.id,
                "role": participant.role.value,
                "from": connection.id,
                "peer_id": _peer_id(incoming),
                **payload,
            },
        )
        return []

    def quality(self, connection: Connection, incoming: messages.Incoming) -> list[Reply]:
        """A page's own view of its line, to the other side. Beyond API.md, `connected: false`
        says that the page's video connection failed altogether (a network that blocks it)."""
        participant = self._participant(connection, incoming.appointment_id())
        level = incoming.body.get("level")
        if level not in QUALITY_LEVELS:
            raise ValidationFailed("`level` must be good, fair or poor.", "level")
        report: Reply = {"type": "quality", "appointment_id": participant.appointment.id, "level": level}
        for field, upper in (("rtt_ms", 600_000), ("loss", 1)):
            value = incoming.body.get(field)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= upper:
                raise ValidationFailed(f"`{field}` must be a number from 0 to {upper}.", field)
            report[field] = value
        connected = incoming.body.get("connected", True)
        if not isinstance(connected, bool):
            raise ValidationFailed("`connected` must be true or false.", "connected")
        report["connected"] = connected
        report["from"] = participant.role.value
        self._broadcaster.to_channels([self._other_side(participant)], report)
        return []

    def media_state(self, connection: Connection, incoming: messages.Incoming) -> list[Reply]:
        """Mute and camera state to the other side; beyond API.md, `video_off` says why."""
        participant = self._participant(connection, incoming.appointment_id())
        state: Reply = {"type": "media_state", "appointment_id": participant.appointment.id}
        for field in ("audio", "video", "screen"):
            value = incoming.body.get(field)
            if field in incoming.body and not isinstance(value, bool):
                raise ValidationFailed(f"`{field}` must be true or false.", field)
            if isinstance(value, bool):
                state[field] = value
        if "video_off" in incoming.body:
            reason = incoming.body["video_off"]
            if reason not in VIDEO_OFF_REASONS:
                raise ValidationFailed(
                    "`video_off` must be camera_off, audio_only or background.", "video_off"
                )
            state["video_off"] = reason
        state["from"] = participant.role.value
        self._broadcaster.to_channels([self._other_side(participant)], state)
        return []

    def screenshot_request(self, connection: Connection, incoming: messages.Incoming) -> list[Reply]:
        participant = self._participant(connection, incoming.appointment_id())
        now = self._clock()
        shot = Screenshot(
            id=str(uuid.uuid4()),
            appointment_id=participant.appointment.id,
            requested_by=connection.subject,
            requested_at=now,
        )
        self._repo.add_screenshot(
            shot, participant.appointment.record("screenshot_requested", clinician_of(connection), now)
        )
        self._broadcaster.to_channels(
            [patient_channel(shot.appointment_id)],
            {"type": "screenshot_request", "appointment_id": shot.appointment_id, "request_id": shot.id},
        )
        return [
            {"type": "screenshot_requested", "appointment_id": shot.appointment_id, "request_id": shot.id}
        ]

    def screenshot_consent(self, connection: Connection, incoming: messages.Incoming) -> list[Reply]:
        participant = self._participant(connection, incoming.appointment_id())
        granted = incoming.body.get("granted")
        if not isinstance(granted, bool):
            raise ValidationFailed("`granted` must be true or false.", "granted")
        shot = self._screenshot(participant.appointment.id, incoming.text("request_id"))
        now = self._clock()
        decided = shot.decide(granted, now)
        action = "screenshot_allowed" if granted else "screenshot_denied"
        self._save_screenshot(
            decided, ScreenshotStatus.REQUESTED, participant.appointment.record(action, "patient", now)
        )
        clinicians = clinician_channel(participant.appointment.taken_by_id or "")
        if not granted:
            self._broadcaster.to_channels([clinicians], {"type": "screenshot_denied", "request_id": shot.id})
            return []
        try:
            worker = self._worker_for(participant.appointment)
        except ServiceUnavailable:
            self._fail_screenshot(decided, participant.appointment, "The video connection is not running.")
            return []
        self._broadcaster.to_connection(
            worker.id,
            {
                "type": "capture",
                "appointment_id": decided.appointment_id,
                "request_id": decided.id,
                "key": decided.storage_key(),
                "not_after": representations.instant(decided.consent_until),
            },
        )
        return []

    # -- worker results --------------------------------------------------------------------

    def answer(self, connection: Connection, incoming: messages.Incoming) -> list[Reply]:
        appointment = self._worker_visit(connection, incoming.appointment_id())
        target = self._registry.get(incoming.text("to"))
        if target is None or not _in_session_of(target, appointment):
            return []  # that browser has gone or moved on; it will offer again
        self._broadcaster.to_connection(
            target.id, {"type": "answer", "appointment_id": appointment.id, "sdp": _sdp(incoming)}
        )
        return []

    def captured(self, connection: Connection, incoming: messages.Incoming) -> list[Reply]:
        appointment = self._worker_visit(connection, incoming.appointment_id())
        shot = self._screenshot(appointment.id, incoming.text("request_id"))
        width, height = incoming.body.get("width"), incoming.body.get("height")
        if not isinstance(width, int) or not isinstance(height, int) or width <= 0 or height <= 0:
            raise ValidationFailed("`width` and `height` must be positive whole numbers.", "width")
        if shot.status is not ScreenshotStatus.GRANTED:
            raise Conflict("This screenshot is not waiting for a picture.")
        now = self._clock()
        try:
            stored = shot.stored(shot.storage_key(), width, height, now)
        except Conflict:
            # The worker has already put the picture: the patient's consent does not cover it.
            self._files.delete(shot.storage_key())
            self._repo.record(appointment.record("screenshot_deleted", "system", now))
            self._fail_screenshot(
                shot, appointment, "The patient's consent expired before the picture was taken."
            )
            return []
        self._save_screenshot(
            stored, ScreenshotStatus.GRANTED, appointment.record("screenshot_stored", "system", now)
        )
        self._broadcaster.to_channels(
            [clinician_channel(appointment.taken_by_id or "")],
            {"type": "screenshot_ready", "request_id": stored.id, "screenshot": self.screenshot_json(stored)},
        )
        return []

    def renegotiate(self, connection: Connection, incoming: messages.Incoming) -> list[Reply]:
        """The worker asks one side to offer again (so that both legs share a codec): that side
        gets `call` as after a worker move, and its page makes a new peer connection."""
        appointment = self._worker_visit(connection, incoming.appointment_id())
        role = incoming.text("role")
        if role == Role.PATIENT.value:
            channel = patient_channel(appointment.id)
        elif role == Role.CLINICIAN.value:
            channel = clinician_channel(appointment.taken_by_id or "")
        else:
            raise ValidationFailed("`role` must be patient or clinician.", "role")
        self._broadcaster.to_channels([channel], self._call_message(appointment, reconnect=True))
        return []

    def capture_failed(self, connection: Connection, incoming: messages.Incoming) -> list[Reply]:
        appointment = self._worker_visit(connection, incoming.appointment_id())
        shot = self._screenshot(appointment.id, incoming.text("request_id"))
        self._fail_screenshot(shot, appointment, "No picture could be taken from the patient's camera.")
        return []

    # -- REST ------------------------------------------------------------------------------

    def screenshots(
        self, actor: Clinician, appointment_id: str, query: Mapping[str, str] | None = None
    ) -> tuple[list[dict[str, Any]], dict[str, str]]:
        """One page of the stored screenshots, oldest first, and the answer's `next`."""
        appointment = self._appointments.get(actor, appointment_id)
        wanted = paging.request(query, appointment.id)
        stored = [s for s in self._repo.screenshots(appointment.id) if s.status is ScreenshotStatus.STORED]
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

    def send_document(self, actor: Clinician, appointment_id: str, body: Any) -> dict[str, Any]:
        appointment = self._appointments.get(actor, appointment_id)
        if appointment.status is Status.CANCELLED:
            raise Conflict("The appointment is cancelled; nothing can be sent to the patient.")
        request = new_document(body)
        now = self._clock()
        document = Document(
            id=str(uuid.uuid4()),
            appointment_id=appointment.id,
            title=request.title,
            filename=request.filename,
            content_type=request.content_type,
            size=len(request.content),
            created_by=actor.email,
            created_at=now,
        )
        self._files.put(document.storage_key(), request.content, request.content_type)
        self._repo.add_document(document, appointment.record("document_sent", actor, now))
        shown = self.document_json(document)
        self._broadcaster.to_channels(
            [patient_channel(appointment.id)], {"type": "document", "document": shown}
        )
        return shown

    def document_json(self, document: Document) -> dict[str, Any]:
        return {
            "id": document.id,
            "title": document.title,
            "filename": document.filename,
            "url": self._files.link(document.storage_key(), document.filename),
        }

    def patient_documents(self, appointment: Appointment) -> list[dict[str, Any]]:
        return [self.document_json(d) for d in self._repo.documents(appointment.id)]

    def patient_documents_page(
        self, appointment: Appointment, query: Mapping[str, str] | None
    ) -> tuple[list[dict[str, Any]], dict[str, str]]:
        """One page of the patient's documents, oldest first, and the answer's `next`."""
        wanted = paging.request(query, appointment.id)
        page = self._repo.documents_page(appointment.id, wanted.limit, wanted.after)
        return [self.document_json(d) for d in page.items], paging.next_cursor(page, appointment.id)

    def patient_document_link(self, appointment: Appointment, document_id: str) -> str:
        for document in self._repo.documents(appointment.id):
            if document.id == document_id:
                return self._files.link(document.storage_key(), document.filename)
        raise NotFound("No such document.")

    # -- internals -------------------------------------------------------------------------

    def _participant(self, connection: Connection, appointment_id: str) -> Participant:
        appointment = running_session(self._appointments, self._repo, connection, appointment_id)
        return Participant(connection, appointment, connection.role)

    def _worker_for(self, appointment: Appointment) -> Connection:
        if appointment.media_worker_id:
            worker = worker_connection(self._registry, appointment.media_worker_id, self._clock())
            if worker is not None:
                return worker
        moved = self._assign(appointment)
        self._send_call(moved, reconnect=True)
        assert moved.media_worker_id
        worker = worker_connection(self._registry, moved.media_worker_id, self._clock())
        if worker is None:
            raise ServiceUnavailable("No video server is free right now. Please try again in a minute.")
        return worker

    def _worker_visit(self, connection: Connection, appointment_id: str) -> Appointment:
        appointment = self._repo.get(appointment_id)
        if appointment is None or appointment.media_worker_id != connection.subject:
            raise NotFound("That visit is not assigned to this worker.")
        return appointment

    def _screenshot(self, appointment_id: str, request_id: str) -> Screenshot:
        shot = self._repo.get_screenshot(appointment_id, request_id)
        if shot is None:
            raise NotFound("No such screenshot request.")
        return shot

    def _save_screenshot(self, shot: Screenshot, expected: ScreenshotStatus, audit: AuditEvent) -> None:
        try:
            self._repo.save_screenshot(shot, expected, audit)
        except ConcurrentUpdate as exc:
            raise Conflict("This screenshot request has already been answered.") from exc

    def _fail_screenshot(self, shot: Screenshot, appointment: Appointment, reason: str) -> None:
        if shot.status is ScreenshotStatus.GRANTED:
            now = self._clock()
            try:
                self._repo.save_screenshot(
                    shot.failed(),
                    ScreenshotStatus.GRANTED,
                    appointment.record("screenshot_failed", "system", now),
                )
            except ConcurrentUpdate:
                return
        self._broadcaster.to_channels(
            [clinician_channel(appointment.taken_by_id or "")],
            {"type": "screenshot_failed", "request_id": shot.id, "message": reason},
        )

    def _other_side(self, participant: Participant) -> str:
        if participant.role is Role.CLINICIAN:
            return patient_channel(participant.appointment.id)
        return clinician_channel(participant.appointment.taken_by_id or "")

    def _call_message(self, appointment: Appointment, reconnect: bool) -> Reply:
        return {
            "type": "call",
            "appointment_id": appointment.id,
            "ice_servers": self._ice_servers_for(appointment),
            "ice_transport_policy": self._ice_transport_policy,
            "reconnect": reconnect,
        }

    def _ice_servers_for(self, appointment: Appointment) -> list[dict[str, object]]:
        """The configured STUN servers, and TURN with credentials of this call's own, valid
        while the patient's link is (the appointment's end and its grace)."""
        if self._turn is None:
            return self._ice_servers
        window_ends = appointment.link_expires_at(self._appointments.link_grace)
        return [*self._ice_servers, self._turn.ice_server(self._clock(), window_ends)]

    def _send_call(self, appointment: Appointment, reconnect: bool) -> None:
        self._tell_both(appointment, self._call_message(appointment, reconnect))

    def _tell_both(self, appointment: Appointment, message: Reply) -> None:
        self._broadcaster.to_channels(
            [clinician_channel(appointment.taken_by_id or ""), patient_channel(appointment.id)], message
        )


def _worker_figures(incoming: messages.Incoming) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for field in ("capacity", "load"):
        value = incoming.body.get(field)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 10_000:
            raise ValidationFailed(f"`{field}` must be a whole number.", field)
        figures[field] = value
    figures["draining"] = bool(incoming.body.get("draining", False))
    return figures


def _peer_id(incoming: messages.Incoming) -> str:
    """Names one RTCPeerConnection of one browser tab: a new one (a reload, a new call) must
    get a new peer at the worker, not a renegotiation of the old one."""
    peer_id = incoming.body.get("peer_id", "")
    if not isinstance(peer_id, str) or len(peer_id) > 64:
        raise ValidationFailed("`peer_id` must be a short string.", "peer_id")
    return peer_id


def _sdp(incoming: messages.Incoming) -> str:
    sdp = incoming.text("sdp")
    if len(sdp) > SDP_MAX or not sdp.startswith("v=0"):
        raise ValidationFailed("`sdp` must be a session description.", "sdp")
    return sdp


def _in_session_of(connection: Connection, appointment: Appointment) -> bool:
    if connection.role is Role.PATIENT:
        return connection.subject == appointment.id
    return connection.role is Role.CLINICIAN and appointment.held_by(connection.subject)


def _screenshot_position(shot: Screenshot) -> str:
    return f"{iso_utc_precise(shot.requested_at)}#{shot.id}"
