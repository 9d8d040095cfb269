"""API tests drive `app.py` through Chalice's test client with real tokens from moto's Cognito."""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from importlib import resources
from typing import Any

import jwt
import pytest
from chalice.test import Client
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conftest import AwsStack

PASSWORD = "Clinic-Demo-2026!"


@pytest.fixture(scope="session")
def client(aws: AwsStack) -> Iterator[Client]:
    from app import app

    with Client(app) as test_client:
        yield test_client


class Api:
    """A few helpers over the test client: logins, JSON calls, token forgery."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self._tokens: dict[str, str] = {}

    def token(self, email: str) -> str:
        if email not in self._tokens:
            answer = self.call("POST", "/api/auth/login", body={"email": email, "password": PASSWORD})
            assert answer.status_code == 200, answer.body
            self._tokens[email] = answer.json_body["id_token"]
        return self._tokens[email]

    def call(
        self, method: str, path: str, body: Any = None, token: str | None = None, raw: bytes | None = None
    ) -> Any:
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        payload = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
        return self.client.http.request(method, path, headers=headers, body=payload)

    def as_(self, email: str, method: str, path: str, body: Any = None) -> Any:
        return self.call(method, path, body=body, token=self.token(email))

    def invite(self, email: str = "ada@clinic.example", **changes: Any) -> dict[str, Any]:
        answer = self.as_(email, "POST", "/api/appointments", invite_body(**changes))
        assert answer.status_code == 201, answer.body
        return dict(answer.json_body)


def invite_body(**changes: Any) -> dict[str, Any]:
    from datetime import UTC, datetime, timedelta

    body: dict[str, Any] = {
        "starts_at": (datetime.now(UTC) + timedelta(hours=2)).isoformat(),
        "patient_name": "Pat Doe",
        "patient_email": "pat@example.com",
        "group": "cardiology",
        "timezone": "Europe/Berlin",
    }
    body.update(changes)
    return body


@pytest.fixture
def api(client: Client) -> Api:
    return Api(client)


# -- forged tokens ---------------------------------------------------------------------


def claims_of(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def moto_signing_key() -> Any:
    """moto's Cognito signs every pool's tokens with this key; its public half is the JWKS."""
    packed = resources.files("moto.cognitoidp").joinpath("resources/jwks-private.json.gz").read_bytes()
    return jwt.algorithms.RSAAlgorithm.from_jwk(gzip.decompress(packed).decode())


def expired(token: str) -> str:
    claims = claims_of(token) | {"iat": int(time.time()) - 7200, "exp": int(time.time()) - 3600}
    return jwt.encode(claims, moto_signing_key(), algorithm="RS256", headers={"kid": "dummy"})


def signed_by_stranger(token: str) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(claims_of(token), key, algorithm="RS256", headers={"kid": "dummy"})


def unsigned(token: str) -> str:
    header = _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": "dummy"}).encode())
    return f"{header}.{_b64(json.dumps(claims_of(token)).encode())}."


def tampered(token: str) -> str:
    header, _, signature = token.split(".")
    claims = claims_of(token) | {"cognito:groups": ["cardiology", "dermatology"]}
    return f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"


def hs256_with_public_key(token: str) -> str:
    """The classic algorithm-confusion forgery: HS256 keyed with the pool's *public* key."""
    from cryptography.hazmat.primitives import serialization

    public_pem = (
        moto_signing_key()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "dummy"}).encode())
    payload = _b64(json.dumps(claims_of(token)).encode())
    signature = hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def with_claims(token: str, **changes: Any) -> str:
    """A correctly signed token whose claims differ (wrong audience, issuer, token_use)."""
    return jwt.encode(
        claims_of(token) | changes, moto_signing_key(), algorithm="RS256", headers={"kid": "dummy"}
    )
