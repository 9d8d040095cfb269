"""Clinician login and author-group names, from the Cognito user pool.

Login is USER_PASSWORD_AUTH with the pool's app client. Author groups are the pool's groups;
their display names are the groups' descriptions, read once and kept for a few minutes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from chalicelib.errors import RateLimited, ServiceUnavailable, Unauthorized

GROUP_NAMES_TTL_SECONDS = 300
_BAD_LOGIN = "Email or password is incorrect."


@dataclass(frozen=True)
class LoginResult:
    id_token: str
    expires_in: int


class IdentityProvider(Protocol):
    def login(self, email: str, password: str) -> LoginResult: ...

    def group_names(self) -> Mapping[str, str]: ...


class CognitoIdentityProvider:
    def __init__(self, cognito_client: Any, user_pool_id: str, client_id: str) -> None:
        self._cognito = cognito_client
        self._pool_id = user_pool_id
        self._client_id = client_id
        self._lock = threading.Lock()
        self._names: dict[str, str] = {}
        self._names_read_at = 0.0

    def login(self, email: str, password: str) -> LoginResult:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self._cognito.initiate_auth(
                AuthFlow="USER_PASSWORD_AUTH",
                ClientId=self._client_id,
                AuthParameters={"USERNAME": email, "PASSWORD": password},
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("NotAuthorizedException", "UserNotFoundException", "InvalidParameterException"):
                raise Unauthorized(_BAD_LOGIN) from exc
            if code in ("TooManyRequestsException", "LimitExceededException"):
                raise RateLimited("Too many login attempts; wait a minute and try again.") from exc
            raise ServiceUnavailable("Login is not available right now; try again shortly.") from exc
        except BotoCoreError as exc:
            raise ServiceUnavailable("Login is not available right now; try again shortly.") from exc
        result = answer.get("AuthenticationResult")
        if not result:
            # A challenge (new password, MFA setup) that this page does not handle yet.
            raise Unauthorized("Your account needs attention; ask your administrator.")
        return LoginResult(id_token=result["IdToken"], expires_in=int(result["ExpiresIn"]))

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


class StaticIdentityProvider:
    """A fake for unit tests: fixed accounts and group names."""

    def __init__(self, tokens: Mapping[tuple[str, str], str], names: Mapping[str, str]) -> None:
        self._tokens = dict(tokens)
        self._names = dict(names)

    def login(self, email: str, password: str) -> LoginResult:
        token = self._tokens.get((email, password))
        if token is None:
            raise Unauthorized(_BAD_LOGIN)
        return LoginResult(id_token=token, expires_in=3600)

    def group_names(self) -> Mapping[str, str]:
        return dict(self._names)
