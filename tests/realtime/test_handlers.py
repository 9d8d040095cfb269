"""The websocket handlers of app.py, driven by stored API Gateway event payloads.

DynamoDB and Cognito are moto's; the management API is a recording fake over real HTTP, so
the application's boto3 adapter does exactly what it does against API Gateway.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest

import app as eclinic
from local import mailbox
from tests.api.conftest import Api, invite_body
from tests.conftest import AwsStack

FIXTURES = Path(__file__).parent / "fixtures"


def event(
    kind: str, connection_id: str, query: dict[str, str] | None = None, body: Any = None
) -> dict[str, Any]:
    data: dict[str, Any] = copy.deepcopy(json.loads((FIXTURES / f"{kind}.json").read_text()))
    data["requestContext"]["connectionId"] = connection_id
    if kind == "connect":
        data["queryStringParameters"] = query
        data["multiValueQueryStringParameters"] = {k: [v] for k, v in (query or {}).items()} or None
    if body is not None:
        data["body"] = body if isinstance(body, str) else json.dumps(body)
    return data


def new_id() -> str:
    return uuid.uuid4().hex[:14] + "="


def patient_token(api: Api, email: str) -> tuple[dict[str, Any], str]:
    created = api.invite(patient_email=email)
    (mail,) = [m for m in mailbox.messages() if email in m["to"]]
    match = re.search(r"/visit/([A-Za-z0-9_-]{43})", mail["text"])
    assert match
    return created, match.group(1)


@pytest.fixture
def recorder(aws: AwsStack) -> Any:
    aws.management.clear()
    return aws.management


def test_clinician_and_patient_connect_presence_and_disconnect(api: Api, recorder: Any) -> None:
    ada, ben, cyd, patient = new_id(), new_id(), new_id(), new_id()
    for connection_id, email in (
        (ada, "ada@clinic.example"),
        (ben, "ben@clinic.example"),
        (cyd, "cyd@clinic.example"),
    ):
        answer = eclinic.ws_connect(event("connect", connection_id, {"id_token": api.token(email)}), None)
        assert answer["statusCode"] == 200
    created, token = patient_token(api, f"pat.{patient.lower()[:8]}@example.com")

    assert eclinic.ws_connect(event("connect", patient, {"token": token}), None)["statusCode"] == 200
    for clinician in (ada, ben):
        assert recorder.to(clinician)[-1]["appointment"]["status"] == "waiting"
    assert not [m for m in recorder.to(cyd) if m.get("appointment", {}).get("id") == created["id"]]

    assert eclinic.ws_message(event("message", patient, body={"type": "ping"}), None)["statusCode"] == 200
    assert recorder.to(patient)[-1] == {"type": "pong"}

    eclinic.ws_disconnect(event("disconnect", patient), None)
    assert recorder.to(ada)[-1]["appointment"]["status"] == "scheduled"
    events = api.as_("ada@clinic.example", "GET", f"/api/appointments/{created['id']}/audit").json_body[
        "events"
    ]
    assert [e["action"] for e in events][-4:] == [
        "patient_connected",
        "patient_online",
        "patient_disconnected",
        "patient_gone",
    ]


@pytest.mark.parametrize(
    "query",
    [None, {"id_token": "garbage"}, {"token": "A" * 43}, {"token": "short"}, {"worker": "nope"}],
)
def test_refused_connects_answer_4xx(api: Api, recorder: Any, query: dict[str, str] | None) -> None:
    answer = eclinic.ws_connect(event("connect", new_id(), query), None)
    assert answer["statusCode"] in (401, 404)


def test_take_race_and_bad_messages_through_the_handler(api: Api, recorder: Any) -> None:
    ada, ben, patient = new_id(), new_id(), new_id()
    eclinic.ws_connect(event("connect", ada, {"id_token": api.token("ada@clinic.example")}), None)
    eclinic.ws_connect(event("connect", ben, {"id_token": api.token("ben@clinic.example")}), None)
    created, token = patient_token(api, f"pat.{patient.lower()[:8]}@example.com")
    eclinic.ws_connect(event("connect", patient, {"token": token}), None)

    eclinic.ws_message(event("message", ada, body={"type": "take", "appointment_id": created["id"]}), None)
    eclinic.ws_message(event("message", ben, body={"type": "take", "appointment_id": created["id"]}), None)
    error = recorder.to(ben)[-1]
    assert (error["type"], error["code"], error["ref"]) == ("error", "conflict", "take")
    assert recorder.to(patient)[-1]["status"] == "in_session"

    for raw in ("{", json.dumps({"type": "ping", "x": "y" * 40000}), json.dumps({"type": "warp"})):
        eclinic.ws_message(event("message", ada, body=raw), None)
        assert recorder.to(ada)[-1]["type"] == "error"
        assert recorder.to(ada)[-1]["code"] == "validation_error"
    state = api.as_("ada@clinic.example", "GET", f"/api/appointments/{created['id']}").json_body
    assert state["status"] == "in_session" and state["taken_by"] == "ada@clinic.example"


def test_rest_actions_push_too_and_gone_connections_are_pruned(
    api: Api, recorder: Any, aws: AwsStack
) -> None:
    ada, ben = new_id(), new_id()
    eclinic.ws_connect(event("connect", ada, {"id_token": api.token("ada@clinic.example")}), None)
    eclinic.ws_connect(event("connect", ben, {"id_token": api.token("ben@clinic.example")}), None)
    recorder.gone.add(ada)
    created = api.invite(**invite_body(patient_email="pat.rest@example.com"))
    assert [m["appointment"]["id"] for m in recorder.to(ben)] == [created["id"]]
    api.as_("ben@clinic.example", "POST", f"/api/appointments/{created['id']}/complete")
    assert recorder.to(ben)[-1]["appointment"]["status"] == "completed"
    # ada's connection answered 410 and is gone from the registry
    from chalicelib.store.models import ConnectionModel

    assert not list(ConnectionModel.connection_id_index.query(ada))
    assert list(ConnectionModel.connection_id_index.query(ben))


def test_deeply_nested_messages_are_a_validation_error_and_the_socket_stays_usable(
    api: Api, recorder: Any
) -> None:
    ada, patient = new_id(), new_id()
    eclinic.ws_connect(event("connect", ada, {"id_token": api.token("ada@clinic.example")}), None)
    created, token = patient_token(api, f"pat.{patient.lower()[:8]}@example.com")
    eclinic.ws_connect(event("connect", patient, {"token": token}), None)

    take = '{"type": "take", "appointment_id": "' + created["id"] + '", "x": ' + "[" * 30000
    for raw in ("[" * 30000, '{"a":' * 6000, take):
        answer = eclinic.ws_message(event("message", ada, body=raw), None)
        assert answer["statusCode"] == 200
        error = recorder.to(ada)[-1]
        assert (error["type"], error["code"]) == ("error", "validation_error")
        assert "nests" in error["message"]
    eclinic.ws_message(event("message", ada, body={"type": "ping"}), None)
    assert recorder.to(ada)[-1] == {"type": "pong"}
    state = api.as_("ada@clinic.example", "GET", f"/api/appointments/{created['id']}").json_body
    assert state["status"] == "waiting" and state["taken_by"] is None


def test_a_clinician_socket_ends_when_its_token_expires(api: Api, recorder: Any) -> None:
    import time

    from tests.api.conftest import with_claims

    connection = new_id()
    # Ada's own claims, signed with moto's key, expiring in two seconds.
    short_lived = with_claims(api.token("ada@clinic.example"), exp=int(time.time()) + 2)
    assert (
        eclinic.ws_connect(event("connect", connection, {"id_token": short_lived}), None)["statusCode"] == 200
    )
    eclinic.ws_message(event("message", connection, body={"type": "ping"}), None)
    assert recorder.to(connection)[-1] == {"type": "pong"}

    time.sleep(2.5)
    eclinic.ws_message(event("message", connection, body={"type": "ping"}), None)
    assert recorder.to(connection)[-1]["type"] == "error"
    assert recorder.to(connection)[-1]["code"] == "unauthorized"
    assert connection in recorder.deleted
    refused = eclinic.ws_connect(event("connect", new_id(), {"id_token": short_lived}), None)
    assert refused["statusCode"] == 401


def test_a_browser_socket_may_send_twenty_messages_in_ten_seconds(api: Api, recorder: Any) -> None:
    connection = new_id()
    token = api.token("ada@clinic.example")
    assert eclinic.ws_connect(event("connect", connection, {"id_token": token}), None)["statusCode"] == 200
    unknown = {"type": "take", "appointment_id": "no-such-appointment"}
    for _ in range(20):
        eclinic.ws_message(event("message", connection, body=unknown), None)
        eclinic.ws_message(event("message", connection, body={"type": "ping"}), None)  # not counted
    assert [m["code"] for m in recorder.to(connection) if m["type"] == "error"] == ["not_found"] * 20
    eclinic.ws_message(event("message", connection, body=unknown), None)
    assert recorder.to(connection)[-1]["code"] == "rate_limited"
    assert recorder.to(connection)[-1]["ref"] == "take"


def test_a_patient_link_connecting_in_a_loop_is_refused_and_does_not_flood_the_audit(
    api: Api, recorder: Any
) -> None:
    import time

    from chalicelib.realtime.connections import AUDITED_CONNECTS, CONNECT_WINDOW, CONNECTS_PER_LINK

    # The count is per fixed window of the real clock: do not straddle two.
    window = CONNECT_WINDOW.total_seconds()
    if time.time() % window > window - 60:
        time.sleep(window - time.time() % window + 0.5)
    created, token = patient_token(api, f"loop.{uuid.uuid4().hex[:8]}@example.com")
    for _ in range(CONNECTS_PER_LINK):
        connection = new_id()
        assert eclinic.ws_connect(event("connect", connection, {"token": token}), None)["statusCode"] == 200
        eclinic.ws_disconnect(event("disconnect", connection), None)
    refused = eclinic.ws_connect(event("connect", new_id(), {"token": token}), None)
    assert refused["statusCode"] == 429 and json.loads(refused["body"])["error"]["code"] == "rate_limited"
    path = f"/api/appointments/{created['id']}/audit"
    actions = [e["action"] for e in api.as_("ada@clinic.example", "GET", path).json_body["events"]]
    assert actions.count("patient_connected") == AUDITED_CONNECTS
    assert actions.count("patient_connects_collapsed") == 1


def test_the_local_runs_sweep_event_reaches_the_scheduled_handler(api: Api, recorder: Any) -> None:
    from local.gateway import scheduled_event

    eclinic.sweep_stale_connections(scheduled_event(), None)  # raised KeyError('version') before


def test_a_device_check_is_stored_on_the_appointment_and_reaches_the_group(api: Api, recorder: Any) -> None:
    ada, cyd, patient, other_patient = new_id(), new_id(), new_id(), new_id()
    eclinic.ws_connect(event("connect", ada, {"id_token": api.token("ada@clinic.example")}), None)
    eclinic.ws_connect(event("connect", cyd, {"id_token": api.token("cyd@clinic.example")}), None)
    created, token = patient_token(api, f"pat.{patient.lower()[:8]}@example.com")
    other, other_token = patient_token(api, f"pat.{other_patient.lower()[:8]}@example.com")
    eclinic.ws_connect(event("connect", patient, {"token": token}), None)
    eclinic.ws_connect(event("connect", other_patient, {"token": other_token}), None)

    def check(connection: str, appointment_id: str, **fields: Any) -> None:
        body = {"type": "device_check", "appointment_id": appointment_id, **fields}
        assert eclinic.ws_message(event("message", connection, body=body), None)["statusCode"] == 200

    def stored(appointment_id: str) -> dict[str, Any]:
        answer = api.as_("ada@clinic.example", "GET", f"/api/appointments/{appointment_id}")
        return dict(answer.json_body)

    before = stored(created["id"])
    assert before["device_check"] is None and before["status"] == "waiting"

    # wrong values, another appointment, a clinician: each refused, nothing stored or pushed
    check(patient, created["id"], camera="exploded", microphone="ok")
    error = recorder.to(patient)[-1]
    assert (error["type"], error["code"], error["ref"], error["field"]) == (
        "error",
        "validation_error",
        "device_check",
        "camera",
    )
    check(patient, created["id"], camera="ok", microphone="silent ")
    assert recorder.to(patient)[-1]["field"] == "microphone"
    check(other_patient, created["id"], camera="ok", microphone="ok")
    assert recorder.to(other_patient)[-1]["code"] == "not_found"
    check(ada, created["id"], camera="ok", microphone="ok")
    assert recorder.to(ada)[-1]["code"] == "validation_error"
    assert stored(created["id"]) == before
    assert stored(other["id"])["device_check"] is None

    check(patient, created["id"], camera="denied", microphone="ok")
    assert not [m for m in recorder.to(patient) if m["type"] == "error" and m["ref"] != "device_check"]
    pushed = recorder.to(ada)[-1]
    assert pushed["type"] == "appointment" and pushed["appointment"]["id"] == created["id"]
    result = pushed["appointment"]["device_check"]
    assert (result["camera"], result["microphone"]) == ("denied", "ok") and result["at"].endswith("Z")
    assert not [m for m in recorder.to(cyd) if m.get("appointment", {}).get("id") == created["id"]]
    after = stored(created["id"])
    assert after["device_check"] == result and after["status"] == "waiting"
