"""Short-lived TURN credentials, made per call from a secret shared with the TURN server.

The TURN REST scheme (coturn's `use-auth-secret` / `static-auth-secret`): the user name is
"<unix expiry>:<opaque id>" and the password base64(HMAC-SHA1(secret, user name)). The TURN
server recomputes the password and refuses a user name whose expiry has passed, so a
credential copied out of one patient's page stops working on its own and says nothing about
anyone else's. One fixed credential for everyone would let any patient relay through our
servers for ever.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

# A credential lives at most this long, and at least this long from the moment it is made.
MAX_LIFETIME = timedelta(hours=4)
MIN_LIFETIME = timedelta(minutes=30)


@dataclass(frozen=True)
class TurnCredentials:
    urls: tuple[str, ...]
    secret: bytes

    def ice_server(self, now: datetime, window_ends: datetime) -> dict[str, object]:
        """An RTCIceServer entry for one call: valid until the appointment's window ends (at
        least MIN_LIFETIME from now), and never longer than MAX_LIFETIME."""
        expires = min(now + MAX_LIFETIME, max(window_ends, now + MIN_LIFETIME))
        username = f"{int(expires.timestamp())}:{secrets.token_hex(8)}"
        return {"urls": list(self.urls), "username": username, "credential": password(self.secret, username)}


def password(secret: bytes, username: str) -> str:
    return base64.b64encode(hmac.new(secret, username.encode(), hashlib.sha1).digest()).decode()


def turn_credentials(urls: Sequence[str], secret: str) -> TurnCredentials | None:
    """None unless both are given: a TURN entry without a credential makes browsers refuse to
    build the peer connection at all (InvalidAccessError)."""
    if not urls or not secret:
        return None
    return TurnCredentials(tuple(urls), secret.encode())
