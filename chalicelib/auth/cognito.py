"""Clinician login and author-group names, from the Cognito user pool.

Login is ADMIN_USER_PASSWORD_AUTH with the pool's app client, so that the caller's IP address
and user agent reach Cognito's threat protection as ContextData (the public flow would pass
only an IP, and only with a client secret). A login may answer a challenge instead of tokens
(an operator-created user sets a password first; one with an authenticator app gives its code;
where the pool requires MFA, one without an app sets it up first); `respond` answers it.
Author groups are the pool's groups; their display names are the groups' descriptions, read
once and kept for a few minutes.

A forgotten password is `password_reset`'s (its local-run stand-in included); the error codes
the flows share are read in `cognito_errors`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from chalicelib.auth.access_tokens import RELOGIN_FOR_MFA
from chalicelib.auth.cognito_errors import (
    THROTTLED,
    UNAVAILABLE,
    error_code,
    password_refused_or_throttled,
)
from chalicelib.auth.password_reset import CognitoPasswordReset, LocalResetCodes
from chalicelib.errors import RateLimited, ServiceUnavailable, Unauthorized, ValidationFailed

GROUP_NAMES_TTL_SECONDS = 300
_BAD_LOGIN = "Email or password is incorrect."
_BAD_CHALLENGE = "That code or session is not valid any more; log in again."
_BAD_TOTP = "That code is not the authenticator app's current one."

# Cognito's challenge names and the contract's; `mfa_setup` is beyond API.md (a pool that
# requires MFA makes a user without an authenticator app set one up during login).
CHALLENGES = {
    "NEW_PASSWORD_REQUIRED": "new_password_required",
    "SOFTWARE_TOKEN_MFA": "mfa_code",
    "MFA_SETUP": "mfa_setup",
}
# The session this app hands out for `mfa_setup` carries this prefix, so that its code goes to
# VerifySoftwareToken rather than to the SOFTWARE_TOKEN_MFA challenge.
_SETUP_SESSION = "mfa-setup."


@dataclass(frozen=True)
class LoginResult:
    id_token: str
    expires_in: int
    access_token: str = ""


@dataclass(frozen=True)
class Challenge:
    """What the contract calls `challenge` (`new_password_required`, `mfa_code`) and its session;
    for `mfa_setup`, the authenticator app's new secret besides."""

    name: str
    session: str
    secret: str = ""


@dataclass(frozen=True)
class Caller:
    """Who is calling, for Cognito's threat protection (ContextData)."""

    ip_address: str = ""
    user_agent: str = ""
    server_name: str = ""
    server_path: str = ""


class IdentityProvider(Protocol):
    def login(self, email: str, password: str, caller: Caller = ...) -> LoginResult | Challenge: ...

    def respond(
        self, email: str, session: str, new_password: str, code: str, caller: Caller = ...
    ) -> LoginResult | Challenge: ...

    def forgot(self, email: str) -> None: ...

    def reset(self, email: str, code: str, new_password: str) -> None: ...

    def start_totp(self, access_token: str) -> str: ...

    def verify_totp(self, access_token: str, code: str) -> None: ...

    def group_names(self) -> Mapping[str, str]: ...


