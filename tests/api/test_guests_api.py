"""The guest routes end to end through the Chalice app, on moto: invite, list, remove, the
guest's own link (`GET /api/visit/{token}` with `participant`), validation and the error shape."""

from __future__ import annotations

from typing import Any

import pytest

from local import texts
from tests.api.conftest import Api
from tests.api.test_appointments_api import ADA, BEN, CYD, link_in, mails_to

GUEST_KEYS = {"id", "name", "role", "status"}


def guests_path(appointment: dict[str, Any]) -> str:
    return f"/api/appointments/{appointment['id']}/guests"


def add(api: Api, appointment: dict[str, Any], **body: Any) -> Any:
    wanted = {"name": "Ines Tolk", "email": "ines.api@example.com", "role": "interpreter", **body}
    return api.as_(BEN, "POST", guests_path(appointment), {k: v for k, v in wanted.items() if v is not None})


def test_invite_list_visit_remove(api: Api) -> None:
    booked = api.invite(patient_name="Pat Secret", patient_email="pat.secret@example.com")
    answer = add(api, booked, email="ines.flow@example.com")
    assert answer.status_code == 201, answer.body
    guest = answer.json_body
    assert set(guest) == GUEST_KEYS | {"invitation"}
    assert (guest["name"], guest["role"], guest["status"], guest["invitation"]) == (
        "Ines Tolk", "interpreter", "invited", "sent",
    )  # fmt: skip
    (mail,) = mails_to("ines.flow@example.com")
    assert "with Cardiology as an interpreter on" in mail["text"]
    assert "Pat" not in mail["text"] and "pat.secret" not in mail["text"] + mail["html"]
    link = link_in(mail)

    shown = api.as_(ADA, "GET", f"/api/appointments/{booked['id']}").json_body
    assert shown["guests"] == [
        {"id": guest["id"], "name": "Ines Tolk", "role": "interpreter", "status": "invited"}
    ]
    listed = api.as_(ADA, "GET", guests_path(booked))
    assert listed.status_code == 200 and [g["id"] for g in listed.json_body["guests"]] == [guest["id"]]

    visit = api.call("GET", f"/api{link}")
    assert visit.status_code == 200, visit.body
    assert visit.json_body["participant"] == {
        "role": "guest",
        "name": "Ines Tolk",
        "guest_role": "interpreter",
    }
    assert visit.json_body["seat"] == "guest-1"
    view = visit.json_body["appointment"]
    assert view["id"] == booked["id"] and view["group_name"] == "Cardiology" and view["patient_name"] == ""
    # The patient's written information is not the guest's; the chat since they came is.
    assert api.call("GET", f"/api{link}/documents").status_code == 404
    history = api.call("GET", f"/api{link}/messages")
    assert history.status_code == 200 and history.json_body["messages"] == [], history.body

    removed = api.as_(ADA, "DELETE", f"{guests_path(booked)}/{guest['id']}")
    assert removed.status_code == 200
    assert removed.json_body == {
        "id": guest["id"],
        "name": "Ines Tolk",
        "role": "interpreter",
        "status": "removed",
    }
    assert api.call("GET", f"/api{link}").json_body["error"]["code"] == "gone"
    assert api.call("GET", f"/api{link}").status_code == 410
    again = api.as_(ADA, "DELETE", f"{guests_path(booked)}/{guest['id']}")
    assert again.status_code == 200 and again.json_body["status"] == "removed"
    listed = api.as_(ADA, "GET", guests_path(booked)).json_body["guests"]
    assert [g["status"] for g in listed] == ["removed"]
    assert api.as_(ADA, "GET", f"/api/appointments/{booked['id']}").json_body["guests"] == []

    events = api.as_(ADA, "GET", f"/api/appointments/{booked['id']}/audit").json_body["events"]
    guest_events = [e for e in events if e["action"].startswith("guest_")]
    assert [e["action"] for e in guest_events] == ["guest_added", "guest_invitation_sent", "guest_removed"]
    assert guest_events[0]["detail"] == {"guest_id": guest["id"], "role": "interpreter"}


def test_a_guest_by_phone_is_texted(api: Api) -> None:
    booked = api.invite()
    answer = add(api, booked, email=None, phone="+49 30 90182077", role="family", name="Fay")
    assert answer.status_code == 201 and "invitation" not in answer.json_body
    (sms,) = [t for t in texts.messages() if t["to"] == "+493090182077"]
    assert "as a family member" in sms["text"] and "/visit/" in sms["text"] and "Pat" not in sms["text"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": None}, "email"),
        ({"email": "nope"}, "email"),
        ({"phone": "12345"}, "phone"),
        ({"role": "doctor"}, "role"),
        ({"name": ""}, "name"),
        ({"name": "y" * 201}, "name"),
        ({"name": "a\u2028b"}, "name"),
    ],
)
def test_invalid_guests_answer_400_with_the_field_and_store_nothing(
    api: Api, body: dict[str, Any], field: str
) -> None:
    booked = api.invite()
    answer = add(api, booked, **body)
    assert answer.status_code == 400
    assert (
        answer.json_body["error"]["code"] == "validation_error"
        and answer.json_body["error"]["field"] == field
    )
    assert api.as_(ADA, "GET", guests_path(booked)).json_body["guests"] == []


def test_a_third_guest_another_group_and_an_unknown_guest(api: Api) -> None:
    booked = api.invite()
    assert add(api, booked).status_code == 201
    assert add(api, booked, name="Fay", role="family").status_code == 201
    third = add(api, booked, name="Col", role="colleague")
    assert third.status_code == 409 and third.json_body["error"]["code"] == "conflict"
    assert "At most 2 guests at a time" in third.json_body["error"]["message"]
    assert len(api.as_(ADA, "GET", guests_path(booked)).json_body["guests"]) == 2

    body = {"name": "Eve", "email": "eve@example.com", "role": "colleague"}
    for method, path, payload in (
        ("POST", guests_path(booked), body),
        ("GET", guests_path(booked), None),
        ("DELETE", f"{guests_path(booked)}/whatever", None),
    ):
        answer = api.as_(CYD, method, path, payload)
        assert answer.status_code == 404 and answer.json_body["error"]["code"] == "not_found"
    unknown = api.as_(ADA, "DELETE", f"{guests_path(booked)}/no-such-guest")
    assert unknown.status_code == 404
    assert api.call("POST", guests_path(booked), body).status_code == 401


def test_a_cancelled_appointment_takes_no_guest_and_its_guest_links_die(api: Api) -> None:
    booked = api.invite()
    assert add(api, booked, email="ines.cancel@example.com").status_code == 201
    link = link_in(mails_to("ines.cancel@example.com")[-1])
    assert api.as_(ADA, "POST", f"/api/appointments/{booked['id']}/cancel").status_code == 200
    assert api.call("GET", f"/api{link}").status_code == 410
    assert add(api, booked).status_code == 409
    unknown = api.call("GET", "/api/visit/" + "A" * 43)
    assert unknown.status_code == 404
