"""What an authenticator app scans: the `otpauth://` URI of a TOTP secret, and its QR code.

The QR code is drawn by segno (pure Python, no dependencies, maintained, standard-conformant)
as an SVG data URI, which the page shows as an image: no script library in the page and
nothing for the CSP to allow beyond `img-src data:`.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

ISSUER = "eClinic"


def otpauth_uri(secret: str, account: str) -> str:
    query = urlencode({"secret": secret, "issuer": ISSUER})
    return f"otpauth://totp/{quote(f'{ISSUER}:{account}')}?{query}"


def qr_code_data_uri(uri: str) -> str:
    import segno

    return str(segno.make(uri, error="m").svg_data_uri(scale=5, border=2, dark="#000", light="#fff"))
