"""Who is connected: websocket connect and disconnect, the patient's presence, a guest's.

A patient's first live connection moves `scheduled` to `waiting`, the last one going moves
`waiting` back to `scheduled`; tabs are counted, so two tabs are one presence. A connection
whose heartbeat stopped no longer counts, and the sweep closes it, so a disconnect that never
arrived cannot keep a patient "online". A guest's presence never moves the appointment (a guest
is not the patient): it moves the guest between `invited` and `online`, and tells the call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from chalicelib.auth.tokens import TokenVerifier
from chalicelib.domain.appointment import Appointment, Status
from chalicelib.domain.guest import Guest
from chalicelib.domain.patient_wording import GUEST_REMOVED
from chalicelib.errors import NotFound, RateLimited, Unauthorized
from chalicelib.logs import logger
from chalicelib.realtime.broadcast import Broadcaster
from chalicelib.realtime.connections import (
    ALL_GUESTS,
    ALL_PATIENTS,
    AUDITED_CONNECTS,
    Connection,
    ConnectionRegistry,
    Role,
    guest_channel,
    patient_channel,
)
from chalicelib.realtime.roster import Roster
from chalicelib.store.ports import AppointmentStore, AuditLog
from chalicelib.usecases.appointments import AppointmentService
from chalicelib.usecases.media_workers import MediaWorkers
from chalicelib.usecases.signalling import Signalling
from eclinic_protocol import to_browser


class GuestLinks(Protocol):
    """What presence needs of the guests (chalicelib.usecases.guests)."""

    def resolve_guest_link(self, token: str) -> tuple[Appointment, Guest]:
        """The appointment and guest a guest link opens; NotFound, or Gone once it is dead."""
        ...

    def set_presence(self, appointment_id: str, guest_id: str, online: bool) -> tuple[Appointment, Guest]:
        """Keeps the guest's status (`invited` or `online`), a conditional write."""
        ...


