"""The clinician's routes for a visit's guests: invite one (`POST`), list them (`GET`) and
remove one (`DELETE .../guests/{guest_id}`). The body is parsed into a typed command here, at
the edge; the rules are the use case's (`chalicelib/usecases/guests.py`)."""

from __future__ import annotations

from chalice.app import Response

from chalicelib.api.edge import JsonRoutes, json_response, services

routes = JsonRoutes(__name__)


@routes("/api/appointments/{appointment_id}/guests", methods=("POST",))
def add_guest(appointment_id: str) -> Response:
    from chalicelib import representations
    from chalicelib.api import bodies

    user = routes.clinician()
    command = bodies.add_guest(routes.body())
    invited = services().guests.add(user, appointment_id, command)
    body = representations.guest(invited.guest)
    if invited.mailed is not None:
        # Beyond API.md: whether the mail service took the invitation ("sent" or "failed").
        body["invitation"] = "sent" if invited.mailed else "failed"
    return json_response(body, 201)


@routes("/api/appointments/{appointment_id}/guests")
def list_guests(appointment_id: str) -> Response:
    from chalicelib import representations

    user = routes.clinician()
    found = services().guests.guests(user, appointment_id)
    return json_response({"guests": [representations.guest(g) for g in found]})


@routes("/api/appointments/{appointment_id}/guests/{guest_id}", methods=("DELETE",))
def remove_guest(appointment_id: str, guest_id: str) -> Response:
    from chalicelib import representations

    user = routes.clinician()
    removed = services().guests.remove(user, appointment_id, guest_id)
    return json_response(representations.guest(removed.guest))
