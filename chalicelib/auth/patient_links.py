"""Patient link tokens.

A token is HMAC-SHA256(link secret, appointment id + random nonce): 256 bits that nobody can
guess without the secret. Only the token's SHA-256 is stored, so the table alone never yields
a working link; the server can still mail the *same* link again on re-invite because it can
recompute the token from the secret and the stored nonce. Rotating the secret revokes every
outstanding link.

A guest's link (`random_token`) is 256 random bits instead, hashed the same way: it is mailed
once, never recomputed, so nothing but its hash needs keeping.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

TOKEN_CHARS = 43  # 32 bytes in unpadded base64url


def new_nonce() -> str:
    return secrets.token_urlsafe(16)


def token_for(secret: bytes, appointment_id: str, nonce: str) -> str:
    digest = hmac.new(secret, f"{appointment_id}:{nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def random_token() -> str:
    """A guest's link token: 32 random bytes, unpadded base64url (the patient token's shape)."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def looks_like_token(token: str) -> bool:
    """Cheap shape check, so that junk never reaches the table."""
    return len(token) == TOKEN_CHARS and all(c.isalnum() or c in "-_" for c in token)