class CognitoIdentityProvider:
    def __init__(
        self,
        cognito_client: Any,
        user_pool_id: str,
        client_id: str,
        local_reset: LocalResetCodes | None = None,
    ) -> None:
        self._cognito = cognito_client
        self._pool_id = user_pool_id
        self._client_id = client_id
        self._reset = CognitoPasswordReset(cognito_client, user_pool_id, client_id, local_reset)
        self._lock = threading.Lock()
        self._names: dict[str, str] = {}
        self._names_read_at = 0.0

    @staticmethod
    def _context(caller: Caller) -> dict[str, Any]:
        if not caller.ip_address:
            return {}
        headers = [{"headerName": "User-Agent", "headerValue": caller.user_agent[:1024]}]
        return {
            "ContextData": {
                "IpAddress": caller.ip_address,
                "ServerName": caller.server_name or "eclinic",
                "ServerPath": caller.server_path or "/api/auth/login",
                "HttpHeaders": headers if caller.user_agent else [],
            }
        }

    def _answer(self, answer: Mapping[str, Any]) -> LoginResult | Challenge:
        result = answer.get("AuthenticationResult")
        if result:
            return LoginResult(
                id_token=result["IdToken"],
                expires_in=int(result["ExpiresIn"]),
                access_token=str(result.get("AccessToken", "")),
            )
        name = CHALLENGES.get(str(answer.get("ChallengeName", "")))
        if name is None or not answer.get("Session"):
            # A challenge (SMS, a custom one) that this app does not offer.
            raise Unauthorized("Your account needs attention; ask your administrator.")
        if name == "mfa_setup":
            return self._start_setup(str(answer["Session"]))
        return Challenge(name=name, session=str(answer["Session"]))

    def _start_setup(self, session: str) -> Challenge:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            setup = self._cognito.associate_software_token(Session=session)
        except ClientError as exc:
            raise Unauthorized(_BAD_CHALLENGE) from exc
        except BotoCoreError as exc:
            raise ServiceUnavailable(UNAVAILABLE) from exc
        return Challenge(
            name="mfa_setup",
            session=_SETUP_SESSION + str(setup.get("Session") or session),
            secret=str(setup["SecretCode"]),
        )

    def login(self, email: str, password: str, caller: Caller = Caller()) -> LoginResult | Challenge:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self._cognito.admin_initiate_auth(
                UserPoolId=self._pool_id,
                ClientId=self._client_id,
                AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": email, "PASSWORD": password},
                **self._context(caller),
            )
        except ClientError as exc:
            code = error_code(exc)
            if code in ("NotAuthorizedException", "UserNotFoundException", "InvalidParameterException"):
                raise Unauthorized(_BAD_LOGIN) from exc
            if code in THROTTLED:
                raise RateLimited("Too many login attempts; wait a minute and try again.") from exc
            raise ServiceUnavailable(UNAVAILABLE) from exc
        except BotoCoreError as exc:
            raise ServiceUnavailable(UNAVAILABLE) from exc
        return self._answer(answer)

    def respond(
        self, email: str, session: str, new_password: str, code: str, caller: Caller = Caller()
    ) -> LoginResult | Challenge:
        from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

        try:
            if session.startswith(_SETUP_SESSION) and code:
                # The new app's first code proves the setup; the MFA_SETUP answer then logs in.
                verified = self._cognito.verify_software_token(
                    Session=session.removeprefix(_SETUP_SESSION), UserCode=code, FriendlyDeviceName="eClinic"
                )
                if verified.get("Status") != "SUCCESS":
                    raise Unauthorized(_BAD_CHALLENGE)
                name, responses = "MFA_SETUP", {"USERNAME": email}
                session = str(verified.get("Session") or session.removeprefix(_SETUP_SESSION))
            elif new_password:
                name, responses = "NEW_PASSWORD_REQUIRED", {"USERNAME": email, "NEW_PASSWORD": new_password}
            elif code:
                name, responses = "SOFTWARE_TOKEN_MFA", {"USERNAME": email, "SOFTWARE_TOKEN_MFA_CODE": code}
            else:
                raise ValidationFailed("Give the new password or the code.", "new_password")
            answer = self._cognito.admin_respond_to_auth_challenge(
                UserPoolId=self._pool_id,
                ClientId=self._client_id,
                ChallengeName=name,
                Session=session,
                ChallengeResponses=responses,
                **self._context(caller),
            )
        except ParamValidationError as exc:  # a session or code too short or long to be one
            raise Unauthorized(_BAD_CHALLENGE) from exc
        except ClientError as exc:
            error = error_code(exc)
            password_refused_or_throttled(error, exc)
            if error in (
                "NotAuthorizedException",
                "CodeMismatchException",
                "ExpiredCodeException",
                "EnableSoftwareTokenMFAException",
                "ResourceNotFoundException",  # moto: an unknown or used session
                "UserNotFoundException",
                "InvalidParameterException",
            ):
                raise Unauthorized(_BAD_CHALLENGE) from exc
            raise ServiceUnavailable(UNAVAILABLE) from exc
        except BotoCoreError as exc:
            raise ServiceUnavailable(UNAVAILABLE) from exc
        return self._answer(answer)

    def forgot(self, email: str) -> None:
        """Starts a reset; says nothing about whether the address is a user's."""
        self._reset.forgot(email)

    def reset(self, email: str, code: str, new_password: str) -> None:
        self._reset.reset(email, code, new_password)

    def start_totp(self, access_token: str) -> str:
        """Starts authenticator-app setup; returns the shared secret (base32)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self._cognito.associate_software_token(AccessToken=access_token)
        except ClientError as exc:
            if error_code(exc) == "NotAuthorizedException":
                raise Unauthorized(RELOGIN_FOR_MFA) from exc
            raise ServiceUnavailable(UNAVAILABLE) from exc
        except BotoCoreError as exc:
            raise ServiceUnavailable(UNAVAILABLE) from exc
        return str(answer["SecretCode"])

    def verify_totp(self, access_token: str, code: str) -> None:
        """Checks the app's first code and makes TOTP the user's MFA: login then asks for it."""
        from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

        try:
            answer = self._cognito.verify_software_token(
                AccessToken=access_token, UserCode=code, FriendlyDeviceName="eClinic"
            )
            if answer.get("Status") != "SUCCESS":
                raise ValidationFailed(_BAD_TOTP, "code")
            self._cognito.set_user_mfa_preference(
                AccessToken=access_token,
                SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True},
            )
        except ParamValidationError as exc:  # not six digits
            raise ValidationFailed(_BAD_TOTP, "code") from exc
        except ClientError as exc:
            error = error_code(exc)
            if error in ("CodeMismatchException", "EnableSoftwareTokenMFAException"):
                raise ValidationFailed(_BAD_TOTP, "code") from exc
            if error in ("InvalidParameterException",):  # no setup started
                raise ValidationFailed("Start the authenticator setup first.", "code") from exc
            if error == "NotAuthorizedException":
                raise Unauthorized(RELOGIN_FOR_MFA) from exc
            raise ServiceUnavailable(UNAVAILABLE) from exc
        except BotoCoreError as exc:
            raise ServiceUnavailable(UNAVAILABLE) from exc

    def group_names(self) -> Mapping[str, str]:
        with self._lock:
            if time.monotonic() - self._names_read_at > GROUP_NAMES_TTL_SECONDS or not self._names:
                names: dict[str, str] = {}
                paginator = self._cognito.get_paginator("list_groups")
                for page in paginator.paginate(UserPoolId=self._pool_id):
                    for group in page.get("Groups", []):
                        names[group["GroupName"]] = group.get("Description") or group["GroupName"]
                self._names = names
                self._names_read_at = time.monotonic()
            return dict(self._names)
