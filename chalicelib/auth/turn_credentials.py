"""Short-lived TURN credentials, made per call from a secret shared with the TURN server.

The TURN REST scheme (coturn's `use-auth-secret` / `static-auth-secret`): the user name is
"<unix expiry>:<opaque id>" and the password base64(HMAC-SHA1(secret, user name)). The TURN
server recomputes the password and refuses a user name whose expiry has passed, so a
credential copied out of one patient's page stops working on its own and says nothing about
anyone else's. One fixed credential for everyone would let any patient relay through our
servers for ever.

The secret rotates (README, "TURN on AWS"): coturn accepts the current and the previous
version, and a credential is signed with the current one. A warm function keeps its settings
for hours, so on AWS the credentials are given a way to read it again (`reread`), and a
credential made REREAD_AFTER or more after the last read reads Secrets Manager's AWSCURRENT
first.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

# A credential lives at most this long, and at least this long from the moment it is made.
MAX_LIFETIME = timedelta(hours=4)
MIN_LIFETIME = timedelta(minutes=30)
# A rotated secret is in use this soon (coturn keeps accepting the previous one meanwhile).
REREAD_AFTER = timedelta(minutes=5)


@dataclass
class TurnCredentials:
    urls: tuple[str, ...]
    secret: bytes
    # Reads the secret's current value again; None: the secret never changes (the local run).
    reread: Callable[[], str] | None = None
    clock: Callable[[], float] = time.monotonic
    _read_at: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        self._read_at = self.clock()

    def ice_server(self, now: datetime, window_ends: datetime) -> dict[str, object]:
        """An RTCIceServer entry for one call: valid until the appointment's window ends (at
        least MIN_LIFETIME from now), and never longer than MAX_LIFETIME."""
        expires = min(now + MAX_LIFETIME, max(window_ends, now + MIN_LIFETIME))
        username = f"{int(expires.timestamp())}:{secrets.token_hex(8)}"
        return {
            "urls": list(self.urls),
            "username": username,
            "credential": password(self.current(), username),
        }

    def current(self) -> bytes:
        """The secret to sign with: read again once REREAD_AFTER has passed. A read that fails
        keeps the last value (coturn accepts it while it is the current or the previous
        version) and is tried again REREAD_AFTER later."""
        if self.reread is not None and self.clock() - self._read_at >= REREAD_AFTER.total_seconds():
            self._read_at = self.clock()
            try:
                value = self.reread()
            except Exception as exc:  # Secrets Manager unreachable or refusing: keep what works
                from chalicelib.logs import logger

                logger().warning("turn secret not read again", error=type(exc).__name__)
            else:
                if value:
                    self.secret = value.encode()
        return self.secret


def password(secret: bytes, username: str) -> str:
    return base64.b64encode(hmac.new(secret, username.encode(), hashlib.sha1).digest()).decode()


def turn_credentials(
    urls: Sequence[str], secret: str, reread: Callable[[], str] | None = None
) -> TurnCredentials | None:
    """None unless both are given: a TURN entry without a credential makes browsers refuse to
    build the peer connection at all (InvalidAccessError). `reread` reads a rotating secret again."""
    if not urls or not secret:
        return None
    return TurnCredentials(tuple(urls), secret.encode(), reread=reread)
