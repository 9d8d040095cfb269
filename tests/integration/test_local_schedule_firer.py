"""The local run's stand-in for Scheduler firing (local/reminders.py), against moto's scheduler:
due schedules with their input, earliest first; deleted after they ran; a failed one kept for
two more attempts; one moved while it fired kept."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib import aws as aws_clients
from chalicelib.config import Settings
from chalicelib.domain.reminders import Reminder
from chalicelib.reminders.scheduler import EventBridgeReminderScheduler
from local.reminders import ATTEMPTS, ScheduleFirer, due_time
from tests.conftest import AwsStack

TARGET = "arn:aws:lambda:us-east-1:123456789012:function:eclinic-send_reminder"
ROLE = "arn:aws:iam::123456789012:role/eclinic-scheduler"


@pytest.fixture
def group(aws: AwsStack) -> str:
    name = f"firer-{uuid.uuid4().hex[:8]}"
    aws_clients.client(Settings.from_env(), "scheduler").create_schedule_group(Name=name)
    return name


def test_due_time_reads_at_expressions() -> None:
    assert due_time("at(2027-03-01T08:30:00)", "UTC") == datetime(2027, 3, 1, 8, 30, tzinfo=UTC)
    assert due_time("at(2027-03-01T09:30:00)", "Europe/Berlin") == datetime(2027, 3, 1, 8, 30, tzinfo=UTC)
    assert due_time("rate(5 minutes)", "UTC") is None


def test_due_schedules_fire_once_and_are_deleted(group: str) -> None:
    client = aws_clients.client(Settings.from_env(), "scheduler")
    planner = EventBridgeReminderScheduler(client, group, TARGET, ROLE)
    now = datetime.now(UTC).replace(microsecond=0)
    due_first = Reminder("a-1", "1h", now + timedelta(minutes=50), now - timedelta(minutes=10))
    due_second = Reminder("a-2", "1h", now + timedelta(minutes=59), now - timedelta(minutes=1))
    later = Reminder("a-3", "24h", now + timedelta(days=1, hours=1), now + timedelta(hours=1))
    for reminder in (due_second, later, due_first):
        planner.plan(reminder)
    firer = ScheduleFirer(client, group)
    due = firer.due(now)
    assert [name for name, _ in due] == ["a-1-1h", "a-2-1h"]
    assert [Reminder.from_input(body) for _, body in due] == [due_first, due_second]
    for name, _ in due:
        assert firer.fired(name, succeeded=True)
    assert firer.due(now) == []
    names = {s["Name"] for s in client.list_schedules(GroupName=group)["Schedules"]}
    assert names == {"a-3-24h"}


def test_a_failed_invocation_is_tried_again_then_dropped(group: str) -> None:
    client = aws_clients.client(Settings.from_env(), "scheduler")
    now = datetime.now(UTC).replace(microsecond=0)
    EventBridgeReminderScheduler(client, group, TARGET, ROLE).plan(
        Reminder("b-1", "1h", now + timedelta(minutes=59), now - timedelta(minutes=1))
    )
    firer = ScheduleFirer(client, group)
    for _ in range(ATTEMPTS - 1):
        assert not firer.fired("b-1-1h", succeeded=False)
        assert [name for name, _ in firer.due(now)] == ["b-1-1h"]
    assert firer.fired("b-1-1h", succeeded=False)
    assert firer.due(now) == []


def test_a_schedule_moved_while_it_fired_stays(group: str) -> None:
    client = aws_clients.client(Settings.from_env(), "scheduler")
    planner = EventBridgeReminderScheduler(client, group, TARGET, ROLE)
    now = datetime.now(UTC).replace(microsecond=0)
    planner.plan(Reminder("c-1", "1h", now + timedelta(minutes=59), now - timedelta(minutes=1)))
    firer = ScheduleFirer(client, group)
    ((name, _),) = firer.due(now)
    moved = Reminder("c-1", "1h", now + timedelta(days=2), now + timedelta(days=2, hours=-1))
    planner.plan(moved)  # a reschedule lands while the old time's invocation runs
    assert not firer.fired(name, succeeded=True)
    schedule = client.get_schedule(Name=name, GroupName=group)
    assert Reminder.from_input(json.loads(schedule["Target"]["Input"])) == moved
