"""Cognito's access token of a login, kept server-side for the calls that need it.

The contract's `/api/me/mfa` calls carry only the ID token, but Cognito's authenticator-app
setup (`AssociateSoftwareToken`, `VerifySoftwareToken`) takes the access token from the same
login, and has no admin form. So login keeps the access token here until it expires, sealed
(Fernet: AES and HMAC) with a key derived from that login's ID token and filed under another
digest of it. The server never stores the ID token, so whoever reads the table gets nothing
that opens an entry; a request opens only the entry of the ID token it carries.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from chalicelib.errors import Unauthorized

if TYPE_CHECKING:
    from cryptography.fernet import Fernet

RELOGIN_FOR_MFA = "Log in again to set up an authenticator app."
_LOOKUP = b"eclinic access token lookup\0"
_SEAL = b"eclinic access token seal\0"


class SealedTokenStore(Protocol):
    def put(self, lookup: str, sealed: str, expires_at: int) -> None: ...

    def get(self, lookup: str) -> tuple[str, int] | None:
        """The sealed token and when it expires (epoch seconds), or None."""
        ...


class MemorySealedTokens:
    """In-memory fake for unit tests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.entries: dict[str, tuple[str, int]] = {}

    def put(self, lookup: str, sealed: str, expires_at: int) -> None:
        with self._lock:
            self.entries[lookup] = (sealed, expires_at)

    def get(self, lookup: str) -> tuple[str, int] | None:
        with self._lock:
            return self.entries.get(lookup)


class DynamoSealedTokens:
    """The entries in DynamoDB; the table's TTL removes them after they expire."""

    def put(self, lookup: str, sealed: str, expires_at: int) -> None:
        from datetime import UTC, datetime

        from chalicelib.store.models import SealedAccessTokenModel

        SealedAccessTokenModel(
            lookup, sealed=sealed, expires_at=datetime.fromtimestamp(expires_at, UTC)
        ).save()

    def get(self, lookup: str) -> tuple[str, int] | None:
        from chalicelib.store.models import SealedAccessTokenModel

        try:
            item = SealedAccessTokenModel.get(lookup, consistent_read=True)
        except SealedAccessTokenModel.DoesNotExist:
            return None
        return item.sealed, int(item.expires_at.timestamp())


def _digest(label: bytes, id_token: str) -> bytes:
    return hashlib.sha256(label + id_token.encode()).digest()


class AccessTokenVault:
    def __init__(self, store: SealedTokenStore, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock

    @staticmethod
    def _fernet(id_token: str) -> Fernet:
        from cryptography.fernet import Fernet

        return Fernet(base64.urlsafe_b64encode(_digest(_SEAL, id_token)))

    def keep(self, id_token: str, access_token: str, expires_in: int) -> None:
        if not access_token:
            return
        sealed = self._fernet(id_token).encrypt(access_token.encode()).decode()
        lookup = _digest(_LOOKUP, id_token).hex()
        self._store.put(lookup, sealed, int(self._clock()) + expires_in)

    def open(self, id_token: str) -> str:
        """The access token of the login that issued `id_token`; Unauthorized once it expired."""
        from cryptography.fernet import InvalidToken

        entry = self._store.get(_digest(_LOOKUP, id_token).hex())
        if entry is None or entry[1] <= self._clock():
            raise Unauthorized(RELOGIN_FOR_MFA)
        try:
            return str(self._fernet(id_token).decrypt(entry[0].encode()).decode())
        except InvalidToken as exc:
            raise Unauthorized(RELOGIN_FOR_MFA) from exc
