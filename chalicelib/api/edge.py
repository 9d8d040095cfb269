"""What every REST route shares: JSON routes on a Chalice Blueprint, the one place where domain
errors become the contract's error answers, and reading a request (body, query, bearer token).

A route module makes `routes = JsonRoutes(__name__)`, decorates its views with `@routes(path)`,
and `app.py` registers `routes.blueprint`. Everything heavy (boto3, PynamoDB, JWT, jinja2) is
imported on first use through `services()`, so a cold start imports little.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint, Request, Response

from chalicelib import json_input
from chalicelib.errors import EclinicError, TooLarge, Unauthorized

if TYPE_CHECKING:
    from chalicelib.domain.clinician import Clinician
    from chalicelib.wiring import Services

JSON_BODY_MAX = 64 * 1024
# 5 MiB of file, base64-encoded, with its JSON around it.
DOCUMENT_BODY_MAX = 7 * 1024 * 1024 + 64 * 1024
_NO_STORE = {"Cache-Control": "no-store", "Content-Type": "application/json"}
# Chalice refuses bodies of other content types with its own error shape; accept the common
# ones and let the JSON parser answer in the contract's shape instead.
_CONTENT_TYPES = ["application/json", "text/plain", "application/x-www-form-urlencoded"]

View = Callable[..., Response]


def services() -> Services:
    from chalicelib.wiring import services as build_services

    return build_services()


def json_response(body: Any, status: int = 200) -> Response:
    return Response(body=body, status_code=status, headers=dict(_NO_STORE))


def error_response(exc: EclinicError) -> Response:
    """The contract's error answer: `exc.status` with `{"error": {code, message, field}}`."""
    return json_response(exc.to_body(), exc.status)


class JsonRoutes:
    """One resource group's routes: a Blueprint whose JSON views answer EclinicErrors with the
    contract's error body (anything else with a logged 500), and the request they handle."""

    def __init__(self, import_name: str) -> None:
        self.blueprint = Blueprint(import_name)

    def __call__(self, path: str, methods: tuple[str, ...] = ("GET",)) -> Callable[[View], View]:
        def register(view: View) -> View:
            @functools.wraps(view)
            def handler(**params: str) -> Response:
                try:
                    return view(**params)
                except EclinicError as exc:
                    return error_response(exc)
                except Exception:
                    from chalicelib.logs import logger

                    logger().exception("unhandled error", route=path)
                    return error_response(EclinicError("Something went wrong on our side; try again."))

            options: dict[str, Any] = {"methods": list(methods)}
            if any(m in ("POST", "PUT") for m in methods):
                options["content_types"] = _CONTENT_TYPES
            self.blueprint.route(path, **options)(handler)
            return handler

        return register

    def request(self) -> Request:
        """The request being handled (only called while handling one)."""
        return self.blueprint.current_request

    def body(self, limit: int = JSON_BODY_MAX) -> Any:
        """The JSON body ({} when empty); refused when over `limit` or not JSON."""
        raw = self.request().raw_body or b""
        if len(raw) > limit:
            raise TooLarge(f"The request body must be at most {limit // 1024} KiB.")
        if not raw.strip():
            return {}
        return json_input.loads(raw, "The request body")

    def query(self) -> dict[str, str]:
        return dict(self.request().query_params or {})

    def bearer_token(self) -> str:
        header = self.request().headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("Log in to continue.")
        return str(token).strip()

    def clinician(self) -> Clinician:
        """The logged-in clinician the bearer token names; 401 without a valid one."""
        return services().tokens.verify(self.bearer_token())
