"""eClinic's Chalice app: routes and websocket handlers only.

Each handler parses its input, calls one use case and shapes the answer; domain errors become
the contract's error body here, at the edge. Everything heavy (boto3, PynamoDB, JWT, jinja2)
is imported on first use through `chalicelib.wiring`, so a cold start imports little.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from chalice.app import Chalice, Rate, Request, Response, WebsocketEvent

from chalicelib import json_input
from chalicelib.errors import EclinicError, NotFound, TooLarge, Unauthorized, ValidationFailed

app = Chalice(app_name="eclinic")
app.experimental_feature_flags.update(["WEBSOCKETS"])

JSON_BODY_MAX = 64 * 1024
# 5 MiB of file, base64-encoded, with its JSON around it.
DOCUMENT_BODY_MAX = 7 * 1024 * 1024 + 64 * 1024
_NO_STORE = {"Cache-Control": "no-store", "Content-Type": "application/json"}
# Chalice refuses bodies of other content types with its own error shape; accept the common
# ones and let the JSON parser below answer in the contract's shape instead.
_CONTENT_TYPES = ["application/json", "text/plain", "application/x-www-form-urlencoded"]


def services() -> Any:
    from chalicelib.wiring import services as build_services

    return build_services()


def json_response(body: Any, status: int = 200) -> Response:
    return Response(body=body, status_code=status, headers=dict(_NO_STORE))


def error_response(exc: EclinicError) -> Response:
    return json_response(exc.to_body(), exc.status)


def api(path: str, methods: tuple[str, ...] = ("GET",)) -> Callable[[Callable[..., Any]], Any]:
    """Registers a JSON route whose EclinicErrors become the contract's error answers."""

    def register(view: Callable[..., Any]) -> Any:
        @functools.wraps(view)
        def handler(**params: str) -> Response:
            try:
                return view(**params)  # type: ignore[no-any-return]
            except EclinicError as exc:
                return error_response(exc)
            except Exception:
                from chalicelib.logs import logger

                logger().exception("unhandled error", route=path)
                return error_response(EclinicError("Something went wrong on our side; try again."))

        kwargs: dict[str, Any] = {"methods": list(methods)}
        if any(m in ("POST", "PUT") for m in methods):
            kwargs["content_types"] = _CONTENT_TYPES
        return app.route(path, **kwargs)(handler)

    return register


def current_request() -> Request:
    request = app.current_request
    assert request is not None, "only called while handling a request"
    return request


def request_body(limit: int = JSON_BODY_MAX) -> Any:
    raw = current_request().raw_body or b""
    if len(raw) > limit:
        raise TooLarge(f"The request body must be at most {limit // 1024} KiB.")
    if not raw.strip():
        return {}
    return json_input.loads(raw, "The request body")


def query_params() -> dict[str, str]:
    return dict(current_request().query_params or {})


def bearer_token() -> str:
    header = current_request().headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Log in to continue.")
    return str(token).strip()


def clinician() -> Any:
    return services().tokens.verify(bearer_token())


def appointment_json(appointment: Any) -> dict[str, Any]:
    from chalicelib import representations

    return representations.appointment(appointment)


# -- clinician REST API -------------------------------------------------------------------


@api("/api/auth/login", methods=("POST",))
def login() -> Response:
    from chalicelib.domain import rules

    body = rules.require_object(request_body())
    email = rules.text(body, "email", "Email", 320)
    password = body.get("password")
    if not isinstance(password, str) or not password:
        raise ValidationFailed("Password is required.", "password")
    return login_answer(services().identity.login(email, password, caller()), email)


def caller() -> Any:
    from chalicelib.auth.cognito import Caller

    request = current_request()
    identity = request.context.get("identity") or {}
    return Caller(
        ip_address=str(identity.get("sourceIp") or ""),
        user_agent=str(identity.get("userAgent") or request.headers.get("user-agent") or ""),
        server_name=str(request.headers.get("host") or ""),
        server_path=str(request.context.get("path") or ""),
    )


def login_answer(result: Any, email: str) -> Response:
    """A login's 200: the tokens and user, or the challenge the caller must answer next."""
    from chalicelib import representations
    from chalicelib.auth.cognito import Challenge

    if isinstance(result, Challenge):
        body = {"challenge": result.name, "session": result.session}
        if result.secret:  # `mfa_setup`, beyond API.md: what the authenticator app scans
            body.update(authenticator_setup(result.secret, email))
        return json_response(body)
    svc = services()
    user = svc.tokens.verify(result.id_token)
    svc.access_tokens.keep(result.id_token, result.access_token, result.expires_in)
    return json_response(
        {
            "id_token": result.id_token,
            "expires_in": result.expires_in,
            "user": representations.user(user, dict(svc.identity.group_names())),
        }
    )


