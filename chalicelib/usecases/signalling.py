"""The call's signalling: `call` to every page of the call, offers and candidates from the pages
to the visit's worker, the worker's answers back, reconnects when a visit moves to another
worker, a participant's leaving, and what each participant tells the others (mute, line quality).

Lambda never waits for the worker: an offer goes browser -> here -> worker, and the worker's
answer comes back later as a message of its own, which is routed to the browser that offered.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from chalicelib.auth.turn_credentials import TurnCredentials
from chalicelib.domain.appointment import Appointment
from chalicelib.errors import ServiceUnavailable
from chalicelib.logs import logger
from chalicelib.realtime.broadcast import Broadcaster
from chalicelib.realtime.connections import Connection, ConnectionRegistry, Role
from chalicelib.realtime.roster import Roster, seat_channel, session_channels
from chalicelib.store.ports import AppointmentStore
from chalicelib.usecases.appointments import AppointmentService
from chalicelib.usecases.media_workers import NO_WORKER_FREE, MediaWorkers
from chalicelib.usecases.participants import running_session
from eclinic_protocol import from_browser, from_worker, to_browser, to_worker

Reply = dict[str, Any]
CALL_LOST = "The video connection was lost. Press the phone to try again."


@dataclass(frozen=True)
class Participant:
    """The sender of a signalling message, checked to belong to the appointment's session."""

    connection: Connection
    appointment: Appointment
    role: Role


