"""What two-step login adds to a clinician's login, on the local run.

A clinician without an authenticator app logs in with one request; one with an app logs in
with two (the password, then the code for the `mfa_code` challenge). Both go through the real
handlers and moto's Cognito; codes are computed before the clock starts.
"""

from __future__ import annotations

import statistics
import time
import uuid

import requests

from bench.stack import PASSWORD, local_run, percentile
from local import aws_standin
from tests.totp import current_totp


def _clinician_with_app(base: str) -> tuple[str, str]:
    """An operator-created clinician who set a password and turned on the authenticator app."""
    aws = requests.get(f"{base}/_local/aws", timeout=10).json()
    cognito = aws_standin.operator_client(aws, "cognito-idp")
    email = f"bench-mfa-{uuid.uuid4().hex[:8]}@clinic.example"
    aws_standin.add_clinician(cognito, aws["user_pool_id"], email, "Bench MFA", ["cardiology"])
    cognito.admin_set_user_password(
        UserPoolId=aws["user_pool_id"], Username=email, Password=PASSWORD, Permanent=True
    )
    token = _post(base, "auth/login", {"email": email, "password": PASSWORD})["id_token"]
    headers = {"Authorization": f"Bearer {token}"}
    secret = requests.post(f"{base}/api/me/mfa", headers=headers, timeout=10).json()["secret"]
    verified = requests.post(
        f"{base}/api/me/mfa/verify", headers=headers, json={"code": current_totp(secret)}, timeout=10
    )
    verified.raise_for_status()
    return email, secret


def _post(base: str, path: str, body: dict[str, str]) -> dict[str, str]:
    answer = requests.post(f"{base}/api/{path}", json=body, timeout=10)
    answer.raise_for_status()
    return dict(answer.json())


def _figures(samples: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(samples), 1),
        "p95_ms": round(percentile(samples, 95), 1),
    }


def run(trials: int) -> dict[str, object]:
    with local_run() as base:
        email, secret = _clinician_with_app(base)
        plain, with_code = [], []
        for _ in range(trials):
            started = time.perf_counter()
            _post(base, "auth/login", {"email": "ada@clinic.example", "password": PASSWORD})
            plain.append((time.perf_counter() - started) * 1000)

            code = current_totp(secret)
            started = time.perf_counter()
            challenge = _post(base, "auth/login", {"email": email, "password": PASSWORD})
            answer = {"email": email, "session": challenge["session"], "code": code}
            done = _post(base, "auth/challenge", answer)
            with_code.append((time.perf_counter() - started) * 1000)
            assert done["id_token"]
    return {
        "trials": trials,
        "password_only": _figures(plain),
        "password_and_authenticator_code": _figures(with_code),
        "added_by_mfa_p50_ms": round(statistics.median(with_code) - statistics.median(plain), 1),
    }
