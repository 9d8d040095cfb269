"""The EventBridge Scheduler adapter against moto's server: one `at()` schedule per
appointment and reminder, moved in place, deleted by name."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from chalicelib import aws as aws_clients
from chalicelib.config import Settings
from chalicelib.domain.reminders import Reminder
from chalicelib.reminders.scheduler import EventBridgeReminderScheduler
from tests.conftest import AwsStack

GROUP = "eclinic-reminders-adapter-test"
TARGET = "arn:aws:lambda:eu-central-1:123456789012:function:eclinic-send_reminder"
ROLE = "arn:aws:iam::123456789012:role/eclinic-scheduler"


@pytest.fixture
def scheduler_client(aws: AwsStack) -> object:
    client = aws_clients.client(Settings.from_env(), "scheduler")
    try:
        client.create_schedule_group(Name=GROUP)
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "ConflictException"
    return client


def test_a_reminder_is_planned_moved_and_dropped(scheduler_client: object) -> None:
    client = scheduler_client
    scheduler = EventBridgeReminderScheduler(client, GROUP, TARGET, ROLE)
    start = datetime(2027, 3, 1, 9, 30, tzinfo=UTC)
    scheduler.plan(Reminder("appt-1", "1h", start, start - timedelta(hours=1)))
    schedule = client.get_schedule(Name="appt-1-1h", GroupName=GROUP)  # type: ignore[attr-defined]
    assert schedule["ScheduleExpression"] == "at(2027-03-01T08:30:00)"
    assert schedule["ScheduleExpressionTimezone"] == "UTC"
    assert schedule["ActionAfterCompletion"] == "DELETE"
    assert schedule["Target"]["Arn"] == TARGET and schedule["Target"]["RoleArn"] == ROLE
    assert Reminder.from_input(json.loads(schedule["Target"]["Input"])).starts_at == start

    later = start + timedelta(days=1)
    scheduler.plan(Reminder("appt-1", "1h", later, later - timedelta(hours=1)))
    moved = client.get_schedule(Name="appt-1-1h", GroupName=GROUP)  # type: ignore[attr-defined]
    assert moved["ScheduleExpression"] == "at(2027-03-02T08:30:00)"

    scheduler.drop("appt-1", ["1h", "24h"])  # the 24h one was never planned: fine
    with pytest.raises(ClientError) as gone:
        client.get_schedule(Name="appt-1-1h", GroupName=GROUP)  # type: ignore[attr-defined]
    assert gone.value.response["Error"]["Code"] == "ResourceNotFoundException"
