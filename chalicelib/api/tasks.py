"""The clinician's follow-up tasks of an appointment (`POST /api/appointments/{id}/tasks`)."""

from __future__ import annotations

from chalice.app import Response

from chalicelib.api.edge import JsonRoutes, json_response, services

routes = JsonRoutes(__name__)


@routes("/api/appointments/{appointment_id}/tasks", methods=("POST",))
def create_task(appointment_id: str) -> Response:
    from chalicelib import representations
    from chalicelib.api import bodies

    user = routes.clinician()
    command = bodies.create_task(routes.body())
    task = services().appointments.create_task(user, appointment_id, command)
    return json_response(representations.task(task), 201)