class Presence:
    def __init__(
        self,
        appointments: AppointmentService,
        appointment_store: AppointmentStore,
        audit_log: AuditLog,
        registry: ConnectionRegistry,
        broadcaster: Broadcaster,
        tokens: TokenVerifier,
        workers: MediaWorkers,
        signalling: Signalling,
        guests: GuestLinks | None,
        clock: Callable[[], datetime],
    ) -> None:
        self._appointments = appointments
        self._appointment_store = appointment_store
        self._audit_log = audit_log
        self._registry = registry
        self._broadcaster = broadcaster
        self._tokens = tokens
        self._workers = workers
        self._signalling = signalling
        self._guests = guests
        self._clock = clock
        self._roster = Roster(registry, broadcaster, clock)

    # -- connect -------------------------------------------------------------------------

    def connect(self, connection_id: str, query: Mapping[str, str]) -> Connection:
        """Registers a connection, or raises (Unauthorized, NotFound, Gone) to refuse it.

        It is registered as `connecting` until this returns: a 410 for it meanwhile means
        "not open yet", not "gone" (see Broadcaster). A refused connect gets no $disconnect,
        so what it registered is removed here."""
        connection, appointment = self._identify(connection_id, query)
        number = 0 if appointment is None else self._count_link_connect(appointment, connection)
        self._registry.add(replace(connection, connecting=True))
        try:
            if appointment is not None and connection.role is Role.PATIENT:
                self._patient_connected(appointment, connection, number)
            elif appointment is not None:
                self._guest_connected(appointment, connection)
        except Exception:
            self._registry.remove(connection_id)
            raise
        self._registry.update(connection)
        return connection

    def _count_link_connect(self, appointment: Appointment, connection: Connection) -> int:
        link = appointment.id if connection.guest_id is None else f"{appointment.id}#{connection.guest_id}"
        number = self._registry.count_connect(link, connection.connected_at)
        if number is None:
            logger().warning(
                "link over its connect limit", appointment_id=appointment.id, role=connection.role
            )
            raise RateLimited(
                "This visit link has connected too often in the last few minutes."
                " Wait a few minutes, then reload the page."
            )
        return number

    def _patient_connected(self, appointment: Appointment, connection: Connection, number: int) -> None:
        if number <= AUDITED_CONNECTS:
            self._audit_log.append(
                appointment.audit_event("patient_connected", "patient", connection.connected_at)
            )
        elif number == AUDITED_CONNECTS + 1:
            self._audit_log.append(
                appointment.audit_event("patient_connects_collapsed", "patient", connection.connected_at)
            )
        self.patient_online(appointment.id)
        self._roster.announce(appointment)

    def _guest_connected(self, appointment: Appointment, connection: Connection) -> None:
        assert self._guests is not None and connection.guest_id is not None
        self._guests.set_presence(appointment.id, connection.guest_id, True)
        self._roster.announce(appointment)

    def _identify(
        self, connection_id: str, query: Mapping[str, str]
    ) -> tuple[Connection, Appointment | None]:
        """Who connects, from the one credential in the query string (and a link's appointment)."""
        now = self._clock()
        if query.get("id_token"):
            session = self._tokens.session(query["id_token"])
            clinician = session.clinician
            clinician_connection = Connection(
                id=connection_id,
                role=Role.CLINICIAN,
                clinician_id=clinician.id,
                name=clinician.name,
                email=clinician.email,
                session_expires_at=session.expires_at,
                groups=clinician.groups,
                connected_at=now,
                last_seen=now,
            )
            return clinician_connection, None
        if query.get("token"):
            return self._link_holder(connection_id, query["token"], now)
        if query.get("worker_token"):
            if not self._workers.is_worker_credential(query["worker_token"]):
                raise Unauthorized("The worker credential was not accepted.")
            worker_connection = Connection(
                id=connection_id, role=Role.WORKER, name="media worker", connected_at=now, last_seen=now
            )
            return worker_connection, None
        raise Unauthorized("Connect with ?id_token= (clinician) or ?token= (patient link).")

    def _link_holder(self, connection_id: str, token: str, now: datetime) -> tuple[Connection, Appointment]:
        """The patient's link opens the patient's page; a guest's link the guest's."""
        try:
            appointment = self._appointments.visit(token)
        except NotFound:
            if self._guests is None:
                raise
            appointment, guest = self._guests.resolve_guest_link(token)
            guest_connection = Connection(
                id=connection_id,
                role=Role.GUEST,
                name=guest.name,
                appointment_id=appointment.id,
                guest_id=guest.id,
                guest_seat=guest.seat,
                guest_role=guest.role.value,
                connected_at=now,
                last_seen=now,
            )
            return guest_connection, appointment
        patient_connection = Connection(
            id=connection_id,
            role=Role.PATIENT,
            name=appointment.patient_name,
            appointment_id=appointment.id,
            connected_at=now,
            last_seen=now,
        )
        return patient_connection, appointment

    # -- disconnect ----------------------------------------------------------------------

    def disconnect(self, connection_id: str) -> None:
        connection = self._registry.remove(connection_id)
        if connection is not None and connection.call_appointment_id is not None:
            self._left_call(connection, connection.call_appointment_id)  # a clinician's page in a call
        if connection is None or connection.appointment_id is None:
            return
        if connection.role is Role.GUEST:
            self._guest_left(connection)
            return
        appointment = self._appointment_store.get(connection.appointment_id)
        now = self._clock()
        if (
            appointment is not None
            and self._registry.connects_in_window(appointment.id, now) <= AUDITED_CONNECTS
        ):
            self._audit_log.append(appointment.audit_event("patient_disconnected", "patient", now))
        self.patient_maybe_gone(connection.appointment_id)
        self._left_call(connection, connection.appointment_id)

    def sweep(self) -> int:
        """Closes patient and guest connections whose heartbeat stopped; returns how many."""
        now = self._clock()
        holders = [*self._registry.in_channel(ALL_PATIENTS), *self._registry.in_channel(ALL_GUESTS)]
        stale = [c for c in holders if not c.alive(now)]
        for connection in stale:
            self._broadcaster.close([connection])
            if connection.role is Role.GUEST:
                self._guest_left(connection)
            elif connection.appointment_id is not None:
                self.patient_maybe_gone(connection.appointment_id)
        if stale:
            logger().info("swept stale link connections", count=len(stale))
        return len(stale)

    def guest_removed(self, appointment: Appointment, guest: Guest) -> None:
        """The clinician removed a guest: their pages say so and close, the worker drops their
        seat, and the others hear who is left."""
        pages = [
            c
            for c in self._registry.in_channel(guest_channel(appointment.id, guest.seat))
            if c.guest_id == guest.id
        ]
        if pages:
            self._broadcaster.to_connections(pages, to_browser.SessionEnded(message=GUEST_REMOVED).to_json())
            self._broadcaster.close(pages)
        if appointment.status is Status.IN_SESSION:
            self._signalling.leave(appointment, guest.seat)
            self._roster.announce(appointment)

    def _guest_left(self, connection: Connection) -> None:
        assert connection.appointment_id is not None and connection.guest_id is not None
        now = self._clock()
        still_here = [
            c
            for c in self._registry.in_channel(guest_channel(connection.appointment_id, connection.seat))
            if c.guest_id == connection.guest_id and c.alive(now)
        ]
        if not still_here and self._guests is not None:
            self._guests.set_presence(connection.appointment_id, connection.guest_id, False)
        self._left_call(connection, connection.appointment_id)

    def _left_call(self, connection: Connection, appointment_id: str) -> None:
        """A page of a running call has gone: the worker closes its peer (if it is still that
        page's), the others hear who is left."""
        appointment = self._appointment_store.get(appointment_id)
        if appointment is None or appointment.status is not Status.IN_SESSION:
            return
        self._signalling.leave(appointment, connection.seat, connection.id)
        self._roster.announce(appointment)

    # -- the patient's presence ----------------------------------------------------------

    def live_patient_connections(self, appointment_id: str) -> list[Connection]:
        now = self._clock()
        return [c for c in self._registry.in_channel(patient_channel(appointment_id)) if c.alive(now)]

    def patient_online(self, appointment_id: str) -> None:
        self._appointments.mutate(appointment_id, lambda a: a.come_online(self._clock()))

    def patient_maybe_gone(self, appointment_id: str) -> None:
        if self.live_patient_connections(appointment_id):
            return
        try:
            self._appointments.mutate(appointment_id, lambda a: a.go_offline(self._clock()))
        except NotFound:
            return
        # A tab may have connected between the count and the write: it must not look offline.
        if self.live_patient_connections(appointment_id):
            self.patient_online(appointment_id)
