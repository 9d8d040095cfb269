"""The security matrix: every clinician route against every kind of bad credential, and
another group's clinician. Nothing answers with data, and nothing changes."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.api.conftest import (
    Api,
    expired,
    hs256_with_public_key,
    signed_by_stranger,
    tampered,
    unsigned,
    with_claims,
)

ID = "{id}"
ROUTES = [
    ("GET", "/api/me", None),
    ("GET", "/api/appointments", None),
    ("POST", "/api/appointments", "invite"),
    ("GET", f"/api/appointments/{ID}", None),
    ("POST", f"/api/appointments/{ID}/reschedule", {"starts_at": "2027-11-30T09:30:00+01:00"}),
    ("POST", f"/api/appointments/{ID}/cancel", None),
    ("POST", f"/api/appointments/{ID}/reinvite", None),
    ("POST", f"/api/appointments/{ID}/complete", None),
    ("POST", f"/api/appointments/{ID}/tasks", {"title": "Letter"}),
    ("GET", f"/api/appointments/{ID}/audit", None),
    ("GET", f"/api/appointments/{ID}/messages", None),
    ("GET", f"/api/appointments/{ID}/screenshots", None),
    ("POST", f"/api/appointments/{ID}/documents", {"title": "Leaflet", "text": "Rest well."}),
]

BAD_TOKENS: dict[str, Callable[[str], str | None]] = {
    "none": lambda good: None,
    "garbage": lambda good: "garbage",
    "tampered": tampered,
    "unsigned": unsigned,
    "expired": expired,
    "stranger's key": signed_by_stranger,
    "hs256": hs256_with_public_key,
    "wrong audience": lambda good: with_claims(good, aud="another-client"),
    "wrong issuer": lambda good: with_claims(good, iss="https://cognito-idp.us-east-1.amazonaws.com/other"),
    "access token": lambda good: with_claims(good, token_use="access"),
}


@pytest.fixture(scope="module")
def victim(client: object) -> dict[str, object]:
    return Api(client).invite()  # type: ignore[arg-type]


def body_for(kind: object) -> object:
    from tests.api.conftest import invite_body

    return invite_body() if kind == "invite" else kind


@pytest.mark.parametrize("kind", list(BAD_TOKENS))
@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_bad_credentials_are_401_and_change_nothing(
    api: Api, victim: dict[str, object], kind: str, method: str, path: str, body: object
) -> None:
    token = BAD_TOKENS[kind](api.token("ada@clinic.example"))
    answer = api.call(method, path.format(id=victim["id"]), body=body_for(body), token=token)
    assert answer.status_code == 401, (kind, path, answer.body)
    assert answer.json_body["error"]["code"] == "unauthorized"
    assert "Pat" not in answer.body.decode()
    after = api.as_("ada@clinic.example", "GET", f"/api/appointments/{victim['id']}").json_body
    assert after["status"] == "scheduled" and after["invite"]["count"] == 1


@pytest.mark.parametrize(("method", "path", "body"), [r for r in ROUTES if ID in r[1]])
def test_another_groups_clinician_gets_404_and_no_data(
    api: Api, victim: dict[str, object], method: str, path: str, body: object
) -> None:
    answer = api.as_("cyd@clinic.example", method, path.format(id=victim["id"]), body_for(body))
    assert answer.status_code == 404, answer.body
    assert answer.json_body == {"error": {"code": "not_found", "message": "No such appointment."}}
    after = api.as_("ada@clinic.example", "GET", f"/api/appointments/{victim['id']}").json_body
    assert after["status"] == "scheduled" and after["invite"]["count"] == 1


def test_another_groups_schedule_is_invisible(api: Api, victim: dict[str, object]) -> None:
    listed = api.as_("cyd@clinic.example", "GET", "/api/appointments").json_body["appointments"]
    assert victim["id"] not in {a["id"] for a in listed}
    answer = api.as_("cyd@clinic.example", "GET", "/api/appointments?group=cardiology")
    assert answer.status_code == 403 and answer.json_body["error"]["code"] == "forbidden"


def test_inviting_into_another_group_is_403_and_stores_nothing(api: Api) -> None:
    from tests.api.conftest import invite_body

    before = len(api.as_("ada@clinic.example", "GET", "/api/appointments").json_body["appointments"])
    answer = api.as_("cyd@clinic.example", "POST", "/api/appointments", invite_body(group="cardiology"))
    assert answer.status_code == 403
    assert answer.json_body["error"] == {
        "code": "forbidden",
        "message": "You are not a member of that author group.",
        "field": "group",
    }
    assert len(api.as_("ada@clinic.example", "GET", "/api/appointments").json_body["appointments"]) == before
