"""The REST contract end to end through the Chalice app, on moto: answers, mail, links,
validation and the error shape."""

from __future__ import annotations

import re
from typing import Any

import jwt
import pytest

from local import mailbox
from tests.api.conftest import Api, invite_body
from tests.conftest import AwsStack

ADA, BEN, CYD = "ada@clinic.example", "ben@clinic.example", "cyd@clinic.example"


def link_in(mail: dict[str, Any]) -> str:
    match = re.search(r"http://testserver\.local(/visit/[A-Za-z0-9_-]{43})", mail["text"])
    assert match, mail["text"]
    return match.group(1)


def mails_to(address: str) -> list[dict[str, Any]]:
    return [m for m in mailbox.messages() if address in m["to"]]


def test_login_answers_token_and_user(api: Api) -> None:
    answer = api.call("POST", "/api/auth/login", {"email": ADA, "password": "Clinic-Demo-2026!"})
    assert answer.status_code == 200
    body = answer.json_body
    assert body["expires_in"] > 0 and body["id_token"]
    claims = jwt.decode(body["id_token"], options={"verify_signature": False})
    assert body["user"] == {
        "id": claims["sub"],  # the user id, which the user cannot change
        "email": ADA,
        "name": "Ada Lovelace",
        "groups": [{"id": "cardiology", "name": "Cardiology"}],
    }
    me = api.call("GET", "/api/me", token=body["id_token"])
    assert me.status_code == 200 and me.json_body == body["user"]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"email": ADA, "password": "wrong-password"}, 401, None),
        ({"email": "nobody@clinic.example", "password": "Clinic-Demo-2026!"}, 401, None),
        ({"email": ADA}, 400, "password"),
        ({"password": "x"}, 400, "email"),
        ([], 400, None),
    ],
)
def test_login_refusals(api: Api, body: Any, status: int, field: str | None) -> None:
    answer = api.call("POST", "/api/auth/login", body)
    assert answer.status_code == status
    assert answer.json_body["error"]["code"] == ("unauthorized" if status == 401 else "validation_error")
    assert answer.json_body["error"].get("field") == field


def test_invite_mail_link_visit_cancel(api: Api) -> None:
    email = "pat.flow@example.com"
    created = api.invite(patient_email=email, patient_name="Pat <b>Flow</b>")
    assert created["status"] == "scheduled" and created["invite"]["status"] == "sent"
    assert created["starts_at"].endswith("Z") and created["invited_by"] == ADA
    assert set(created) == {
        "id", "group", "starts_at", "duration_minutes", "timezone", "patient_name", "patient_email",
        "status", "taken_by", "taken_by_name", "invited_by", "invite", "created_at", "updated_at",
        "device_check", "waiting_since", "patient_phone", "patient_phone_opted_out", "guests",
    }  # fmt: skip
    assert created["guests"] == []
    (mail,) = mails_to(email)
    assert [a["filename"] for a in mail["attachments"]] == ["appointment.ics"]
    assert "Pat &lt;b&gt;Flow&lt;/b&gt;" in mail["html"]
    link = link_in(mail)

    visit = api.call("GET", f"/api{link}")
    assert visit.status_code == 200
    assert visit.json_body["participant"] == {"role": "patient"}
    assert visit.json_body["seat"] == "patient"
    assert visit.json_body["appointment"] == {
        "id": created["id"],
        "starts_at": created["starts_at"],
        "duration_minutes": 15,
        "timezone": "Europe/Berlin",
        "group_name": "Cardiology",
        "patient_name": "Pat <b>Flow</b>",
        "status": "scheduled",
        "waiting_since": None,
    }

    cancelled = api.as_(BEN, "POST", f"/api/appointments/{created['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json_body["status"] == "cancelled"
    assert mails_to(email)[-1]["subject"].startswith("Cancelled")
    gone = api.call("GET", f"/api{link}")
    assert gone.status_code == 410 and gone.json_body["error"]["code"] == "gone"
    again = api.as_(ADA, "POST", f"/api/appointments/{created['id']}/cancel")
    assert again.status_code == 409 and again.json_body["error"]["code"] == "conflict"

    events = api.as_(ADA, "GET", f"/api/appointments/{created['id']}/audit").json_body["events"]
    assert [(e["action"], e["from"], e["to"]) for e in events] == [
        ("created", "scheduled", "scheduled"),
        ("invitation_sent", "scheduled", "scheduled"),
        ("cancel", "scheduled", "cancelled"),
        ("cancellation_sent", "cancelled", "cancelled"),
    ]
    assert events[2]["actor"] == BEN and all(e["at"].endswith("Z") for e in events)


def test_reinvite_mails_the_same_link(api: Api) -> None:
    email = "pat.again@example.com"
    created = api.invite(patient_email=email)
    again = api.as_(BEN, "POST", f"/api/appointments/{created['id']}/reinvite")
    assert again.status_code == 200 and again.json_body["invite"]["count"] == 2
    first, second = mails_to(email)
    assert link_in(first) == link_in(second)


def test_complete_from_scheduled(api: Api) -> None:
    created = api.invite()
    done = api.as_(ADA, "POST", f"/api/appointments/{created['id']}/complete")
    assert done.status_code == 200 and done.json_body["status"] == "completed"
    assert api.as_(ADA, "POST", f"/api/appointments/{created['id']}/reinvite").status_code == 409


def test_task_is_created(api: Api) -> None:
    created = api.invite()
    answer = api.as_(
        BEN, "POST", f"/api/appointments/{created['id']}/tasks", {"title": "Letter", "note": "n"}
    )
    assert answer.status_code == 201
    task = answer.json_body
    assert task["appointment_id"] == created["id"] and task["created_by"] == BEN
    assert set(task) == {"id", "appointment_id", "title", "note", "created_by", "created_at"}
    bad = api.as_(BEN, "POST", f"/api/appointments/{created['id']}/tasks", {"title": ""})
    assert bad.status_code == 400 and bad.json_body["error"]["field"] == "title"


def test_schedule_lists_by_start_within_bounds(api: Api) -> None:
    api.invite(starts_at="2026-12-24T10:00:00+00:00")
    api.invite(starts_at="2026-12-23T10:00:00+00:00")
    answer = api.as_(BEN, "GET", "/api/appointments?from=2026-12-23T00:00:00Z&to=2026-12-25T00:00:00Z")
    starts = [a["starts_at"] for a in answer.json_body["appointments"]]
    assert starts[:2] == ["2026-12-23T10:00:00Z", "2026-12-24T10:00:00Z"] and starts == sorted(starts)
    bad = api.as_(BEN, "GET", "/api/appointments?from=soon")
    assert bad.status_code == 400 and bad.json_body["error"]["field"] == "from"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"patient_email": "pat@@example.com"}, "patient_email"),
        ({"patient_name": ""}, "patient_name"),
        ({"patient_name": "y" * 201}, "patient_name"),
        ({"patient_name": "Pat\u0007"}, "patient_name"),
        ({"starts_at": "2026-12-01T10:00:00"}, "starts_at"),
        ({"starts_at": "2020-01-01T10:00:00Z"}, "starts_at"),
        ({"duration_minutes": 3}, "duration_minutes"),
        ({"duration_minutes": 500}, "duration_minutes"),
        ({"timezone": "Europe/Atlantis"}, "timezone"),
    ],
)
def test_each_validation_rule_is_400_with_field_and_changes_nothing(
    api: Api, changes: dict[str, Any], field: str
) -> None:
    email = "pat.invalid@example.com"
    before = api.as_(ADA, "GET", "/api/appointments?to=2027-06-01T00:00:00Z").json_body["appointments"]
    answer = api.as_(ADA, "POST", "/api/appointments", invite_body(patient_email=email) | changes)
    assert answer.status_code == 400
    assert answer.json_body["error"]["code"] == "validation_error"
    assert answer.json_body["error"]["field"] == field
    assert answer.json_body["error"]["message"]
    after = api.as_(ADA, "GET", "/api/appointments?to=2027-06-01T00:00:00Z").json_body["appointments"]
    assert after == before
    assert not mails_to(email)


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'"text"', b"\xff\xfe"])
def test_malformed_bodies_are_400(api: Api, raw: bytes) -> None:
    answer = api.call("POST", "/api/appointments", raw=raw, token=api.token(ADA))
    assert answer.status_code == 400 and answer.json_body["error"]["code"] == "validation_error"


