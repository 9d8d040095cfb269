"""A clinician's forgotten password: Cognito's ForgotPassword and ConfirmForgotPassword.

On AWS Cognito mails the code and checks it. moto does neither (it hands the code back in a
response header and accepts any code), so in the local run `LocalResetCodes` mails moto's code
through the app's mailer and checks it (a hash, 15 minutes, 5 tries), and the pool's password
policy is applied here.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

from chalicelib.auth.cognito_errors import (
    THROTTLED,
    TOO_WEAK,
    UNAVAILABLE,
    error_code,
    password_refused_or_throttled,
)
from chalicelib.errors import RateLimited, ServiceUnavailable, ValidationFailed

RESET_CODE_TTL_SECONDS = 15 * 60
RESET_CODE_TRIES = 5
_BAD_RESET_CODE = "That code is wrong or has expired; ask for a new one."
_MOTO_CODE_HEADER = "x-moto-forgot-password-confirmation-code"


class LocalResetCodes:
    """The local run's stand-in for Cognito's reset mail and code check (in memory, per run)."""

    def __init__(self, mailer: Any, sender: str, clock: Callable[[], float] = time.monotonic) -> None:
        self._mailer = mailer
        self._sender = sender
        self._clock = clock
        self._key = secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._codes: dict[str, tuple[bytes, float, int]] = {}

    def _digest(self, email: str, code: str) -> bytes:
        return hmac.new(self._key, f"{email.lower()}\n{code}".encode(), hashlib.sha256).digest()

    def issue(self, email: str, code: str) -> None:
        with self._lock:
            self._codes[email.lower()] = (
                self._digest(email, code),
                self._clock() + RESET_CODE_TTL_SECONDS,
                0,
            )
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = email
        message["Subject"] = "Your eClinic password reset code"
        message.set_content(
            f"Your password reset code is {code}.\n\nIt is valid for 15 minutes. If you did not ask "
            "to reset your password, ignore this mail.\n"
        )
        self._mailer.send(message)

    def check(self, email: str, code: str) -> None:
        """Raises ValidationFailed (`code`) unless `code` is the live one; a right code is used up."""
        with self._lock:
            entry = self._codes.get(email.lower())
            if entry is None:
                raise ValidationFailed(_BAD_RESET_CODE, "code")
            digest, expires_at, tries = entry
            if self._clock() > expires_at or tries >= RESET_CODE_TRIES:
                del self._codes[email.lower()]
                raise ValidationFailed(_BAD_RESET_CODE, "code")
            if not hmac.compare_digest(digest, self._digest(email, code)):
                self._codes[email.lower()] = (digest, expires_at, tries + 1)
                raise ValidationFailed(_BAD_RESET_CODE, "code")
            del self._codes[email.lower()]


class CognitoPasswordReset:
    """Starts and completes a reset for the pool's app client; the local run's codes beside."""

    def __init__(
        self, cognito_client: Any, user_pool_id: str, client_id: str, local_reset: LocalResetCodes | None
    ) -> None:
        self._cognito = cognito_client
        self._pool_id = user_pool_id
        self._client_id = client_id
        self._local_reset = local_reset

    def forgot(self, email: str) -> None:
        """Starts a reset; says nothing about whether the address is a user's."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self._cognito.forgot_password(ClientId=self._client_id, Username=email)
        except ClientError as exc:
            if error_code(exc) in THROTTLED:
                raise RateLimited("Too many attempts; wait a minute and try again.") from exc
            return  # unknown user, unverified address, ...: the same answer as success
        except BotoCoreError as exc:
            raise ServiceUnavailable(UNAVAILABLE) from exc
        if self._local_reset is not None:
            header = str(
                answer.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get(_MOTO_CODE_HEADER) or ""
            )
            code = header.rpartition(":")[2].strip()
            if code.isdigit():  # a known user; for others moto sends "...:None" or nothing
                self._local_reset.issue(email, code)

    def _check_policy(self, password: str) -> None:
        """moto does not apply the pool's password policy on reset; the local run does it here."""
        policy = (
            self._cognito.describe_user_pool(UserPoolId=self._pool_id)["UserPool"]
            .get("Policies", {})
            .get("PasswordPolicy", {})
        )
        checks = [
            len(password) >= int(policy.get("MinimumLength", 8)),
            not policy.get("RequireUppercase") or any(c.isupper() for c in password),
            not policy.get("RequireLowercase") or any(c.islower() for c in password),
            not policy.get("RequireNumbers") or any(c.isdigit() for c in password),
            not policy.get("RequireSymbols") or any(not c.isalnum() for c in password),
        ]
        if not all(checks):
            raise ValidationFailed(TOO_WEAK, "new_password")

    def reset(self, email: str, code: str, new_password: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

        if self._local_reset is not None:
            self._check_policy(new_password)
            self._local_reset.check(email, code)
        try:
            self._cognito.confirm_forgot_password(
                ClientId=self._client_id, Username=email, ConfirmationCode=code, Password=new_password
            )
        except ParamValidationError as exc:
            raise ValidationFailed(_BAD_RESET_CODE, "code") from exc
        except ClientError as exc:
            error = error_code(exc)
            password_refused_or_throttled(error, exc)
            if error in (
                "CodeMismatchException",
                "ExpiredCodeException",
                "UserNotFoundException",
                "NotAuthorizedException",
                "InvalidParameterException",
            ):
                raise ValidationFailed(_BAD_RESET_CODE, "code") from exc
            raise ServiceUnavailable(UNAVAILABLE) from exc
        except BotoCoreError as exc:
            raise ServiceUnavailable(UNAVAILABLE) from exc
