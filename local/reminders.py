"""The local run's EventBridge Scheduler: it fires the reminder schedules that the app planned.

moto's scheduler keeps schedules but never runs them. Every few seconds the local gateway asks
this module which schedules of the reminders' group have reached their `at()` time, hands each
one's input to the reminder function (the `send_reminder` handler that Scheduler invokes on
AWS, on the same single "Lambda" thread as every other handler), and deletes the schedule, as
`ActionAfterCompletion: DELETE` does. A failing invocation is tried again on the next ticks, up
to three times in all (Lambda retries a failed asynchronous invocation twice), then dropped.
"""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

TICK_SECONDS = 2
ATTEMPTS = 3


def due_time(expression: str, zone: str | None) -> datetime | None:
    """When an `at(yyyy-mm-ddThh:mm:ss)` expression fires (in its zone, UTC by default)."""
    if not (expression.startswith("at(") and expression.endswith(")")):
        return None
    local = datetime.strptime(expression[3:-1], "%Y-%m-%dT%H:%M:%S")
    return local.replace(tzinfo=ZoneInfo(zone) if zone else UTC)


class ScheduleFirer:
    def __init__(self, scheduler_client: Any, group: str) -> None:
        self._scheduler = scheduler_client
        self._group = group
        # name -> (its last modification, when it fires, its input): a schedule is read once
        # per change, not at every tick.
        self._known: dict[str, tuple[Any, datetime | None, dict[str, Any]]] = {}
        self._failures: dict[str, int] = {}

    def due(self, now: datetime) -> list[tuple[str, dict[str, Any]]]:
        """The group's schedules whose time has come, with their input, earliest first."""
        found: list[tuple[datetime, str, dict[str, Any]]] = []
        seen: set[str] = set()
        for page in self._scheduler.get_paginator("list_schedules").paginate(GroupName=self._group):
            for summary in page["Schedules"]:
                name = summary["Name"]
                seen.add(name)
                modified = summary.get("LastModificationDate")
                known = self._known.get(name)
                if known is None or known[0] != modified:
                    schedule = self._scheduler.get_schedule(Name=name, GroupName=self._group)
                    zone = schedule.get("ScheduleExpressionTimezone")
                    when = due_time(schedule["ScheduleExpression"], zone)
                    known = (modified, when, json.loads(schedule["Target"].get("Input") or "{}"))
                    self._known[name] = known
                _, when, body = known
                if when is not None and when <= now:
                    found.append((when, name, body))
        for gone in set(self._known) - seen:
            del self._known[gone]
        return [(name, body) for _, name, body in sorted(found, key=lambda item: (item[0], item[1]))]

    def fired(self, name: str, succeeded: bool) -> bool:
        """After an invocation: deletes the schedule unless a failed one has attempts left;
        returns whether it was deleted."""
        if not succeeded:
            self._failures[name] = self._failures.get(name, 0) + 1
            if self._failures[name] < ATTEMPTS:
                return False
        self._failures.pop(name, None)
        fired = self._known.pop(name, None)
        missing = self._scheduler.exceptions.ResourceNotFoundException
        with contextlib.suppress(missing):  # gone already: dropped by a cancel meanwhile
            now = self._scheduler.get_schedule(Name=name, GroupName=self._group)
            if fired is not None and now.get("LastModificationDate") != fired[0]:
                return False  # moved (a reschedule) while it fired: the new time stays planned
            self._scheduler.delete_schedule(Name=name, GroupName=self._group)
        return True
