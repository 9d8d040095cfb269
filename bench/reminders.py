"""Reminder punctuality on the local run: a reminder's scheduled time -> its mail in the mailbox.

The local run starts with a one-minute offset (`ECLINIC_REMINDER_OFFSETS_MINUTES=1`), so that
an appointment made for a minute and a bit from now has its reminder due within seconds; the
appointments start one second apart, so their due times fall at every phase of the local
run's schedule timer. Each reminder travels the whole way: the schedule the invitation planned
in the AWS stand-in, the timer that fires it (local/reminders.py), the `send_reminder` handler,
SES; the mailbox is polled every half second (parsing
every mail takes a few hundred milliseconds once there are dozens). Every appointment has a phone, so the text
goes out too (counted, not timed). On AWS, EventBridge Scheduler's own delay replaces the
timer's (with `FlexibleTimeWindow` off it fires within a minute of the time, usually seconds).
"""

from __future__ import annotations

import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta

import requests

from bench.stack import local_run, login, percentile
from chalicelib import settings_names as app_settings
from local.reminders import TICK_SECONDS

POLL_SECONDS = 0.5
LEAD = timedelta(seconds=45)  # time to make every appointment before the first is due


def run(count: int) -> dict[str, object]:
    with local_run({app_settings.REMINDER_OFFSETS_MINUTES: "1"}) as base:
        headers = {"Authorization": f"Bearer {login(base, 'ada@clinic.example')}"}
        tag = uuid.uuid4().hex[:8]
        first_due = datetime.now(UTC).replace(microsecond=0) + LEAD
        due: dict[str, datetime] = {}
        session = requests.Session()
        for i in range(count):
            starts_at = first_due + timedelta(minutes=1, seconds=i)
            email = f"bench.reminder.{tag}.{i}@example.com"
            created = session.post(
                f"{base}/api/appointments",
                headers=headers,
                json={
                    "starts_at": starts_at.isoformat(),
                    "patient_name": f"Bench Reminder {i}",
                    "patient_email": email,
                    "patient_phone": f"+4930{1000000 + i}",
                    "group": "cardiology",
                },
                timeout=30,
            )
            created.raise_for_status()
            due[email] = starts_at - timedelta(minutes=1)
        if datetime.now(UTC) >= first_due:
            raise RuntimeError("making the appointments took longer than the lead; raise LEAD")
        arrived: dict[str, datetime] = {}
        deadline = time.monotonic() + LEAD.total_seconds() + count + 60
        while len(arrived) < count and time.monotonic() < deadline:
            messages = session.get(f"{base}/_local/mailbox.json", timeout=30).json()["messages"]
            seen = datetime.now(UTC)
            for message in messages:
                (to,) = message["to"]
                if to in due and to not in arrived and message["subject"].startswith("Reminder:"):
                    arrived[to] = seen
            time.sleep(POLL_SECONDS)
        texts = session.get(f"{base}/_local/sms.json", timeout=30).json()["messages"]
        reminder_texts = sum(1 for t in texts if t["text"].startswith("Reminder:"))
    delays = [(arrived[email] - due[email]).total_seconds() for email in arrived]
    return {
        "reminders": count,
        "mailed": len(arrived),
        "texted": reminder_texts,
        "timer_tick_s": TICK_SECONDS,
        "poll_s": POLL_SECONDS,
        "scheduled_to_mailbox_p50_s": round(statistics.median(delays), 2) if delays else None,
        "scheduled_to_mailbox_p95_s": round(percentile(delays, 95), 2) if delays else None,
        "scheduled_to_mailbox_max_s": round(max(delays), 2) if delays else None,
        "never_early": all(d >= 0 for d in delays),
    }
