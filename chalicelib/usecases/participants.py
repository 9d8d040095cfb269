"""Who may act in a running session: its clinician (the one who took it), its patient and its
guests (each by their own link; a removed guest's connections are closed)."""

from __future__ import annotations

from chalicelib.domain.appointment import Appointment, Status
from chalicelib.domain.clinician import Clinician
from chalicelib.errors import Conflict, Forbidden, NotFound, Unauthorized
from chalicelib.realtime.connections import Connection, Role
from chalicelib.store.ports import AppointmentStore
from chalicelib.usecases.appointments import AppointmentService


def clinician_of(connection: Connection) -> Clinician:
    if connection.clinician_id is None:
        raise Unauthorized("Only a clinician can do that.")
    return Clinician(
        id=connection.clinician_id,
        email=connection.email or "",
        name=connection.name,
        groups=connection.groups,
    )


def running_session(
    appointments: AppointmentService,
    appointment_store: AppointmentStore,
    connection: Connection,
    appointment_id: str,
    not_running: str = "The session is not running.",
) -> Appointment:
    """The appointment, if `connection` belongs to its running session; otherwise the error
    that says why (another group's or another patient's appointment is simply not found)."""
    if connection.role is Role.CLINICIAN:
        appointment = appointments.get(clinician_of(connection), appointment_id)
        if not appointment.held_by(clinician_of(connection).id):
            raise Forbidden("Only the clinician in the session can do that.")
    elif connection.role in (Role.PATIENT, Role.GUEST) and connection.appointment_id == appointment_id:
        found = appointment_store.get(appointment_id)
        if found is None:
            raise NotFound("No such appointment.")
        appointment = found
    else:
        raise NotFound("No such appointment.")
    if appointment.status is not Status.IN_SESSION:
        raise Conflict(not_running)
    return appointment