def authenticator_setup(secret: str, account: str) -> dict[str, str]:
    """`secret` and `otpauth_uri` of the contract, and (beyond it) `qr_code`, an image data URI."""
    from chalicelib.auth import authenticator

    uri = authenticator.otpauth_uri(secret, account)
    return {"secret": secret, "otpauth_uri": uri, "qr_code": authenticator.qr_code_data_uri(uri)}


def optional_text(body: Any, field: str, limit: int = 256) -> str:
    value = body.get(field)
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > limit:
        raise ValidationFailed(f"{field} must be a text of at most {limit} characters.", field)
    return value


@api("/api/auth/challenge", methods=("POST",))
def login_challenge() -> Response:
    from chalicelib.domain import rules

    body = rules.require_object(request_body())
    email = rules.text(body, "email", "Email", 320)
    session = optional_text(body, "session", 4096)
    if not session:
        raise Unauthorized("That session is not valid any more; log in again.")
    new_password = optional_text(body, "new_password")
    code = optional_text(body, "code", 16)
    if not new_password and not code:
        raise ValidationFailed("Give the new password or the code.", "new_password")
    return login_answer(services().identity.respond(email, session, new_password, code, caller()), email)


@api("/api/auth/forgot", methods=("POST",))
def forgot_password() -> Response:
    from chalicelib.domain import rules

    body = rules.require_object(request_body())
    services().identity.forgot(rules.text(body, "email", "Email", 320))
    return json_response({}, 202)


@api("/api/auth/reset", methods=("POST",))
def reset_password() -> Response:
    from chalicelib.domain import rules

    body = rules.require_object(request_body())
    email = rules.text(body, "email", "Email", 320)
    code = optional_text(body, "code", 16).strip()
    if not code:
        raise ValidationFailed("The code from the mail is required.", "code")
    new_password = optional_text(body, "new_password")
    if not new_password:
        raise ValidationFailed("A new password is required.", "new_password")
    services().identity.reset(email, code, new_password)
    return json_response({})


@api("/api/me/mfa", methods=("POST",))
def start_mfa() -> Response:
    user = clinician()
    svc = services()
    secret = svc.identity.start_totp(svc.access_tokens.open(bearer_token()))
    return json_response(authenticator_setup(secret, user.email))


@api("/api/me/mfa/verify", methods=("POST",))
def verify_mfa() -> Response:
    from chalicelib.domain import rules

    clinician()
    body = rules.require_object(request_body())
    code = optional_text(body, "code", 16).strip()
    if not code:
        raise ValidationFailed("The code from the authenticator app is required.", "code")
    svc = services()
    svc.identity.verify_totp(svc.access_tokens.open(bearer_token()), code)
    return json_response({"mfa": True})


@api("/api/me")
def me() -> Response:
    from chalicelib import representations

    user = clinician()
    return json_response(representations.user(user, dict(services().identity.group_names())))


@api("/api/appointments", methods=("GET",))
def list_appointments() -> Response:
    user = clinician()
    query: dict[str, str] = dict(current_request().query_params or {})
    result, more = services().appointments.schedule(user, query)
    return json_response({"appointments": [appointment_json(a) for a in result.appointments], **more})


@api("/api/appointments", methods=("POST",))
def create_appointment() -> Response:
    user = clinician()
    body = request_body()
    return json_response(appointment_json(services().appointments.invite(user, body)), 201)


@api("/api/appointments/{appointment_id}")
def get_appointment(appointment_id: str) -> Response:
    user = clinician()
    return json_response(appointment_json(services().appointments.get(user, appointment_id)))


@api("/api/appointments/{appointment_id}/reschedule", methods=("POST",))
def reschedule_appointment(appointment_id: str) -> Response:
    user = clinician()
    body = request_body()
    return json_response(appointment_json(services().appointments.reschedule(user, appointment_id, body)))


@api("/api/appointments/{appointment_id}/cancel", methods=("POST",))
def cancel_appointment(appointment_id: str) -> Response:
    user = clinician()
    return json_response(appointment_json(services().appointments.cancel(user, appointment_id)))


@api("/api/appointments/{appointment_id}/reinvite", methods=("POST",))
def reinvite_appointment(appointment_id: str) -> Response:
    user = clinician()
    return json_response(appointment_json(services().appointments.reinvite(user, appointment_id)))


@api("/api/appointments/{appointment_id}/complete", methods=("POST",))
def complete_appointment(appointment_id: str) -> Response:
    user = clinician()
    return json_response(appointment_json(services().appointments.complete(user, appointment_id)))


@api("/api/appointments/{appointment_id}/tasks", methods=("POST",))
def create_task(appointment_id: str) -> Response:
    from chalicelib import representations

    user = clinician()
    task = services().appointments.create_task(user, appointment_id, request_body())
    return json_response(representations.task(task), 201)


