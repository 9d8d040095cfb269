"""First login (NEW_PASSWORD_REQUIRED) and password reset against moto's Cognito."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from chalicelib import settings_names as app_settings
from local import aws_standin
from tests.api.conftest import Api, claims_of, with_claims
from tests.conftest import AwsStack
from tests.totp import current_totp

TEMPORARY = "Temporary-Pass-2026!"
CHOSEN = "Chosen-Password-2026!"


@pytest.fixture
def operator_created(aws: AwsStack) -> str:
    """A clinician an operator created with a temporary password, as the console does."""
    email = f"new-{uuid.uuid4().hex[:8]}@clinic.example"
    pool_id = aws.env[app_settings.USER_POOL_ID]
    aws_standin.add_clinician(
        aws.client("cognito-idp"), pool_id, email, "Nia New", ["cardiology"], temporary_password=TEMPORARY
    )
    return email


def login(api: Api, email: str, password: str) -> Any:
    return api.call("POST", "/api/auth/login", body={"email": email, "password": password})


def test_first_login_sets_a_password_through_the_challenge(api: Api, operator_created: str) -> None:
    email = operator_created
    answer = login(api, email, TEMPORARY)
    assert answer.status_code == 200, answer.body
    assert answer.json_body["challenge"] == "new_password_required"
    session = answer.json_body["session"]
    assert "id_token" not in answer.json_body

    weak = api.call(
        "POST", "/api/auth/challenge", body={"email": email, "session": session, "new_password": "short"}
    )
    assert weak.status_code == 400 and weak.json_body["error"]["field"] == "new_password", weak.body

    done = api.call(
        "POST", "/api/auth/challenge", body={"email": email, "session": session, "new_password": CHOSEN}
    )
    assert done.status_code == 200, done.body
    assert claims_of(done.json_body["id_token"])["email"] == email
    assert done.json_body["user"]["email"] == email and done.json_body["expires_in"] > 0

    again = login(api, email, CHOSEN)
    assert again.status_code == 200 and "id_token" in again.json_body, again.body
    assert login(api, email, TEMPORARY).status_code == 401


@pytest.mark.parametrize("session", ["x" * 40, "short", ""])
def test_a_wrong_or_stale_session_is_401(api: Api, operator_created: str, session: str) -> None:
    answer = api.call(
        "POST",
        "/api/auth/challenge",
        body={"email": operator_created, "session": session, "new_password": CHOSEN},
    )
    assert answer.status_code == 401, answer.body
    assert "id_token" not in answer.json_body


def test_a_used_session_is_401(api: Api, operator_created: str) -> None:
    session = login(api, operator_created, TEMPORARY).json_body["session"]
    body = {"email": operator_created, "session": session, "new_password": CHOSEN}
    assert api.call("POST", "/api/auth/challenge", body=body).status_code == 200
    assert api.call("POST", "/api/auth/challenge", body=body).status_code == 401


def reset_mails(email: str) -> list[dict[str, Any]]:
    from local import mailbox

    return [m for m in mailbox.messages() if email in m["to"] and "reset" in m["subject"].lower()]


def test_forgot_and_reset(api: Api, operator_created: str) -> None:
    email = operator_created
    # Settle the first login, so the user is an ordinary confirmed one.
    session = login(api, email, TEMPORARY).json_body["session"]
    body = {"email": email, "session": session, "new_password": CHOSEN}
    assert api.call("POST", "/api/auth/challenge", body=body).status_code == 200

    unknown = api.call("POST", "/api/auth/forgot", body={"email": "nobody-here@clinic.example"})
    assert unknown.status_code == 202 and unknown.json_body == {}
    assert not reset_mails("nobody-here@clinic.example")

    known = api.call("POST", "/api/auth/forgot", body={"email": email})
    assert known.status_code == 202 and known.json_body == {}
    mails = reset_mails(email)
    assert len(mails) == 1
    code = re.search(r"\b(\d{6})\b", mails[0]["text"])
    assert code is not None
    right = code.group(1)
    wrong = f"{(int(right) + 1) % 10**6:06d}"

    def reset(code: str, password: str) -> Any:
        return api.call(
            "POST", "/api/auth/reset", body={"email": email, "code": code, "new_password": password}
        )

    bad = reset(wrong, "Reset-Password-2026!")
    assert bad.status_code == 400 and bad.json_body["error"]["field"] == "code", bad.body
    weak = reset(right, "short")
    assert weak.status_code == 400 and weak.json_body["error"]["field"] == "new_password", weak.body

    good = reset(right, "Reset-Password-2026!")
    assert good.status_code == 200 and good.json_body == {}, good.body
    assert login(api, email, "Reset-Password-2026!").status_code == 200
    assert login(api, email, CHOSEN).status_code == 401
    # The code is used up.
    assert reset(right, "Another-Password-2026!").json_body["error"]["field"] == "code"


def test_reset_without_forgot_is_400_code(api: Api) -> None:
    answer = api.call(
        "POST",
        "/api/auth/reset",
        body={"email": "ada@clinic.example", "code": "123456", "new_password": "Reset-Password-2026!"},
    )
    assert answer.status_code == 400 and answer.json_body["error"]["field"] == "code", answer.body
    assert login(api, "ada@clinic.example", "Clinic-Demo-2026!").status_code == 200


def test_totp_setup_then_login_asks_for_the_code(api: Api, aws: AwsStack, operator_created: str) -> None:
    email = operator_created
    cognito = aws.client("cognito-idp")
    cognito.admin_set_user_password(
        UserPoolId=aws.env[app_settings.USER_POOL_ID], Username=email, Password=CHOSEN, Permanent=True
    )
    token = login(api, email, CHOSEN).json_body["id_token"]
    assert "access_token" not in login(api, email, CHOSEN).json_body  # kept server-side, sealed

    assert api.call("POST", "/api/me/mfa").status_code == 401
    # The same user's claims, validly signed, but not an ID token a login issued here.
    forged = with_claims(token, jti=uuid.uuid4().hex)
    assert api.call("POST", "/api/me/mfa", token=forged).status_code == 401

    started = api.call("POST", "/api/me/mfa", token=token)
    assert started.status_code == 200, started.body
    secret = started.json_body["secret"]
    assert started.json_body["otpauth_uri"].startswith("otpauth://totp/eClinic%3A")
    assert f"secret={secret}" in started.json_body["otpauth_uri"]
    assert started.json_body["qr_code"].startswith("data:image/svg+xml")

    right = current_totp(secret)
    wrong = f"{(int(right) + 1) % 10**6:06d}"
    bad = api.call("POST", "/api/me/mfa/verify", body={"code": wrong}, token=token)
    assert bad.status_code == 400 and bad.json_body["error"]["field"] == "code", bad.body
    assert login(api, email, CHOSEN).json_body.get("id_token")  # MFA not on yet

    good = api.call("POST", "/api/me/mfa/verify", body={"code": right}, token=token)
    assert good.status_code == 200 and good.json_body == {"mfa": True}, good.body

    challenge = login(api, email, CHOSEN).json_body
    assert challenge["challenge"] == "mfa_code" and "id_token" not in challenge
    body = {"email": email, "session": challenge["session"], "code": wrong}
    assert api.call("POST", "/api/auth/challenge", body=body).status_code == 401

    challenge = login(api, email, CHOSEN).json_body
    body = {"email": email, "session": challenge["session"], "code": current_totp(secret)}
    done = api.call("POST", "/api/auth/challenge", body=body)
    assert done.status_code == 200 and claims_of(done.json_body["id_token"])["email"] == email, done.body


@pytest.fixture
def mfa_required(aws: AwsStack) -> Any:
    """The pool as the stack's RequireMfa=true sets it (MFA on, authenticator apps only)."""
    cognito = aws.client("cognito-idp")
    pool_id = aws.env[app_settings.USER_POOL_ID]
    cognito.set_user_pool_mfa_config(
        UserPoolId=pool_id, SoftwareTokenMfaConfiguration={"Enabled": True}, MfaConfiguration="ON"
    )
    yield
    cognito.set_user_pool_mfa_config(
        UserPoolId=pool_id, SoftwareTokenMfaConfiguration={"Enabled": True}, MfaConfiguration="OPTIONAL"
    )


