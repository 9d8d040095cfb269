"""The code an authenticator app shows now (RFC 6238), for tests that turn on MFA."""

from __future__ import annotations


def current_totp(secret: str) -> str:
    import base64
    import time

    from cryptography.hazmat.primitives.hashes import SHA1
    from cryptography.hazmat.primitives.twofactor.totp import TOTP

    if time.time() % 30 > 27:  # moto accepts only the current step: do not straddle one
        time.sleep(3.5)
    key = base64.b32decode(secret + "=" * (-len(secret) % 8), casefold=True)
    return TOTP(key, 6, SHA1(), 30, enforce_key_length=False).generate(time.time()).decode()  # noqa: S303 (RFC 6238)
