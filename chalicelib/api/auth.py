"""The clinician's login routes (`/api/auth/...`: login, challenge, forgotten password) and their
own account (`/api/me`, authenticator-app setup)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from chalice.app import Response

from chalicelib.api.edge import JsonRoutes, json_response, services
from chalicelib.errors import Unauthorized, ValidationFailed

if TYPE_CHECKING:
    from chalicelib.auth.cognito import Caller, Challenge, LoginResult

routes = JsonRoutes(__name__)


@routes("/api/auth/login", methods=("POST",))
def login() -> Response:
    from chalicelib.domain import rules

    body = rules.require_object(routes.body())
    email = rules.text(body, "email", "Email", 320)
    password = body.get("password")
    if not isinstance(password, str) or not password:
        raise ValidationFailed("Password is required.", "password")
    return login_answer(services().identity.login(email, password, caller()), email)


def caller() -> Caller:
    from chalicelib.auth.cognito import Caller

    request = routes.request()
    identity = request.context.get("identity") or {}
    return Caller(
        ip_address=str(identity.get("sourceIp") or ""),
        user_agent=str(identity.get("userAgent") or request.headers.get("user-agent") or ""),
        server_name=str(request.headers.get("host") or ""),
        server_path=str(request.context.get("path") or ""),
    )


def login_answer(result: LoginResult | Challenge, email: str) -> Response:
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


def optional_text(body: Mapping[str, Any], field: str, limit: int = 256) -> str:
    value = body.get(field)
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > limit:
        raise ValidationFailed(f"{field} must be a text of at most {limit} characters.", field)
    return value


@routes("/api/auth/challenge", methods=("POST",))
def login_challenge() -> Response:
    from chalicelib.domain import rules

    body = rules.require_object(routes.body())
    email = rules.text(body, "email", "Email", 320)
    session = optional_text(body, "session", 4096)
    if not session:
        raise Unauthorized("That session is not valid any more; log in again.")
    new_password = optional_text(body, "new_password")
    code = optional_text(body, "code", 16)
    if not new_password and not code:
        raise ValidationFailed("Give the new password or the code.", "new_password")
    return login_answer(services().identity.respond(email, session, new_password, code, caller()), email)


@routes("/api/auth/forgot", methods=("POST",))
def forgot_password() -> Response:
    from chalicelib.domain import rules

    body = rules.require_object(routes.body())
    services().identity.forgot(rules.text(body, "email", "Email", 320))
    return json_response({}, 202)


@routes("/api/auth/reset", methods=("POST",))
def reset_password() -> Response:
    from chalicelib.domain import rules

    body = rules.require_object(routes.body())
    email = rules.text(body, "email", "Email", 320)
    code = optional_text(body, "code", 16).strip()
    if not code:
        raise ValidationFailed("The code from the mail is required.", "code")
    new_password = optional_text(body, "new_password")
    if not new_password:
        raise ValidationFailed("A new password is required.", "new_password")
    services().identity.reset(email, code, new_password)
    return json_response({})


@routes("/api/me/mfa", methods=("POST",))
def start_mfa() -> Response:
    user = routes.clinician()
    svc = services()
    secret = svc.identity.start_totp(svc.access_tokens.open(routes.bearer_token()))
    return json_response(authenticator_setup(secret, user.email))


@routes("/api/me/mfa/verify", methods=("POST",))
def verify_mfa() -> Response:
    from chalicelib.domain import rules

    routes.clinician()
    body = rules.require_object(routes.body())
    code = optional_text(body, "code", 16).strip()
    if not code:
        raise ValidationFailed("The code from the authenticator app is required.", "code")
    svc = services()
    svc.identity.verify_totp(svc.access_tokens.open(routes.bearer_token()), code)
    return json_response({"mfa": True})


@routes("/api/me")
def me() -> Response:
    from chalicelib import representations

    user = routes.clinician()
    return json_response(representations.user(user, dict(services().identity.group_names())))
