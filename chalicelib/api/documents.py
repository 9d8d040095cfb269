"""What the clinician sends and keeps of a call: written information for the patient
(`POST /api/appointments/{id}/documents`) and the screenshots taken (`GET .../screenshots`)."""

from __future__ import annotations

from chalice.app import Response

from chalicelib.api.edge import DOCUMENT_BODY_MAX, JsonRoutes, json_response, services

routes = JsonRoutes(__name__)


@routes("/api/appointments/{appointment_id}/documents", methods=("POST",))
def send_document(appointment_id: str) -> Response:
    from chalicelib.api import bodies

    user = routes.clinician()
    command = bodies.send_document(routes.body(DOCUMENT_BODY_MAX))
    return json_response(services().documents.send_document(user, appointment_id, command), 201)


@routes("/api/appointments/{appointment_id}/screenshots")
def list_screenshots(appointment_id: str) -> Response:
    user = routes.clinician()
    shots, more = services().screenshots.screenshots(user, appointment_id, routes.query())
    return json_response({"screenshots": shots, **more})
