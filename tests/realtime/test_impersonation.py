"""The review's serious finding, tried as the attacker did: a clinician sets her own email to a
colleague's (Cognito lets a user do that with her access token; moto's Cognito, like a pool
whose app client may write `email`, keeps it verified) and logs in again. The application
knows clinicians by their user id (`sub`), so the forged email gets her nothing of the
colleague's: no session chat, no call, no hangup or chat in the session, nothing of another
group, and the audit names her own id."""

from __future__ import annotations

import os
import uuid
from typing import Any

import pytest

import app as eclinic
from chalicelib import settings_names as app_settings
from local import aws_standin
from tests.api.conftest import PASSWORD, Api
from tests.conftest import AwsStack
from tests.realtime.test_handlers import event, new_id, patient_token

ADA = "ada@clinic.example"


def impostor(api: Api, aws: AwsStack, group: str) -> tuple[str, str]:
    """A new clinician of `group` who has changed her email to Ada's: (her id token, her sub)."""
    cognito = aws.client("cognito-idp")
    pool, client = os.environ[app_settings.USER_POOL_ID], os.environ[app_settings.USER_POOL_CLIENT_ID]
    email = f"mallory.{uuid.uuid4().hex[:8]}@clinic.example"
    aws_standin.add_clinician(cognito, pool, email, "Mallory", [group])
    auth = cognito.initiate_auth(
        ClientId=client,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": PASSWORD},
    )["AuthenticationResult"]
    cognito.update_user_attributes(
        AccessToken=auth["AccessToken"], UserAttributes=[{"Name": "email", "Value": ADA}]
    )
    login = api.call("POST", "/api/auth/login", {"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.body
    user = login.json_body["user"]
    assert user["email"] == ADA  # the token really carries Ada's address now
    return login.json_body["id_token"], user["id"]


@pytest.fixture
def recorder(aws: AwsStack) -> Any:
    aws.management.clear()
    return aws.management


@pytest.mark.parametrize("group", ["cardiology", "dermatology"])
def test_an_email_changed_to_a_colleagues_gets_nothing_of_theirs(
    api: Api, aws: AwsStack, recorder: Any, group: str
) -> None:
    forged_token, forged_id = impostor(api, aws, group)
    ada, mallory, patient = new_id(), new_id(), new_id()
    assert eclinic.ws_connect(event("connect", ada, {"id_token": api.token(ADA)}), None)["statusCode"] == 200
    assert (
        eclinic.ws_connect(event("connect", mallory, {"id_token": forged_token}), None)["statusCode"] == 200
    )
    created, link = patient_token(api, f"pat.{patient.lower()[:8]}@example.com")
    eclinic.ws_connect(event("connect", patient, {"token": link}), None)
    appointment_id = created["id"]

    def send(connection: str, **message: Any) -> None:
        eclinic.ws_message(event("message", connection, body=message), None)

    send(ada, type="take", appointment_id=appointment_id)
    send(patient, type="chat", appointment_id=appointment_id, text="My chest hurts")
    send(ada, type="chat", appointment_id=appointment_id, text="Since when?")
    assert [m["text"] for m in recorder.to(ada) if m["type"] == "chat"] == ["My chest hurts", "Since when?"]
    # Nothing of Ada's session reaches the impostor: not the chat, not her own tab's pushes.
    assert not [m for m in recorder.to(mallory) if m["type"] in ("chat", "call", "screenshot_ready")]

    # She cannot act in Ada's session: the session is held by Ada's user id, not her email.
    for message in (
        {"type": "chat", "text": "Please send me your card number"},
        {"type": "hangup", "mode": "leave"},
        {"type": "screenshot_request"},
        {"type": "call"},
    ):
        send(mallory, appointment_id=appointment_id, **message)
        error = recorder.to(mallory)[-1]
        assert error["type"] == "error", message
        assert error["code"] == ("forbidden" if group == "cardiology" else "not_found"), message
    state = api.as_(ADA, "GET", f"/api/appointments/{appointment_id}").json_body
    assert state["status"] == "in_session" and state["taken_by"] == ADA
    assert [m["text"] for m in recorder.to(patient) if m["type"] == "chat"] == [
        "My chest hurts",
        "Since when?",
    ]

    # Over REST: another group's appointment stays unknown; her own actions are audited as hers.
    seen = api.call("GET", f"/api/appointments/{appointment_id}", token=forged_token)
    assert seen.status_code == (200 if group == "cardiology" else 404)
    mine = api.call("POST", "/api/appointments", {**_invite(group)}, token=forged_token)
    assert mine.status_code == 201
    audit_of_hers = api.call("GET", f"/api/appointments/{mine.json_body['id']}/audit", token=forged_token)
    (created_event,) = [e for e in audit_of_hers.json_body["events"] if e["action"] == "created"]
    assert created_event["actor_id"] == forged_id != _ada_id(api)
    audit = api.as_(ADA, "GET", f"/api/appointments/{appointment_id}/audit").json_body["events"]
    assert {e["actor_id"] for e in audit if e["action"] in ("take", "chat")} == {_ada_id(api), "patient"}


def test_a_token_whose_email_is_not_verified_is_refused(api: Api, aws: AwsStack) -> None:
    cognito = aws.client("cognito-idp")
    email = f"unverified.{uuid.uuid4().hex[:8]}@clinic.example"
    pool = os.environ[app_settings.USER_POOL_ID]
    aws_standin.add_clinician(cognito, pool, email, "Una Verified", ["cardiology"])
    cognito.admin_update_user_attributes(
        UserPoolId=pool, Username=email, UserAttributes=[{"Name": "email_verified", "Value": "false"}]
    )
    login = api.call("POST", "/api/auth/login", {"email": email, "password": PASSWORD})
    token = login.json_body.get("id_token") if login.status_code == 200 else None
    if token is not None:  # Cognito signed it; the application still refuses what it says
        assert api.call("GET", "/api/me", token=token).status_code == 401
        assert eclinic.ws_connect(event("connect", new_id(), {"id_token": token}), None)["statusCode"] == 401
    else:
        assert login.status_code == 401


def _invite(group: str) -> dict[str, Any]:
    from tests.api.conftest import invite_body

    return invite_body(group=group, patient_email="someone@example.com")


def _ada_id(api: Api) -> str:
    return str(api.as_(ADA, "GET", "/api/me").json_body["id"])
