"""The live side: the websocket's messages, each parsed strictly and routed to the service
that handles it for the sender's role (clinician, patient, guest, worker); the session's own
messages (take, hang up, chat, notice, device check) are handled here. Who connects and
presence: chalicelib.usecases.presence.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from chalicelib import paging, representations
from chalicelib.auth.tokens import TokenVerifier
from chalicelib.domain import notice
from chalicelib.domain.appointment import Appointment, AuditEvent
from chalicelib.domain.chat import ChatMessage, chat_text
from chalicelib.domain.clinician import Clinician
from chalicelib.domain.guest import Guest
from chalicelib.errors import EclinicError, NotFound, RateLimited, Unauthorized, ValidationFailed
from chalicelib.logs import logger
from chalicelib.paging import Page
from chalicelib.realtime import messages
from chalicelib.realtime.broadcast import Broadcaster
from chalicelib.realtime.connections import (
    MESSAGE_WINDOW,
    MESSAGES_PER_WINDOW,
    Connection,
    ConnectionRegistry,
    Role,
    patient_channel,
)
from chalicelib.realtime.roster import session_channels
from chalicelib.store.ports import AppointmentStore, AuditLog, ChatStore
from chalicelib.usecases.appointments import AppointmentService
from chalicelib.usecases.media_workers import MediaWorkers
from chalicelib.usecases.participants import clinician_of, running_session
from chalicelib.usecases.presence import GuestLinks, Presence
from chalicelib.usecases.screenshots import Screenshots
from chalicelib.usecases.signalling import Signalling
from eclinic_protocol import from_browser, from_worker, to_browser
from eclinic_protocol.from_browser import CLINICIAN_SENDS, GUEST_SENDS, PATIENT_SENDS
from eclinic_protocol.from_worker import WORKER_SENDS

Reply = dict[str, Any]
Route = messages.Route


SESSION_OVER = Unauthorized("Your session has expired; log in again.")


class LiveService:
    """The websocket edge of the use cases: who connects, presence, and which service handles
    each message type for each role (its handler tables); the session's own messages (take,
    hang up, chat, notice, device check) are handled here."""

    def __init__(
        self,
        appointments: AppointmentService,
        appointment_store: AppointmentStore,
        audit_log: AuditLog,
        chat_store: ChatStore,
        registry: ConnectionRegistry,
        broadcaster: Broadcaster,
        tokens: TokenVerifier,
        workers: MediaWorkers,
        signalling: Signalling,
        screenshots: Screenshots,
        clock: Callable[[], datetime] | None = None,
        guests: GuestLinks | None = None,
    ) -> None:
        self._workers = workers
        self._signalling = signalling
        self._screenshots = screenshots
        self._appointments = appointments
        self._appointment_store = appointment_store
        self._audit_log = audit_log
        self._chat_store = chat_store
        self._registry = registry
        self._broadcaster = broadcaster
        self._tokens = tokens
        self._clock = clock or appointments.now
        self._presence = Presence(
            appointments,
            appointment_store,
            audit_log,
            registry,
            broadcaster,
            tokens,
            workers,
            signalling,
            guests,
            self._clock,
        )

    # -- connection lifecycle (presence) ------------------------------------------------

    def connect(self, connection_id: str, query: Mapping[str, str]) -> Connection:
        return self._presence.connect(connection_id, query)

    def disconnect(self, connection_id: str) -> None:
        self._presence.disconnect(connection_id)

    def sweep(self) -> int:
        return self._presence.sweep()

    def live_patient_connections(self, appointment_id: str) -> list[Connection]:
        return self._presence.live_patient_connections(appointment_id)

    def guest_removed(self, appointment: Appointment, guest: Guest) -> None:
        self._presence.guest_removed(appointment, guest)

    def reply(self, connection_id: str, message: Reply) -> None:
        self._broadcaster.to_connection(connection_id, message)

    def chat_page_for_patient(
        self, appointment: Appointment, query: Mapping[str, str] | None, guest: Guest | None = None
    ) -> tuple[Page[ChatMessage], dict[str, str]]:
        """The chat history for a link's page; a guest's holds only what was written since the
        guest was invited (what the patient said before is not theirs to read)."""
        page, more = paging.of_appointment(self._chat_store.page, appointment.id, query)
        if guest is not None:
            page = replace(page, items=[m for m in page.items if m.at >= guest.created_at])
        return page, more

    # -- messages ----------------------------------------------------------------------

    def handle(self, connection_id: str, raw: str | bytes | None) -> list[Reply]:
        """Handles one message; returns the replies for the sender (errors included)."""
        ref: str | None = None
        try:
            incoming = messages.parse(raw)
            ref = incoming.type
            connection = self._registry.get(connection_id)
            if connection is None:
                raise Unauthorized("This connection is no longer registered; reconnect.")
            now = self._clock()
            if connection.session_over(now):
                # The token it connected with has expired: nothing more on this connection;
                # the page reconnects with a fresh token, or shows the login.
                self._broadcaster.to_connection(connection.id, messages.error(SESSION_OVER, ref))
                self._broadcaster.close([connection])
                return []
            if (
                incoming.type != from_browser.Ping.TYPE
                and connection.role is not Role.WORKER  # the worker is ours; a browser is anyone's
                and not self._registry.allow_message(connection, now)
            ):
                raise RateLimited(
                    f"Too many messages: at most {MESSAGES_PER_WINDOW} in {MESSAGE_WINDOW.seconds} seconds."
                    " Wait a moment and try again."
                )
            handler = self._handlers(connection.role).get(incoming.type)
            if handler is None:
                raise ValidationFailed(f"Unknown message type `{incoming.type}`.", "type")
            return handler(connection, incoming)
        except EclinicError as exc:
            return [messages.error(exc, ref)]
        except Exception:
            # An outside service failed: say so to the sender, keep the connection.
            logger().exception("websocket message failed", message_type=ref)
            return [messages.error(EclinicError("Something went wrong on our side; try again."), ref)]

    def _handlers(self, role: Role) -> dict[str, Route[Any]]:
        """The message types the role may send (eclinic_protocol's CLINICIAN_SENDS,
        PATIENT_SENDS, WORKER_SENDS), each with the handler that takes its parsed message."""
        signalling, screenshots = self._signalling, self._screenshots
        if role is Role.WORKER:
            table = messages.routes(
                Route(from_worker.WorkerHello, self._workers.worker_hello),
                Route(from_worker.WorkerStatus, signalling.worker_status),
                Route(from_worker.Answer, signalling.answer),
                Route(from_worker.Captured, screenshots.captured),
                Route(from_worker.CaptureFailed, screenshots.capture_failed),
                Route(from_worker.Renegotiate, signalling.renegotiate),
            )
            return _checked(table, WORKER_SENDS.types)
        common = (
            Route(from_browser.Ping, self._ping),
            Route(from_browser.Chat, self._chat),
            Route(from_browser.Call, signalling.call),
            Route(from_browser.Offer, signalling.offer),
            Route(from_browser.Candidate, signalling.candidate),
            Route(from_browser.MediaState, signalling.media_state),
            Route(from_browser.Quality, signalling.quality),
        )
        if role is Role.GUEST:
            return _checked(messages.routes(*common), GUEST_SENDS.types)
        if role is Role.CLINICIAN:
            table = messages.routes(
                *common,
                Route(from_browser.Take, self._take),
                Route(from_browser.Notice, self._notice),
                Route(from_browser.Hangup, self._hangup),
                Route(from_browser.ScreenshotRequest, screenshots.screenshot_request),
            )
            return _checked(table, CLINICIAN_SENDS.types)
        table = messages.routes(
            *common,
            Route(from_browser.ScreenshotConsent, screenshots.screenshot_consent),
            Route(from_browser.DeviceCheck, self._device_check),
        )
        return _checked(table, PATIENT_SENDS.types)

    def _ping(self, connection: Connection, message: from_browser.Ping) -> list[Reply]:
        self._registry.touch(connection, self._clock())
        return [to_browser.Pong().to_json()]

    def _take(self, connection: Connection, message: from_browser.Take) -> list[Reply]:
        clinician = clinician_of(connection)
        appointment = self._appointments.get(clinician, message.appointment_id)
        before, after = self._appointments.mutate_seen(
            appointment.id, lambda a: a.take(clinician, self._clock())
        )
        if after.version == before.version:
            # The same clinician again (a reload, a second tab): a rejoin, nothing was written.
            return [to_browser.AppointmentChanged(appointment=representations.appointment(after)).to_json()]
        return []

    def _hangup(self, connection: Connection, message: from_browser.Hangup) -> list[Reply]:
        clinician = clinician_of(connection)
        mode = message.mode
        appointment = self._appointments.get(clinician, message.appointment_id)
        before, after = self._appointments.mutate_seen(
            appointment.id, lambda a: a.hang_up(clinician, mode == "leave", self._clock())
        )
        self._workers.end_call(before, after)
        if mode == "exit":
            self._presence.patient_maybe_gone(appointment.id)
        return []

    def _chat(self, connection: Connection, incoming: from_browser.Chat) -> list[Reply]:
        text = chat_text(incoming.text)
        appointment = running_session(
            self._appointments,
            self._appointment_store,
            connection,
            incoming.appointment_id,
            not_running="The chat is open while the clinician is with the patient.",
        )
        now = self._clock()
        message = ChatMessage(
            id=str(uuid.uuid4()),
            appointment_id=appointment.id,
            sender_role=connection.role.value,
            sender_name=connection.name,
            sender_seat=connection.seat,
            text=text,
            at=now,
        )
        self._chat_store.add(message, appointment.audit_event("chat", _actor(connection), now))
        self._broadcaster.to_channels(session_channels(appointment), representations.chat(message))
        return []

    def _notice(self, connection: Connection, incoming: from_browser.Notice) -> list[Reply]:
        """A few words to a waiting patient of the clinician's groups (API.md's `notice`): pushed
        to the patient's connections and audited (`notice_sent`) without the text, which is
        neither stored nor logged. The sender gets, beyond API.md, `notice_sent` with how many of
        the patient's pages it reached."""
        clinician = clinician_of(connection)
        appointment_id = incoming.appointment_id
        text = notice.notice_text(incoming.text)
        appointment = self._appointments.get(clinician, appointment_id)
        notice.require_waiting(appointment)
        now = self._clock()
        self._audit_log.append(appointment.audit_event(notice.AUDIT_ACTION, clinician, now))
        delivered = self._broadcaster.to_channels(
            [patient_channel(appointment.id)],
            representations.notice(appointment.id, text, clinician.name, now),
        )
        sent = to_browser.NoticeSent(
            appointment_id=appointment.id, at=representations.instant(now), delivered=delivered
        )
        return [sent.to_json()]

    def _device_check(self, connection: Connection, incoming: from_browser.DeviceCheck) -> list[Reply]:
        """Beyond API.md: what the waiting room's device check found, kept on the appointment
        (a conditional write, like every appointment write) and so pushed to its clinicians."""
        appointment_id, camera, microphone = incoming.appointment_id, incoming.camera, incoming.microphone
        if connection.role is not Role.PATIENT or connection.appointment_id != appointment_id:
            raise NotFound("No such appointment.")
        now = self._clock()

        def keep_result(a: Appointment) -> tuple[Appointment, AuditEvent | None]:
            if a.device_check is not None and a.device_check.same_result(camera, microphone):
                return a, None  # the same again (a reconnect): nothing to write or push
            return a.with_device_check(camera, microphone, now), None

        self._appointments.mutate(appointment_id, keep_result)
        return []


def _actor(connection: Connection) -> Clinician | str:
    """Who the audit names: the clinician, "patient", or "guest" (with the guest's id beside it)."""
    return clinician_of(connection) if connection.role is Role.CLINICIAN else connection.role.value


def _checked(table: dict[str, Route[Any]], defined: set[str]) -> dict[str, Route[Any]]:
    """The handler table, which must handle exactly what the protocol says the role sends."""
    assert set(table) == defined, f"handlers {sorted(table)} != protocol {sorted(defined)}"
    return table
