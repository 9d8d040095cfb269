"""Deeply nested JSON bodies are a 400 `validation_error` that stores and mails nothing,
never a 500 (Python's json raises RecursionError past about 1000 levels)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.json_input import MAX_DEPTH
from local import mailbox
from tests.api.conftest import Api, invite_body

ADA = "ada@clinic.example"
SCHEDULE = "/api/appointments?to=2027-06-01T00:00:00Z"


def nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = {"a": value}
    return value


def deep_invite(email: str, depth: int) -> bytes:
    return json.dumps(invite_body(patient_email=email, notes=nested(depth))).encode()


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 60000,  # RecursionError in json.loads today
        b'{"a":' * 12000,  # 60 KB, under the body limit
        b"[" * 5000 + b"]" * 5000,  # well-formed, and still past the recursion limit
        "[".encode("utf-16") + "[".encode("utf-16-le") * 20000,  # json.loads reads UTF-16 too
    ],
    ids=["open-arrays", "open-objects", "closed-arrays", "utf-16"],
)
def test_deeply_nested_bodies_are_400_and_store_nothing(api: Api, raw: bytes) -> None:
    before = api.as_(ADA, "GET", SCHEDULE).json_body["appointments"]
    answer = api.call("POST", "/api/appointments", raw=raw, token=api.token(ADA))
    assert answer.status_code == 400, answer.body
    error = answer.json_body["error"]
    assert error["code"] == "validation_error" and "field" not in error
    assert "nests" in error["message"] and "Traceback" not in answer.body.decode()
    assert api.as_(ADA, "GET", SCHEDULE).json_body["appointments"] == before


def test_parseable_nesting_past_the_bound_is_refused_and_at_the_bound_accepted(api: Api) -> None:
    email = "pat.deep@example.com"
    before = api.as_(ADA, "GET", SCHEDULE).json_body["appointments"]
    # The invite object itself is one level; `notes` (ignored) adds the rest.
    answer = api.call("POST", "/api/appointments", raw=deep_invite(email, MAX_DEPTH), token=api.token(ADA))
    assert answer.status_code == 400 and answer.json_body["error"]["code"] == "validation_error"
    assert api.as_(ADA, "GET", SCHEDULE).json_body["appointments"] == before
    assert not [m for m in mailbox.messages() if email in m["to"]]

    answer = api.call(
        "POST", "/api/appointments", raw=deep_invite(email, MAX_DEPTH - 1), token=api.token(ADA)
    )
    assert answer.status_code == 201, answer.body


def test_brackets_inside_strings_do_not_count(api: Api) -> None:
    answer = api.as_(ADA, "POST", "/api/appointments", invite_body(patient_name="[{" * 100))
    assert answer.status_code == 201, answer.body
    assert answer.json_body["patient_name"] == "[{" * 100


@pytest.mark.parametrize("path", ["/api/auth/login", "/api/appointments/{id}/tasks"])
def test_other_body_routes_refuse_deep_json_too(api: Api, path: str) -> None:
    created = api.invite()
    answer = api.call("POST", path.format(id=created["id"]), raw=b"[" * 60000, token=api.token(ADA))
    assert answer.status_code == 400 and answer.json_body["error"]["code"] == "validation_error"
