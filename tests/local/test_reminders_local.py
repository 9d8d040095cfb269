"""Reminders and texts on the real local run, with its default offsets (24 hours and 1 hour) and
the real clock: an appointment an hour and two minutes ahead gets its 1-hour reminder (mail and
text) about two minutes later, fired from the schedule the app planned in the AWS stand-in; a
cancelled one never does. `/_local/sms.json` and the mailbox page list the texts."""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from local import aws_standin
from tests.local.conftest import LocalRun

PASSWORD = "Clinic-Demo-2026!"
WAIT_SECONDS = 150  # the reminder is due 120 s after the invitation; the local run looks every 2 s


def login(run: LocalRun) -> dict[str, str]:
    answer = requests.post(
        run.url("/api/auth/login"), json={"email": "ada@clinic.example", "password": PASSWORD}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['id_token']}"}


def invite(
    run: LocalRun, headers: dict[str, str], starts_at: datetime, email: str, phone: str
) -> dict[str, Any]:
    answer = requests.post(
        run.url("/api/appointments"),
        headers=headers,
        json={
            "starts_at": starts_at.isoformat(),
            "patient_name": "Pat Reminder",
            "patient_email": email,
            "patient_phone": phone,
            "group": "cardiology",
            "timezone": "Europe/Berlin",
        },
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def mails_to(run: LocalRun, email: str) -> list[dict[str, Any]]:
    messages = requests.get(run.url("/_local/mailbox.json"), timeout=10).json()["messages"]
    return [m for m in messages if m["to"] == [email]]


def texts_to(run: LocalRun, number: str) -> list[dict[str, Any]]:
    body = requests.get(run.url("/_local/sms.json"), timeout=10).json()
    assert set(body) == {"messages"}
    return [t for t in body["messages"] if t["to"] == number]


def schedules(run: LocalRun, appointment_id: str) -> list[str]:
    described = requests.get(run.url("/_local/aws"), timeout=10).json()
    client = aws_standin.operator_client(described, "scheduler")
    listed = client.list_schedules(GroupName=aws_standin.REMINDER_GROUP)["Schedules"]
    return sorted(s["Name"] for s in listed if s["Name"].startswith(appointment_id))


@pytest.mark.slow
def test_a_reminder_fires_an_hour_before_and_a_cancelled_one_never(local_run: LocalRun) -> None:
    headers = login(local_run)
    tag = uuid.uuid4().hex[:8]
    kept_email, kept_phone = f"pat.kept.{tag}@example.com", "+49301234561"
    gone_email, gone_phone = f"pat.gone.{tag}@example.com", "+49301234562"
    now = datetime.now(UTC).replace(microsecond=0)
    kept = invite(local_run, headers, now + timedelta(minutes=62), kept_email, kept_phone)
    # Due a little before the other one: by the time that fires, this one's time has passed too.
    gone = invite(local_run, headers, now + timedelta(minutes=61, seconds=40), gone_email, gone_phone)
    assert schedules(local_run, kept["id"]) == [f"{kept['id']}-1h"]  # 24 hours ahead has passed
    assert len(texts_to(local_run, kept_phone)) == 1  # the invitation's
    cancelled = requests.post(
        local_run.url(f"/api/appointments/{gone['id']}/cancel"), headers=headers, timeout=10
    )
    assert cancelled.status_code == 200 and schedules(local_run, gone["id"]) == []

    due_at = datetime.fromisoformat(kept["starts_at"].replace("Z", "+00:00")) - timedelta(hours=1)
    deadline = time.monotonic() + WAIT_SECONDS
    reminders: list[dict[str, Any]] = []
    while time.monotonic() < deadline and not reminders:
        reminders = [m for m in mails_to(local_run, kept_email) if m["subject"].startswith("Reminder:")]
        time.sleep(1)
    assert reminders, f"no reminder within {WAIT_SECONDS} s"
    arrived = datetime.now(UTC)
    (reminder,) = reminders
    assert arrived >= due_at and arrived - due_at < timedelta(seconds=30), (due_at, arrived)
    invitation = mails_to(local_run, kept_email)[0]
    link = re.search(r"/visit/[A-Za-z0-9_-]{43}", invitation["text"])
    assert link and link.group(0) in reminder["text"]
    assert reminder["attachments"] == [{"filename": "appointment.ics", "content_type": "text/calendar"}]
    texts = texts_to(local_run, kept_phone)
    assert (
        len(texts) == 2 and texts[-1]["text"].startswith("Reminder:") and link.group(0) in texts[-1]["text"]
    )
    assert set(texts[-1]) == {"id", "to", "text", "sent_at"}
    assert schedules(local_run, kept["id"]) == []  # deleted after it ran

    time.sleep(5)  # two more ticks: the cancelled one, whose time has passed, stays silent
    subjects = [m["subject"] for m in mails_to(local_run, gone_email)]
    assert len(subjects) == 2 and subjects[0].startswith("Your video") and subjects[1].startswith("Cancelled")
    assert len(texts_to(local_run, gone_phone)) == 1
    events = requests.get(local_run.url(f"/api/appointments/{kept['id']}/audit"), headers=headers, timeout=10)
    assert [e["detail"] for e in events.json()["events"] if e["action"] == "reminder_sent"] == [
        {"kind": "1h", "text_status": "sent"}
    ]
    page = requests.get(local_run.url("/_local/mailbox"), timeout=10).text
    assert "Text messages" in page and kept_phone in page