def test_oversized_body_is_413(api: Api) -> None:
    raw = b'{"patient_name": "' + b"x" * (70 * 1024) + b'"}'
    answer = api.call("POST", "/api/appointments", raw=raw, token=api.token(ADA))
    assert answer.status_code == 413 and answer.json_body["error"]["code"] == "too_large"


@pytest.mark.parametrize("path", ["/api/visit/unknown", "/api/visit/" + "A" * 43])
def test_unknown_links_are_404(api: Api, path: str) -> None:
    answer = api.call("GET", path)
    assert answer.status_code == 404 and answer.json_body["error"]["code"] == "not_found"


@pytest.mark.parametrize("appointment_id", ["not-a-uuid", "5d0d1c5e-0000-4000-8000-000000000000"])
def test_unknown_appointments_are_404(api: Api, appointment_id: str) -> None:
    for method, suffix in (("GET", ""), ("POST", "/cancel"), ("GET", "/audit")):
        answer = api.as_(ADA, method, f"/api/appointments/{appointment_id}{suffix}")
        assert answer.status_code == 404 and answer.json_body["error"]["code"] == "not_found"


def test_a_refused_mail_keeps_the_appointment_with_a_failed_invite(api: Api, aws: AwsStack) -> None:
    ses = aws.client("ses")
    ses.delete_identity(Identity="no-reply@clinic.example")  # SES now refuses our sender
    try:
        created = api.invite(patient_email="pat.refused@example.com")
    finally:
        ses.verify_email_identity(EmailAddress="no-reply@clinic.example")
    assert created["invite"] == {"status": "failed", "count": 0, "last_sent_at": None, "text_status": None}
    stored = api.as_(ADA, "GET", f"/api/appointments/{created['id']}").json_body
    assert stored["status"] == "scheduled" and stored["invite"]["status"] == "failed"
    assert not mails_to("pat.refused@example.com")
    retried = api.as_(ADA, "POST", f"/api/appointments/{created['id']}/reinvite").json_body
    assert retried["invite"]["status"] == "sent" and retried["invite"]["count"] == 1
    assert len(mails_to("pat.refused@example.com")) == 1
