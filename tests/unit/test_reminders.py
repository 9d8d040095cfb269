"""Which reminders are still ahead, and whether one that fires is still due."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain.appointment import Status
from chalicelib.domain.reminders import DEFAULT_OFFSETS, Reminder, reminders_ahead, still_due
from chalicelib.errors import ValidationFailed
from tests.unit.factories import appointment

NOW = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)


def test_only_reminders_still_ahead_are_planned() -> None:
    in_two_days = NOW + timedelta(days=2)
    assert [r.kind for r in reminders_ahead("a", in_two_days, NOW, DEFAULT_OFFSETS)] == ["24h", "1h"]
    in_three_hours = NOW + timedelta(hours=3)
    (only,) = reminders_ahead("a", in_three_hours, NOW, DEFAULT_OFFSETS)
    assert only.kind == "1h" and only.due_at == NOW + timedelta(hours=2)
    assert reminders_ahead("a", NOW + timedelta(minutes=30), NOW, DEFAULT_OFFSETS) == []


def test_a_reminder_is_due_only_for_an_open_appointment_at_its_planned_start() -> None:
    booked = appointment(starts_at=NOW + timedelta(hours=1))
    (reminder,) = reminders_ahead(booked.id, booked.starts_at, NOW - timedelta(minutes=1), DEFAULT_OFFSETS)[
        -1:
    ]
    assert still_due(booked, reminder, frozenset())
    assert still_due(replace(booked, status=Status.WAITING), reminder, frozenset())
    assert not still_due(booked, reminder, frozenset({reminder.key}))
    for final in (Status.CANCELLED, Status.COMPLETED, Status.IN_SESSION):
        assert not still_due(replace(booked, status=final), reminder, frozenset())
    moved = replace(booked, starts_at=booked.starts_at + timedelta(days=1))
    assert not still_due(moved, reminder, frozenset())


def test_a_schedule_input_round_trips_and_anything_else_is_refused() -> None:
    reminder = Reminder("a", "1h", NOW, NOW - timedelta(hours=1))
    assert Reminder.from_input(reminder.to_input()) == reminder
    good = reminder.to_input()
    bad_inputs: list[Any] = [
        None, [], {}, {**good, "extra": "x"}, {**good, "starts_at": "soon"},
        {**good, "kind": ""}, {**good, "due_at": 5},
    ]  # fmt: skip
    for bad in bad_inputs:
        with pytest.raises(ValidationFailed):
            Reminder.from_input(bad)
