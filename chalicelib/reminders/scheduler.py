"""The reminder scheduler port: one one-time schedule per appointment and reminder.

On AWS these are EventBridge Scheduler `at()` schedules in one schedule group, each invoking
the reminder function with the reminder as its input and deleting itself after it ran. The
local run fires the same schedules from moto (see `local/reminders.py`). Schedule names are
`<appointment id>-<kind>`, so moving an appointment replaces its schedules and a cancel deletes
them by name.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from chalicelib.domain.reminders import Reminder


class SchedulingFailed(Exception):
    """The scheduler refused a change; `reason` is its error code."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ReminderScheduler(Protocol):
    def plan(self, reminder: Reminder) -> None:
        """Creates the reminder's schedule, or moves it when one of that name exists."""
        ...

    def drop(self, appointment_id: str, kinds: list[str]) -> None:
        """Deletes those schedules of an appointment; one that is gone already is fine."""
        ...


def schedule_name(appointment_id: str, kind: str) -> str:
    return f"{appointment_id}-{kind}"


class EventBridgeReminderScheduler:
    def __init__(self, scheduler_client: Any, group: str, target_arn: str, role_arn: str) -> None:
        self._scheduler = scheduler_client
        self._group = group
        self._target_arn = target_arn
        self._role_arn = role_arn

    def plan(self, reminder: Reminder) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        request = {
            "Name": schedule_name(reminder.appointment_id, reminder.kind),
            "GroupName": self._group,
            "ScheduleExpression": f"at({reminder.due_at.strftime('%Y-%m-%dT%H:%M:%S')})",
            "ScheduleExpressionTimezone": "UTC",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "ActionAfterCompletion": "DELETE",
            "Target": {
                "Arn": self._target_arn,
                "RoleArn": self._role_arn,
                "Input": json.dumps(reminder.to_input()),
                "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 900},
            },
        }
        try:
            try:
                self._scheduler.create_schedule(**request)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ConflictException":
                    raise
                self._scheduler.update_schedule(**request)
        except ClientError as exc:
            raise SchedulingFailed(exc.response.get("Error", {}).get("Code", "ClientError")) from exc
        except BotoCoreError as exc:
            raise SchedulingFailed(type(exc).__name__) from exc

    def drop(self, appointment_id: str, kinds: list[str]) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        for kind in kinds:
            try:
                self._scheduler.delete_schedule(
                    Name=schedule_name(appointment_id, kind), GroupName=self._group
                )
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                    raise SchedulingFailed(exc.response.get("Error", {}).get("Code", "ClientError")) from exc
            except BotoCoreError as exc:
                raise SchedulingFailed(type(exc).__name__) from exc


class InMemoryReminderScheduler:
    """The planned reminders by schedule name; `refuse` fails the next changes."""

    def __init__(self) -> None:
        self.planned: dict[str, Reminder] = {}
        self.refuse = False

    def plan(self, reminder: Reminder) -> None:
        if self.refuse:
            raise SchedulingFailed("ThrottlingException")
        self.planned[schedule_name(reminder.appointment_id, reminder.kind)] = reminder

    def drop(self, appointment_id: str, kinds: list[str]) -> None:
        if self.refuse:
            raise SchedulingFailed("ThrottlingException")
        for kind in kinds:
            self.planned.pop(schedule_name(appointment_id, kind), None)
