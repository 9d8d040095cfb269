"""The live side: websocket connect and disconnect, presence, and session messages.

Presence: a patient's first live connection moves `scheduled` to `waiting`, the last one
going moves `waiting` back to `scheduled`; tabs are counted, so two tabs are one presence.
A connection whose heartbeat stopped no longer counts, and the sweep closes it, so a
disconnect that never arrived cannot keep a patient "online".
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from chalicelib import representations
from chalicelib.auth.tokens import CognitoTokenVerifier
from chalicelib.domain import notice
from chalicelib.domain.appointment import Appointment, AuditEvent, Move, Status
from chalicelib.domain.chat import ChatMessage
from chalicelib.domain.clinician import Clinician
from chalicelib.domain.device_check import CAMERA_RESULTS, MICROPHONE_RESULTS
from chalicelib.errors import EclinicError, Forbidden, NotFound, RateLimited, Unauthorized, ValidationFailed
from chalicelib.logs import logger
from chalicelib.paging import Page
from chalicelib.realtime import messages
from chalicelib.realtime.broadcast import Broadcaster
from chalicelib.realtime.connections import (
    ALL_PATIENTS,
    AUDITED_CONNECTS,
    MESSAGE_WINDOW,
    MESSAGES_PER_WINDOW,
    Connection,
    ConnectionRegistry,
    Role,
    clinician_channel,
    patient_channel,
)
from chalicelib.store.repository import AppointmentRepository
from chalicelib.usecases.appointments import AppointmentService, chat_page
from chalicelib.usecases.media import MediaService
from chalicelib.usecases.participants import clinician_of, running_session

Reply = dict[str, Any]
MessageHandler = Callable[[Connection, messages.Incoming], list[Reply]]


SESSION_OVER = Unauthorized("Your session has expired; log in again.")


class LiveService:
    def __init__(
        self,
        appointments: AppointmentService,
        repository: AppointmentRepository,
        registry: ConnectionRegistry,
        broadcaster: Broadcaster,
        tokens: CognitoTokenVerifier | Any,
        media: MediaService,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._media = media
        self._appointments = appointments
        self._repo = repository
        self._registry = registry
        self._broadcaster = broadcaster
        self._tokens = tokens
        self._clock = clock or appointments.now

    # -- connection lifecycle --------------------------------------------------------

    def connect(self, connection_id: str, query: Mapping[str, str]) -> Connection:
        """Registers a connection, or raises (Unauthorized, NotFound, Gone) to refuse it."""
        with self._broadcaster.connecting(connection_id):
            return self._connect(connection_id, query)

    def _connect(self, connection_id: str, query: Mapping[str, str]) -> Connection:
        connection, appointment = self._identify(connection_id, query)
        if appointment is None:
            self._registry.add(connection)
            return connection
        number = self._registry.count_connect(appointment.id, connection.connected_at)
        if number is None:
            logger().warning("patient link over its connect limit", appointment_id=appointment.id)
            raise RateLimited(
                "This visit link has connected too often in the last few minutes."
                " Wait a few minutes, then reload the page."
            )
        self._registry.add(connection)
        if number <= AUDITED_CONNECTS:
            self._repo.record(appointment.record("patient_connected", "patient", connection.connected_at))
        elif number == AUDITED_CONNECTS + 1:
            self._repo.record(
                appointment.record("patient_connects_collapsed", "patient", connection.connected_at)
            )
        self._patient_online(appointment.id)
        return connection

    def _identify(
        self, connection_id: str, query: Mapping[str, str]
    ) -> tuple[Connection, Appointment | None]:
        """Who connects, from the one credential in the query string (and a patient's appointment)."""
        now = self._clock()
        if query.get("id_token"):
            session = self._tokens.session(query["id_token"])
            clinician = session.clinician
            clinician_connection = Connection(
                id=connection_id,
                role=Role.CLINICIAN,
                subject=clinician.id,
                name=clinician.name,
                email=clinician.email,
                session_expires_at=session.expires_at,
                groups=clinician.groups,
                connected_at=now,
                last_seen=now,
            )
            return clinician_connection, None
        if query.get("token"):
            appointment = self._appointments.visit(query["token"])
            patient_connection = Connection(
                id=connection_id,
                role=Role.PATIENT,
                subject=appointment.id,
                name=appointment.patient_name,
                appointment_id=appointment.id,
                connected_at=now,
                last_seen=now,
            )
            return patient_connection, appointment
        if query.get("worker_token"):
            if not self._media.is_worker_credential(query["worker_token"]):
                raise Unauthorized("The worker credential was not accepted.")
            worker_connection = Connection(
                id=connection_id,
                role=Role.WORKER,
                subject=connection_id,  # until the worker says hello with its id
                name="media worker",
                connected_at=now,
                last_seen=now,
            )
            return worker_connection, None
        raise Unauthorized("Connect with ?id_token= (clinician) or ?token= (patient link).")

    def disconnect(self, connection_id: str) -> None:
        connection = self._registry.remove(connection_id)
        if connection is not None and connection.role is Role.PATIENT:
            appointment = self._repo.get(connection.subject)
            now = self._clock()
            if (
                appointment is not None
                and self._registry.connects_in_window(appointment.id, now) <= AUDITED_CONNECTS
            ):
                self._repo.record(appointment.record("patient_disconnected", "patient", now))
            self._patient_maybe_gone(connection.subject)

    def sweep(self) -> int:
        """Closes patient connections whose heartbeat stopped; returns how many."""
        now = self._clock()
        stale = [c for c in self._registry.in_channel(ALL_PATIENTS) if not c.alive(now)]
        for connection in stale:
            self._broadcaster.close([connection])
            self._patient_maybe_gone(connection.subject)
        if stale:
            logger().info("swept stale patient connections", count=len(stale))
        return len(stale)

    def reply(self, connection_id: str, message: Reply) -> None:
        self._broadcaster.to_connection(connection_id, message)

    def chat_history_for_patient(self, appointment: Appointment) -> list[ChatMessage]:
        return list(self._repo.chat_history(appointment.id))

    def chat_page_for_patient(
        self, appointment: Appointment, query: Mapping[str, str] | None
    ) -> tuple[Page[ChatMessage], dict[str, str]]:
        return chat_page(self._repo, appointment, query)

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
                incoming.type != "ping"
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

    def _handlers(self, role: Role) -> dict[str, MessageHandler]:
        media = self._media
        if role is Role.WORKER:
            return {
                "worker_hello": media.worker_hello,
                "worker_status": media.worker_status,
                "answer": media.answer,
                "captured": media.captured,
                "capture_failed": media.capture_failed,
                "renegotiate": media.renegotiate,
            }
        common: dict[str, MessageHandler] = {
            "ping": self._ping,
            "chat": self._chat,
            "call": media.call,
            "offer": media.offer,
            "candidate": media.candidate,
            "media_state": media.media_state,
            "quality": media.quality,
        }
        if role is Role.CLINICIAN:
            return {
                **common,
                "take": self._take,
                "notice": self._notice,
                "hangup": self._hangup,
                "screenshot_request": media.screenshot_request,
            }
        return {
            **common,
            "screenshot_consent": media.screenshot_consent,
            "device_check": self._device_check,
        }

    def _ping(self, connection: Connection, incoming: messages.Incoming) -> list[Reply]:
        self._registry.touch(connection, self._clock())
        return [{"type": "pong"}]

    def _take(self, connection: Connection, incoming: messages.Incoming) -> list[Reply]:
        clinician = clinician_of(connection)
        appointment = self._appointments.get(clinician, incoming.appointment_id())
        if appointment.status is Status.IN_SESSION and appointment.held_by(clinician.id):
            # The same clinician again (a reload, a second tab): rejoin, nothing changes.
            return [{"type": "appointment", "appointment": representations.appointment(appointment)}]
        self._appointments.mutate(appointment.id, lambda a: a.apply(Move.TAKE, clinician, self._clock()))
        return []

    def _hangup(self, connection: Connection, incoming: messages.Incoming) -> list[Reply]:
        clinician = clinician_of(connection)
        mode = incoming.choice("mode", ("exit", "leave"))
        appointment = self._appointments.get(clinician, incoming.appointment_id())
        if not appointment.held_by(clinician.id):
            raise Forbidden("You are not in this session.")
        move = Move.EXIT if mode == "exit" else Move.LEAVE
        self._appointments.mutate(
            appointment.id, lambda a: _in_own_session(a, clinician, move, self._clock())
        )
        if move is Move.EXIT:
            self._patient_maybe_gone(appointment.id)
        return []

    def _chat(self, connection: Connection, incoming: messages.Incoming) -> list[Reply]:
        text = incoming.chat_text()
        appointment = running_session(
            self._appointments,
            self._repo,
            connection,
            incoming.appointment_id(),
            not_running="The chat is open while the clinician is with the patient.",
        )
        now = self._clock()
        message = ChatMessage(
            id=str(uuid.uuid4()),
            appointment_id=appointment.id,
            sender_role=connection.role.value,
            sender_name=connection.name,
            text=text,
            at=now,
        )
        self._repo.add_chat(message, appointment.record("chat", _actor(connection), now))
        self._broadcaster.to_channels(
            [patient_channel(appointment.id), clinician_channel(appointment.taken_by_id or "")],
            representations.chat(message),
        )
        return []

    def _notice(self, connection: Connection, incoming: messages.Incoming) -> list[Reply]:
        """A few words to a waiting patient of the clinician's groups (API.md's `notice`): pushed
        to the patient's connections and audited (`notice_sent`) without the text, which is
        neither stored nor logged. The sender gets, beyond API.md, `notice_sent` with how many of
        the patient's pages it reached."""
        clinician = clinician_of(connection)
        appointment_id = incoming.appointment_id()
        text = incoming.notice_text()
        appointment = self._appointments.get(clinician, appointment_id)
        notice.require_waiting(appointment)
        now = self._clock()
        self._repo.record(appointment.record(notice.AUDIT_ACTION, clinician, now))
        delivered = self._broadcaster.to_channels(
            [patient_channel(appointment.id)],
            representations.notice(appointment.id, text, clinician.name, now),
        )
        return [
            {
                "type": "notice_sent",
                "appointment_id": appointment.id,
                "at": representations.instant(now),
                "delivered": delivered,
            }
        ]

    def _device_check(self, connection: Connection, incoming: messages.Incoming) -> list[Reply]:
        """Beyond API.md: what the waiting room's device check found, kept on the appointment
        (a conditional write, like every appointment write) and so pushed to its clinicians."""
        appointment_id = incoming.appointment_id()
        camera = incoming.choice("camera", CAMERA_RESULTS)
        microphone = incoming.choice("microphone", MICROPHONE_RESULTS)
        if connection.role is not Role.PATIENT or connection.subject != appointment_id:
            raise NotFound("No such appointment.")
        now = self._clock()

        def record(a: Appointment) -> tuple[Appointment, AuditEvent | None]:
            if a.device_check is not None and a.device_check.same_result(camera, microphone):
                return a, None  # the same again (a reconnect): nothing to write or push
            return a.with_device_check(camera, microphone, now), None

        self._appointments.mutate(appointment_id, record)
        return []

    # -- presence ------------------------------------------------------------------------

    def live_patient_connections(self, appointment_id: str) -> list[Connection]:
        now = self._clock()
        return [c for c in self._registry.in_channel(patient_channel(appointment_id)) if c.alive(now)]

    def _patient_online(self, appointment_id: str) -> None:
        def come_online(a: Appointment) -> tuple[Appointment, AuditEvent | None]:
            if a.status is Status.SCHEDULED:
                return a.apply(Move.PATIENT_ONLINE, "patient", self._clock())
            return a, None

        self._appointments.mutate(appointment_id, come_online)

    def _patient_maybe_gone(self, appointment_id: str) -> None:
        if self.live_patient_connections(appointment_id):
            return

        def go_offline(a: Appointment) -> tuple[Appointment, AuditEvent | None]:
            if a.status is Status.WAITING:
                return a.apply(Move.PATIENT_GONE, "patient", self._clock())
            return a, None

        try:
            self._appointments.mutate(appointment_id, go_offline)
        except NotFound:
            return
        # A tab may have connected between the count and the write: it must not look offline.
        if self.live_patient_connections(appointment_id):
            self._patient_online(appointment_id)


def _actor(connection: Connection) -> Clinician | str:
    return clinician_of(connection) if connection.role is Role.CLINICIAN else "patient"


def _in_own_session(
    a: Appointment, clinician: Clinician, move: Move, at: datetime
) -> tuple[Appointment, AuditEvent | None]:
    if not a.held_by(clinician.id):
        raise Forbidden("You are not in this session.")
    return a.apply(move, clinician, at)
