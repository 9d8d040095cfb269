"""The reminder decisions as data: which schedules a change plans or drops, the kinds' names, the
offsets setting, and the appointment's own reminder and text fields."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib import settings_names as app_settings
from chalicelib.config import Settings
from chalicelib.domain.appointment import RESCHEDULABLE, Status, TextStatus
from chalicelib.domain.reminders import DEFAULT_OFFSETS, follow, kind_for, offsets_from_minutes
from tests.unit.factories import ADA, appointment

NOW = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)


def test_kinds_are_named_by_their_offset() -> None:
    assert offsets_from_minutes((1440, 60)) == DEFAULT_OFFSETS
    assert [kind_for(timedelta(minutes=m)) for m in (1, 90, 120, 2880)] == ["1m", "90m", "2h", "48h"]


def test_the_offsets_setting_is_checked_at_start() -> None:
    assert Settings.from_env({}).reminder_offsets_minutes == (1440, 60)
    assert Settings.from_env({app_settings.REMINDER_OFFSETS_MINUTES: " 3, 1"}).reminder_offsets_minutes == (
        3,
        1,
    )
    for bad in ("soon", "60,60", "0", "-5", "1440,abc", "20000"):
        with pytest.raises(ValueError, match=app_settings.REMINDER_OFFSETS_MINUTES):
            Settings.from_env({app_settings.REMINDER_OFFSETS_MINUTES: bad})


def test_a_new_appointment_plans_what_is_ahead_and_drops_nothing() -> None:
    made = appointment(starts_at=NOW + timedelta(hours=3))
    decided = follow(None, made, NOW, DEFAULT_OFFSETS)
    assert [r.kind for r in decided.plan] == ["1h"] and decided.drop == []


def test_a_move_plans_anew_and_drops_what_is_no_longer_ahead() -> None:
    before = appointment(starts_at=NOW + timedelta(days=2))
    after = replace(before, starts_at=NOW + timedelta(hours=2))
    decided = follow(before, after, NOW, DEFAULT_OFFSETS)
    assert [(r.kind, r.starts_at) for r in decided.plan] == [("1h", after.starts_at)]
    assert decided.drop == ["24h"]


@pytest.mark.parametrize("end", [Status.CANCELLED, Status.COMPLETED])
def test_an_end_drops_every_kind_once(end: Status) -> None:
    before = appointment(starts_at=NOW + timedelta(days=2), status=Status.WAITING)
    ended = replace(before, status=end)
    assert follow(before, ended, NOW, DEFAULT_OFFSETS).drop == ["24h", "1h"]
    assert follow(ended, ended, NOW, DEFAULT_OFFSETS).drop == []  # a later write of an ended one


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (Status.SCHEDULED, Status.WAITING),
        (Status.WAITING, Status.SCHEDULED),
        (Status.WAITING, Status.IN_SESSION),
        (Status.IN_SESSION, Status.WAITING),
    ],
)
def test_presence_and_sessions_leave_the_schedules_alone(before: Status, after: Status) -> None:
    a = appointment(starts_at=NOW + timedelta(days=2), status=before)
    decided = follow(a, replace(a, status=after), NOW, DEFAULT_OFFSETS)
    assert decided.plan == [] and decided.drop == []


def test_reschedule_is_allowed_before_the_session_only() -> None:
    assert frozenset({Status.SCHEDULED, Status.WAITING}) == RESCHEDULABLE
    a = appointment(starts_at=NOW + timedelta(days=2))
    moved, audit = a.rescheduled(NOW + timedelta(days=3), 30, "UTC", ADA, NOW)
    assert audit is not None and audit.action == "rescheduled" and moved.calendar_sequence == 1
    assert moved.version == a.version  # storage raises it, on the condition of the old one
    same, none = a.rescheduled(a.starts_at, a.duration_minutes, a.timezone, ADA, NOW)
    assert same is a and none is None


def test_text_results_keep_the_opt_out_mark_until_a_text_goes_through() -> None:
    a = appointment(patient_phone="+4930123456")
    out = a.with_invite_text(TextStatus.OPTED_OUT, NOW)
    assert out.patient_phone_opted_out and out.invite.text_status is TextStatus.OPTED_OUT
    assert out.with_text_result(TextStatus.FAILED, NOW).patient_phone_opted_out
    assert not out.with_text_result(TextStatus.SENT, NOW).patient_phone_opted_out


def test_a_reminder_claim_is_kept_and_released_by_key() -> None:
    a = appointment()
    claimed = a.with_reminder_claimed("1h@2027-03-01T10:00:00Z")
    assert claimed.reminders_sent == frozenset({"1h@2027-03-01T10:00:00Z"})
    assert claimed.without_reminder_claim("1h@2027-03-01T10:00:00Z").reminders_sent == frozenset()
