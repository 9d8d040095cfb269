"""The clinician's appointment routes: the schedule, inviting, one appointment and its moves
(reschedule, cancel, re-invite, complete), its audit trail and its chat."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.app import Response

from chalicelib.api.edge import JsonRoutes, json_response, services

if TYPE_CHECKING:
    from chalicelib.domain.appointment import Appointment

routes = JsonRoutes(__name__)


def appointment_json(appointment: Appointment) -> dict[str, Any]:
    from chalicelib import representations

    return representations.appointment(appointment)


@routes("/api/appointments", methods=("GET",))
def list_appointments() -> Response:
    user = routes.clinician()
    result, more = services().appointments.schedule(user, routes.query())
    return json_response({"appointments": [appointment_json(a) for a in result.appointments], **more})


@routes("/api/appointments", methods=("POST",))
def create_appointment() -> Response:
    from chalicelib.api import bodies

    user = routes.clinician()
    command = bodies.invite(routes.body())
    return json_response(appointment_json(services().appointments.invite(user, command)), 201)


@routes("/api/appointments/{appointment_id}")
def get_appointment(appointment_id: str) -> Response:
    user = routes.clinician()
    return json_response(appointment_json(services().appointments.get(user, appointment_id)))


@routes("/api/appointments/{appointment_id}/reschedule", methods=("POST",))
def reschedule_appointment(appointment_id: str) -> Response:
    from chalicelib.api import bodies

    user = routes.clinician()
    command = bodies.reschedule(routes.body())
    return json_response(appointment_json(services().appointments.reschedule(user, appointment_id, command)))


@routes("/api/appointments/{appointment_id}/cancel", methods=("POST",))
def cancel_appointment(appointment_id: str) -> Response:
    user = routes.clinician()
    return json_response(appointment_json(services().appointments.cancel(user, appointment_id)))


@routes("/api/appointments/{appointment_id}/reinvite", methods=("POST",))
def reinvite_appointment(appointment_id: str) -> Response:
    user = routes.clinician()
    return json_response(appointment_json(services().appointments.reinvite(user, appointment_id)))


@routes("/api/appointments/{appointment_id}/complete", methods=("POST",))
def complete_appointment(appointment_id: str) -> Response:
    user = routes.clinician()
    return json_response(appointment_json(services().appointments.complete(user, appointment_id)))


@routes("/api/appointments/{appointment_id}/audit")
def audit_trail(appointment_id: str) -> Response:
    from chalicelib import representations

    user = routes.clinician()
    page, more = services().appointments.audit_page(user, appointment_id, routes.query())
    return json_response({"events": [representations.audit_event(e) for e in page.items], **more})


@routes("/api/appointments/{appointment_id}/messages")
def chat_history(appointment_id: str) -> Response:
    from chalicelib import representations

    user = routes.clinician()
    page, more = services().appointments.chat_page(user, appointment_id, routes.query())
    return json_response({"messages": [representations.chat(m) for m in page.items], **more})
