"""`waiting_since` and `notice` through app.py's websocket handlers, on moto's DynamoDB."""

from __future__ import annotations

import json
from typing import Any

import pytest

import app as eclinic
from tests.api.conftest import Api
from tests.conftest import AwsStack
from tests.realtime.test_handlers import event, new_id, patient_token


@pytest.fixture
def recorder(aws: AwsStack) -> Any:
    aws.management.clear()
    return aws.management


def connect_clinician(api: Api, email: str) -> str:
    connection = new_id()
    answer = eclinic.ws_connect(event("connect", connection, {"id_token": api.token(email)}), None)
    assert answer["statusCode"] == 200
    return connection


def say(connection: str, **body: Any) -> None:
    assert eclinic.ws_message(event("message", connection, body=body), None)["statusCode"] == 200


def test_waiting_since_is_stored_and_answered_and_a_notice_reaches_the_patient(
    api: Api, recorder: Any
) -> None:
    ada = connect_clinician(api, "ada@clinic.example")
    cyd = connect_clinician(api, "cyd@clinic.example")
    patient = new_id()
    created, token = patient_token(api, f"pat.{patient.lower()[:8]}@example.com")
    assert created["waiting_since"] is None

    def read() -> dict[str, Any]:
        return dict(api.as_("ada@clinic.example", "GET", f"/api/appointments/{created['id']}").json_body)

    assert eclinic.ws_connect(event("connect", patient, {"token": token}), None)["statusCode"] == 200
    waiting = read()  # read back from DynamoDB
    assert waiting["status"] == "waiting" and waiting["waiting_since"].endswith("Z")
    assert recorder.to(ada)[-1]["appointment"]["waiting_since"] == waiting["waiting_since"]
    visit = api.call("GET", f"/api/visit/{token}").json_body["appointment"]
    assert visit["waiting_since"] == waiting["waiting_since"]

    text = "Running about 10 minutes late"
    say(ada, type="notice", appointment_id=created["id"], text=text)
    (notice,) = [m for m in recorder.to(patient) if m["type"] == "notice"]
    assert {k: notice[k] for k in ("appointment_id", "text", "from_name")} == {
        "appointment_id": created["id"],
        "text": text,
        "from_name": "Ada Lovelace",
    }
    assert notice["at"].endswith("Z")
    sent = recorder.to(ada)[-1]
    assert (sent["type"], sent["appointment_id"], sent["delivered"]) == ("notice_sent", created["id"], 1)

    # another group: not found, nothing pushed; a bad one: validation_error, nothing pushed
    say(cyd, type="notice", appointment_id=created["id"], text=text)
    assert (recorder.to(cyd)[-1]["code"], recorder.to(cyd)[-1]["ref"]) == ("not_found", "notice")
    say(ada, type="notice", appointment_id=created["id"], text=" ")
    assert (recorder.to(ada)[-1]["code"], recorder.to(ada)[-1]["field"]) == ("validation_error", "text")
    assert len([m for m in recorder.to(patient) if m["type"] == "notice"]) == 1

    audit = api.as_("ada@clinic.example", "GET", f"/api/appointments/{created['id']}/audit").json_body
    notices = [e for e in audit["events"] if e["action"] == "notice_sent"]
    assert [(e["actor"], e["from"], e["to"]) for e in notices] == [
        ("ada@clinic.example", "waiting", "waiting")
    ]
    assert text not in json.dumps(audit)
    assert read() == waiting  # a notice changes nothing on the appointment

    # taken: no wait; exit without ending: waiting again from the exit
    say(ada, type="take", appointment_id=created["id"])
    assert read()["waiting_since"] is None
    say(ada, type="hangup", appointment_id=created["id"], mode="exit")
    again = read()
    assert again["status"] == "waiting" and again["waiting_since"] >= waiting["waiting_since"]
    status = [m for m in recorder.to(patient) if m["type"] == "status"][-1]
    assert status["waiting_since"] == again["waiting_since"]
    say(ada, type="take", appointment_id=created["id"])
    say(ada, type="notice", appointment_id=created["id"], text=text)
    assert (recorder.to(ada)[-1]["code"], recorder.to(ada)[-1]["ref"]) == ("conflict", "notice")
