"""What the Cognito calls of login and password reset share: reading a boto3 error's code, and
the answers every flow gives for the pool's password policy, throttling and an outage."""

from __future__ import annotations

from typing import Any

from chalicelib.errors import RateLimited, ValidationFailed

UNAVAILABLE = "Login is not available right now; try again shortly."
TOO_WEAK = "The new password is too weak for the password policy; choose a longer one."


def error_code(exc: Any) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


THROTTLED = ("TooManyRequestsException", "LimitExceededException")


def password_refused_or_throttled(error: str, exc: Exception) -> None:
    """What answering a challenge and resetting a password have in common: the pool's
    password policy (400 on `new_password`) and Cognito's own throttling (429)."""
    if error == "InvalidPasswordException":
        raise ValidationFailed(TOO_WEAK, "new_password") from exc
    if error in THROTTLED:
        raise RateLimited("Too many attempts; wait a minute and try again.") from exc