def test_where_mfa_is_required_first_login_sets_up_the_app(
    api: Api, operator_created: str, mfa_required: None
) -> None:
    email = operator_created
    first = login(api, email, TEMPORARY).json_body
    body = {"email": email, "session": first["session"], "new_password": CHOSEN}
    setup = api.call("POST", "/api/auth/challenge", body=body)
    assert setup.status_code == 200, setup.body
    assert setup.json_body["challenge"] == "mfa_setup" and "id_token" not in setup.json_body
    secret = setup.json_body["secret"]
    assert f"secret={secret}" in setup.json_body["otpauth_uri"]
    assert setup.json_body["qr_code"].startswith("data:image/svg+xml")

    right = current_totp(secret)
    wrong = f"{(int(right) + 1) % 10**6:06d}"
    body = {"email": email, "session": setup.json_body["session"], "code": wrong}
    assert api.call("POST", "/api/auth/challenge", body=body).status_code == 401
    # A setup session is Cognito's session with this app's prefix; a made-up one is refused.
    body = {"email": email, "session": "mfa-setup.not-a-session", "code": right}
    assert api.call("POST", "/api/auth/challenge", body=body).status_code == 401

    body = {"email": email, "session": setup.json_body["session"], "code": current_totp(secret)}
    done = api.call("POST", "/api/auth/challenge", body=body)
    assert done.status_code == 200 and claims_of(done.json_body["id_token"])["email"] == email, done.body
