"""The one parser of client JSON: invalid or too deeply nested input is a ValidationFailed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib import json_input
from chalicelib.api import bodies
from chalicelib.errors import ValidationFailed
from chalicelib.json_input import MAX_DEPTH
from tests.unit.factories import ADA, FakeWorld, invite_body


def arrays(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(
    "raw",
    [
        "[" * 60000,
        '{"a":' * 60000,
        arrays(5000),
        arrays(MAX_DEPTH + 1),
        b"[" * 60000,
        "not json",
        b"\xff\xfe\xfd",
        '{"a": "unterminated',
        "",
    ],
)
def test_refused_input_is_a_validation_error(raw: str | bytes) -> None:
    with pytest.raises(ValidationFailed) as caught:
        json_input.loads(raw, "The message")
    assert caught.value.code == "validation_error" and caught.value.field is None
    assert caught.value.message.startswith("The message is not valid JSON")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (arrays(MAX_DEPTH), json.loads(arrays(MAX_DEPTH))),
        ('{"a": "' + "[{" * 500 + '"}', {"a": "[{" * 500}),
        ('{"a": "\\"' + "[" * 500 + '"}', {"a": '"' + "[" * 500}),
        ('[{"a": [1, 2, {"b": null}]}, "]]]]"]', [{"a": [1, 2, {"b": None}]}, "]]]]"]),
        ('{"a": [1, {"b": "x"}]}'.encode("utf-16"), {"a": [1, {"b": "x"}]}),
        ('{"a": "\u00e9[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}'.encode(), {"a": "é" + "[" * 40}),
    ],
)
def test_accepted_input_parses_as_json_would(raw: str | bytes, expected: Any) -> None:
    assert json_input.loads(raw) == expected


def test_a_recursion_error_from_the_parser_is_a_validation_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(json_input, "too_deep", lambda text: False)  # the pre-scan missed it
    with pytest.raises(ValidationFailed):
        json_input.loads("[" * 60000)


@pytest.mark.parametrize(
    "raw",
    [
        "[" * 30000,
        '{"type": "ping", "a":' * 1500,  # 31.5 KB, under the message limit
        '{"type": "ping", "x": ' + arrays(MAX_DEPTH) + "}",
    ],
)
def test_deep_websocket_messages_get_a_validation_error_and_the_connection_stays_usable(
    raw: str,
) -> None:
    world = FakeWorld()
    live = world.live()
    appointment = world.service().invite(ADA, bodies.invite(invite_body()))
    live.connect("ada-1", {"id_token": ADA.email})
    before = world.appointment_store.get(appointment.id)

    (error,) = live.handle("ada-1", raw)
    assert error["type"] == "error" and error["code"] == "validation_error"
    assert "nests" in error["message"]
    # The type could not be read, so there is nothing to refer to (API.md: "anything else").
    assert "ref" not in error
    assert world.appointment_store.get(appointment.id) == before
    assert live.handle("ada-1", json.dumps({"type": "ping"})) == [{"type": "pong"}]