@api("/api/appointments/{appointment_id}/audit")
def audit_trail(appointment_id: str) -> Response:
    from chalicelib import representations

    user = clinician()
    page, more = services().appointments.audit_page(user, appointment_id, query_params())
    return json_response({"events": [representations.audit_event(e) for e in page.items], **more})


@api("/api/appointments/{appointment_id}/documents", methods=("POST",))
def send_document(appointment_id: str) -> Response:
    user = clinician()
    body = request_body(DOCUMENT_BODY_MAX)
    return json_response(services().media.send_document(user, appointment_id, body), 201)


@api("/api/appointments/{appointment_id}/screenshots")
def list_screenshots(appointment_id: str) -> Response:
    user = clinician()
    shots, more = services().media.screenshots(user, appointment_id, query_params())
    return json_response({"screenshots": shots, **more})


# -- patient ----------------------------------------------------------------------------


@api("/api/visit/{token}")
def visit(token: str) -> Response:
    from chalicelib import representations

    appointments = services().appointments
    appointment = appointments.visit(token)
    return json_response(representations.visit(appointment, appointments.group_name(appointment.group)))


@api("/api/visit/{token}/messages")
def visit_chat_history(token: str) -> Response:
    from chalicelib import representations

    svc = services()
    appointment = svc.appointments.visit(token)
    page, more = svc.live.chat_page_for_patient(appointment, query_params())
    return json_response({"messages": [representations.chat(m) for m in page.items], **more})


@api("/api/visit/{token}/documents")
def visit_documents(token: str) -> Response:
    svc = services()
    appointment = svc.appointments.visit(token)
    documents, more = svc.media.patient_documents_page(appointment, query_params())
    return json_response({"documents": documents, **more})


@api("/api/visit/{token}/documents/{document_id}")
def visit_document(token: str, document_id: str) -> Response:
    """The patient's download: checked against their link, then a short-lived S3 link."""
    svc = services()
    appointment = svc.appointments.visit(token)
    link = svc.media.patient_document_link(appointment, document_id)
    return Response(body="", status_code=302, headers={"Location": link, "Cache-Control": "no-store"})


@api("/api/appointments/{appointment_id}/messages")
def chat_history(appointment_id: str) -> Response:
    from chalicelib import representations

    user = clinician()
    page, more = services().appointments.chat_page(user, appointment_id, query_params())
    return json_response({"messages": [representations.chat(m) for m in page.items], **more})


# -- pages ------------------------------------------------------------------------------


def page(template: str, root: str) -> Response:
    from chalicelib import pages

    settings = services().settings
    return Response(
        body=pages.render(template, root=root, ws_url=settings.ws_url),
        status_code=200,
        headers=pages.security_headers(
            settings.ws_url, current_request().headers.get("host", ""), settings.files_origin
        ),
    )


@app.route("/")
def schedule_page() -> Response:
    return page("pages/schedule.html", root="./")


@app.route("/visit/{token}")
def visit_page(token: str) -> Response:
    return page("pages/visit.html", root="../")


@app.route("/assets/{name}")
def asset(name: str) -> Response:
    from chalicelib import pages

    found = pages.asset(name)
    if found is None:
        return error_response(NotFound("No such file."))
    return Response(
        body=found.body,
        status_code=200,
        headers={"Content-Type": found.content_type, "Cache-Control": "public, max-age=300"},
    )


# -- websocket --------------------------------------------------------------------------


@app.on_ws_connect()
def ws_connect(event: WebsocketEvent) -> Response:
    query = event.to_dict().get("queryStringParameters") or {}
    try:
        services().live.connect(event.connection_id, query)
    except EclinicError as exc:
        # API Gateway refuses the handshake with this status: the socket never opens.
        return Response(body=exc.to_body(), status_code=exc.status)
    return Response(body="", status_code=200)


@app.on_ws_message()
def ws_message(event: WebsocketEvent) -> Response:
    svc = services()
    for reply in svc.live.handle(event.connection_id, event.body):
        svc.live.reply(event.connection_id, reply)
    return Response(body="", status_code=200)


@app.on_ws_disconnect()
def ws_disconnect(event: WebsocketEvent) -> Response:
    services().live.disconnect(event.connection_id)
    return Response(body="", status_code=200)


@app.schedule(Rate(1, unit=Rate.MINUTES))
def sweep_stale_connections(event: Any) -> None:
    services().live.sweep()


@app.lambda_function(name="send_reminder")
def send_reminder(event: Any, context: Any) -> dict[str, str]:
    """The reminder schedules' target (EventBridge Scheduler; the local run's timer locally).
    A malformed input is refused and not retried; a refused mail raises, so it is retried."""
    try:
        outcome = services().reminders.send(event)
    except ValidationFailed as exc:
        from chalicelib.logs import logger

        logger().warning("reminder input refused", reason=exc.message)
        return {"status": "refused"}
    return {"status": outcome}