class Signalling:
    """Routes the WebRTC signalling between the pages of a session and the media worker that
    relays it, and keeps both pages on a live worker: the one place that knows what a `call`
    message holds (ICE servers, TURN credentials) and when the pages must reconnect."""

    def __init__(
        self,
        appointments: AppointmentService,
        appointment_store: AppointmentStore,
        registry: ConnectionRegistry,
        broadcaster: Broadcaster,
        workers: MediaWorkers,
        ice_servers: Sequence[Mapping[str, object]],
        turn: TurnCredentials | None = None,
        clock: Callable[[], datetime] | None = None,
        ice_transport_policy: str = "all",
        roster: Roster | None = None,
    ) -> None:
        self._appointments = appointments
        self._appointment_store = appointment_store
        self._registry = registry
        self._broadcaster = broadcaster
        self._workers = workers
        self._ice_servers = [dict(s) for s in ice_servers]
        self._turn = turn
        self._ice_transport_policy = ice_transport_policy
        self._clock = clock or appointments.now
        self._roster = roster or Roster(registry, broadcaster, self._clock)

    # -- the pages of the call ------------------------------------------------------------

    def call(self, connection: Connection, message: from_browser.Call) -> list[Reply]:
        participant = self._participant(connection, message.appointment_id)
        if participant.role is not Role.CLINICIAN:
            # A patient's page that reloaded mid-session, or a guest's that joins a running
            # session, asks to join the running call; only it offers. Before the clinician has
            # called there is nothing to join yet. Either way it hears who is there.
            self._roster.announce(participant.appointment)
            if not participant.appointment.media_worker_id:
                return []
            return [self._call_message(self._assign(participant.appointment), reconnect=True)]
        self._send_call(self._assign(participant.appointment), reconnect=False)
        return []

    def offer(self, connection: Connection, message: from_browser.Offer) -> list[Reply]:
        """Forwards a browser's offer to its visit's worker, naming the browser's peer. A
        clinician's page is remembered as in that call, so that its going is told (`leave`)."""
        participant, worker = self._route_to_worker(connection, message.appointment_id)
        if connection.role is Role.CLINICIAN and connection.call_appointment_id != participant.appointment.id:
            self._registry.update(replace(connection, call_appointment_id=participant.appointment.id))
        offer = to_worker.Offer(
            appointment_id=participant.appointment.id,
            seat=connection.seat,
            sender=connection.id,
            peer_id=message.peer_id,
            sdp=message.sdp,
        )
        self._broadcaster.to_connection(worker.id, offer.to_json())
        return []

    def candidate(self, connection: Connection, message: from_browser.Candidate) -> list[Reply]:
        participant, worker = self._route_to_worker(connection, message.appointment_id)
        candidate = to_worker.Candidate(
            appointment_id=participant.appointment.id,
            seat=connection.seat,
            sender=connection.id,
            peer_id=message.peer_id,
            candidate=message.candidate,
        )
        self._broadcaster.to_connection(worker.id, candidate.to_json())
        return []

    def _route_to_worker(self, connection: Connection, appointment_id: str) -> tuple[Participant, Connection]:
        participant = self._participant(connection, appointment_id)
        return participant, self.worker_for(participant.appointment)

    def quality(self, connection: Connection, message: from_browser.Quality) -> list[Reply]:
        """A page's own view of its line, to the others in the call. Beyond API.md, `connected: false`
        says that the page's video connection failed altogether (a network that blocks it)."""
        participant = self._participant(connection, message.appointment_id)
        report = to_browser.Quality(
            appointment_id=participant.appointment.id,
            level=message.level,
            rtt_ms=message.rtt_ms,
            loss=message.loss,
            connected=message.connected,
            sender=participant.role.value,
            seat=connection.seat,
        )
        self._broadcaster.to_channels(
            session_channels(participant.appointment, but=connection.seat), report.to_json()
        )
        return []

    def media_state(self, connection: Connection, message: from_browser.MediaState) -> list[Reply]:
        """Mute and camera state to the others in the call (beyond API.md, `video_off` says
        why), kept on the connection for the participants message, which follows."""
        participant = self._participant(connection, message.appointment_id)
        state = to_browser.MediaState(
            appointment_id=participant.appointment.id,
            audio=message.audio,
            video=message.video,
            screen=message.screen,
            video_off=message.video_off,
            sender=participant.role.value,
            seat=connection.seat,
        )
        self._broadcaster.to_channels(
            session_channels(participant.appointment, but=connection.seat), state.to_json()
        )
        audio = connection.audio if message.audio is None else message.audio
        video = connection.video if message.video is None else message.video
        if (audio, video) != (connection.audio, connection.video):
            self._registry.update(replace(connection, audio=audio, video=video))
            self._roster.announce(participant.appointment)
        return []

    def leave(self, appointment: Appointment, seat: str, connection_id: str = "") -> None:
        """Tells the visit's worker that a participant has gone (a guest removed or offline), so
        that it closes that seat's peer; the others' pages offer again without it."""
        worker = self._workers.connection_of(appointment.media_worker_id)
        if worker is not None:
            leave = to_worker.Leave(appointment_id=appointment.id, seat=seat, sender=connection_id)
            self._broadcaster.to_connection(worker.id, leave.to_json())

    # -- the worker ------------------------------------------------------------------------

    def worker_status(self, connection: Connection, message: from_worker.WorkerStatus) -> list[Reply]:
        """A worker's heartbeat (kept by MediaWorkers). A worker that starts draining has its
        visits moved to another worker, and both browsers of each renegotiate."""
        for appointment in self._workers.heartbeat(connection, message):
            try:
                moved = self._assign(appointment, exclude=connection.worker_id)
            except ServiceUnavailable:
                failed = to_browser.CallFailed(appointment_id=appointment.id, message=CALL_LOST)
                self._tell_all(appointment, failed.to_json())
                continue
            self._send_call(moved, reconnect=True)
        return []

    def answer(self, connection: Connection, message: from_worker.Answer) -> list[Reply]:
        appointment = self._workers.visit_of(connection, message.appointment_id)
        target = self._registry.get(message.to)
        if (
            target is None
            or (message.seat is not None and target.seat != message.seat)
            or not _in_session_of(target, appointment)
        ):
            # That browser has gone or moved on; it will offer again.
            logger().info("answer dropped", seat=message.seat, peer_id=message.peer_id)
            return []
        answer = to_browser.Answer(appointment_id=appointment.id, sdp=message.sdp)
        self._broadcaster.to_connection(target.id, answer.to_json())
        return []

    def renegotiate(self, connection: Connection, message: from_worker.Renegotiate) -> list[Reply]:
        """The worker asks one seat to offer again (so that the legs share a codec): that page
        gets `call` as after a worker move, and makes a new peer connection."""
        appointment = self._workers.visit_of(connection, message.appointment_id)
        channel = seat_channel(appointment, message.seat)
        self._broadcaster.to_channels([channel], self._call_message(appointment, reconnect=True))
        return []

    def worker_for(self, appointment: Appointment) -> Connection:
        """The live worker relaying the appointment's call. One that has gone is replaced, and
        both pages reconnect to the new one; ServiceUnavailable when no worker is free."""
        worker = self._workers.connection_of(appointment.media_worker_id)
        if worker is not None:
            return worker
        moved = self._assign(appointment)
        self._send_call(moved, reconnect=True)
        worker = self._workers.connection_of(moved.media_worker_id)
        if worker is None:
            raise ServiceUnavailable(NO_WORKER_FREE)
        return worker

    # -- internals -------------------------------------------------------------------------

    def _assign(self, appointment: Appointment, exclude: str | None = None) -> Appointment:
        """The appointment with a live worker: its own if still live, else the least loaded;
        the worker it leaves lets go of it."""
        chosen = self._workers.pick(appointment, exclude)
        if chosen == appointment.media_worker_id:
            return appointment
        now = self._clock()
        before, after = self._appointments.mutate_seen(
            appointment.id, lambda current: current.assign_worker(chosen, now)
        )
        self._workers.end_call(before, after)
        return after

    def _participant(self, connection: Connection, appointment_id: str) -> Participant:
        appointment = running_session(self._appointments, self._appointment_store, connection, appointment_id)
        return Participant(connection, appointment, connection.role)

    def _call_message(self, appointment: Appointment, reconnect: bool) -> Reply:
        return to_browser.CallSetup(
            appointment_id=appointment.id,
            ice_servers=self._ice_servers_for(appointment),
            ice_transport_policy=self._ice_transport_policy,
            reconnect=reconnect,
        ).to_json()

    def _ice_servers_for(self, appointment: Appointment) -> list[dict[str, Any]]:
        """The configured STUN servers, and TURN with credentials of this call's own, valid
        while the patient's link is (the appointment's end and its grace)."""
        if self._turn is None:
            return self._ice_servers
        window_ends = appointment.link_expires_at(self._appointments.link_grace)
        return [*self._ice_servers, self._turn.ice_server(self._clock(), window_ends)]

    def _send_call(self, appointment: Appointment, reconnect: bool) -> None:
        self._tell_all(appointment, self._call_message(appointment, reconnect))

    def _tell_all(self, appointment: Appointment, message: Reply) -> None:
        self._broadcaster.to_channels(session_channels(appointment), message)


def _in_session_of(connection: Connection, appointment: Appointment) -> bool:
    if connection.role in (Role.PATIENT, Role.GUEST):
        return connection.appointment_id == appointment.id
    return connection.clinician_id is not None and appointment.held_by(connection.clinician_id)
