"""Verifies Cognito ID tokens with PyJWT against the user pool's published keys (JWKS).

Checked on every clinician call and websocket connect: RS256 signature by a key of the pool,
issuer, audience (the app client id), expiry and `token_use` = "id". The clinician is the
token's `sub`; a token whose email is not verified is refused, since a user who changed their
own email would otherwise carry a colleague's address. Anything else is Unauthorized, with one
message for all causes so that a caller learns nothing from it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import jwt

from chalicelib.domain.clinician import Clinician
from chalicelib.errors import Unauthorized

_REJECTED = "Your session is not valid or has expired; please log in again."
JWKS_CACHE_SECONDS = 3600


@dataclass(frozen=True)
class Session:
    """A verified token: who, and until when (a websocket must not outlive it)."""

    clinician: Clinician
    expires_at: datetime


class TokenVerifier(Protocol):
    """What the use cases need of a token check: the session a clinician's ID token opens
    (Unauthorized when it opens none); the real one is CognitoTokenVerifier."""

    def verify(self, token: str) -> Clinician: ...

    def session(self, token: str) -> Session: ...


class CognitoTokenVerifier:
    def __init__(
        self,
        jwks_url: str,
        issuer: str,
        audience: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._issuer = issuer
        self._audience = audience
        self._clock = clock
        # PyJWKClient caches the key set and refetches once on an unknown key id (rotation).
        self._keys = jwt.PyJWKClient(jwks_url, cache_jwk_set=True, lifespan=JWKS_CACHE_SECONDS)
        self._lock = threading.Lock()

    def verify(self, token: str) -> Clinician:
        return self.session(token).clinician

    def session(self, token: str) -> Session:
        claims = self.claims(token)
        subject, email = claims.get("sub"), claims.get("email")
        groups = claims.get("cognito:groups") or []
        if not isinstance(subject, str) or not subject or not isinstance(email, str) or not email:
            raise Unauthorized(_REJECTED)
        # Cognito puts a boolean in the token; moto (the local run) the attribute's string.
        if claims.get("email_verified") not in (True, "true"):
            raise Unauthorized(_REJECTED)
        if not isinstance(groups, list):
            raise Unauthorized(_REJECTED)
        clinician = Clinician(
            id=subject,
            email=email,
            name=str(claims.get("name") or email),
            groups=frozenset(g for g in groups if isinstance(g, str)),
        )
        return Session(clinician, datetime.fromtimestamp(float(claims["exp"]), UTC))

    def claims(self, token: str) -> dict[str, Any]:
        if not token or len(token) > 8192:
            raise Unauthorized(_REJECTED)
        try:
            with self._lock:
                key = self._keys.get_signing_key_from_jwt(token)
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=["RS256"],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp", "iat", "iss", "aud", "token_use"]},
            )
        except jwt.PyJWKClientConnectionError as exc:
            raise Unauthorized(_REJECTED) from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized(_REJECTED) from exc
        if claims.get("token_use") != "id":
            raise Unauthorized(_REJECTED)
        if float(claims["exp"]) <= self._clock():
            raise Unauthorized(_REJECTED)
        return claims
