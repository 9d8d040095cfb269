"""Errors the application raises, one per contract error code.

They live apart from the HTTP edge so that the domain and the use cases can name what went
wrong without knowing about HTTP; `app.py` maps them to status codes and the contract's body.
"""

from __future__ import annotations


class EclinicError(Exception):
    """Base of every error a caller may see; `code` and `status` follow API.md."""

    code = "internal"
    status = 500

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def to_body(self) -> dict[str, dict[str, str]]:
        error = {"code": self.code, "message": self.message}
        if self.field is not None:
            error["field"] = self.field
        return {"error": error}


class ValidationFailed(EclinicError):
    code = "validation_error"
    status = 400


class Unauthorized(EclinicError):
    code = "unauthorized"
    status = 401


class Forbidden(EclinicError):
    code = "forbidden"
    status = 403


class NotFound(EclinicError):
    code = "not_found"
    status = 404


class Conflict(EclinicError):
    code = "conflict"
    status = 409


class Gone(EclinicError):
    code = "gone"
    status = 410


class TooLarge(EclinicError):
    code = "too_large"
    status = 413


class RateLimited(EclinicError):
    code = "rate_limited"
    status = 429


class ServiceUnavailable(EclinicError):
    """An outside service failed; the caller may retry. Reported as `internal`."""

    code = "internal"
    status = 500
