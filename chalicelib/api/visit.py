"""The patient's routes, each checked against the patient's link (`/api/visit/{token}`): the
visit, its chat history, and the written information with its downloads. A guest's link
opens the visit (`participant` says whose link it is) and the chat since the guest was invited;
the written information is the patient's."""

from __future__ import annotations

from chalice.app import Response

from chalicelib.api.edge import JsonRoutes, json_response, services

routes = JsonRoutes(__name__)


@routes("/api/visit/{token}")
def visit(token: str) -> Response:
    from chalicelib import representations

    svc = services()
    appointment, guest = svc.guests.open_link(token)  # the patient's link, or a guest's
    group_name = svc.appointments.group_name(appointment.group)
    return json_response(representations.visit(appointment, group_name, as_guest=guest))


@routes("/api/visit/{token}/messages")
def visit_chat_history(token: str) -> Response:
    from chalicelib import representations

    svc = services()
    appointment, guest = svc.guests.open_link(token)  # a guest reads what was said since they came
    page, more = svc.live.chat_page_for_patient(appointment, routes.query(), guest)
    return json_response({"messages": [representations.chat(m) for m in page.items], **more})


@routes("/api/visit/{token}/documents")
def visit_documents(token: str) -> Response:
    svc = services()
    appointment = svc.appointments.visit(token)
    documents, more = svc.documents.patient_documents_page(appointment, routes.query())
    return json_response({"documents": documents, **more})


@routes("/api/visit/{token}/documents/{document_id}")
def visit_document(token: str, document_id: str) -> Response:
    """The patient's download: checked against their link, then a short-lived S3 link."""
    svc = services()
    appointment = svc.appointments.visit(token)
    link = svc.documents.patient_document_link(appointment, document_id)
    return Response(body="", status_code=302, headers={"Location": link, "Cache-Control": "no-store"})
