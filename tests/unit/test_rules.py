"""Each validation rule of API.md names its field, and a good body passes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.api import bodies
from chalicelib.domain import rules
from chalicelib.errors import ValidationFailed
from chalicelib.usecases.commands import InviteCommand
from tests.unit.factories import NOW, invite_body


def invitation(body: object) -> InviteCommand:
    """A body as the edge parses it, with the start then held against the clock."""
    command = bodies.invite(body)
    rules.check_start(command.starts_at, NOW)
    return command


def reject(body: object) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as raised:
        invitation(body)
    return raised.value


def test_good_body_is_normalised_to_utc_whole_seconds() -> None:
    parsed = invitation(invite_body(starts_at="2026-11-26T10:30:15.250+01:00"))
    assert parsed.starts_at.isoformat() == "2026-11-26T09:30:15+00:00"
    assert parsed.duration_minutes == 20 and parsed.timezone == "Europe/Berlin"


def test_defaults() -> None:
    body = invite_body()
    del body["duration_minutes"], body["timezone"]
    parsed = invitation(body)
    assert (parsed.duration_minutes, parsed.timezone) == (15, "UTC")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"patient_email": "not-an-email"}, "patient_email"),
        ({"patient_email": "a@b"}, "patient_email"),
        ({"patient_email": "pat@example.com\r\nBcc: x@evil.test"}, "patient_email"),
        ({"patient_email": ""}, "patient_email"),
        ({"patient_email": 42}, "patient_email"),
        ({"patient_name": ""}, "patient_name"),
        ({"patient_name": "   "}, "patient_name"),
        ({"patient_name": "x" * 201}, "patient_name"),
        ({"patient_name": "Pat\nBcc: x@evil.test"}, "patient_name"),
        ({"patient_name": "Pat\x00Doe"}, "patient_name"),
        ({"patient_name": "Pat\u202eDoe"}, "patient_name"),
        ({"patient_name": None}, "patient_name"),
        ({"starts_at": "2026-11-26T10:30:00"}, "starts_at"),
        ({"starts_at": "tomorrow"}, "starts_at"),
        ({"starts_at": "2026-11-26T08:49:00Z"}, "starts_at"),
        ({"starts_at": 1795708026}, "starts_at"),
        ({"starts_at": "2028-01-01T10:00:00Z"}, "starts_at"),
        ({"duration_minutes": 4}, "duration_minutes"),
        ({"duration_minutes": 241}, "duration_minutes"),
        ({"duration_minutes": 15.5}, "duration_minutes"),
        ({"duration_minutes": "15"}, "duration_minutes"),
        ({"duration_minutes": True}, "duration_minutes"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": "../../etc/passwd"}, "timezone"),
        ({"timezone": 1}, "timezone"),
        ({"group": ""}, "group"),
        ({"group": None}, "group"),
    ],
)
def test_each_rule_names_its_field(changes: dict[str, object], field: str) -> None:
    assert reject(invite_body(**changes)).field == field


def test_name_of_exactly_200_characters_is_fine() -> None:
    assert len(invitation(invite_body(patient_name="x" * 200)).patient_name) == 200


def test_ten_minutes_in_the_past_is_still_fine() -> None:
    start = (NOW - timedelta(minutes=9)).isoformat()
    assert invitation(invite_body(starts_at=start)).starts_at < NOW


@pytest.mark.parametrize("body", [None, [], "text", 3])
def test_body_must_be_an_object(body: object) -> None:
    assert reject(body).field is None


def test_schedule_range_defaults_and_limits() -> None:
    start, end = rules.schedule_range({}, NOW)
    assert start.isoformat() == "2026-11-26T00:00:00+00:00" and end - start == timedelta(days=30)
    with pytest.raises(ValidationFailed) as raised:
        rules.schedule_range({"from": "2026-11-26T00:00:00Z", "to": "2026-11-25T00:00:00Z"}, NOW)
    assert raised.value.field == "to"
    with pytest.raises(ValidationFailed) as raised:
        rules.schedule_range({"from": "yesterday"}, NOW)
    assert raised.value.field == "from"


def test_task_rules() -> None:
    assert bodies.create_task({"title": " Letter ", "note": "line 1\nline 2"}).title == "Letter"
    for body, field in (({"title": ""}, "title"), ({"title": "t", "note": "x" * 4001}, "note")):
        with pytest.raises(ValidationFailed) as raised:
            bodies.create_task(body)
        assert raised.value.field == field
