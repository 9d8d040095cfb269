"""The README's first walk-through against the real local run, over HTTP as curl would."""

from __future__ import annotations

import re

import requests

from local import settings_names as local_settings
from tests.local.conftest import LocalRun

PASSWORD = "Clinic-Demo-2026!"


def login(run: LocalRun, email: str) -> dict[str, str]:
    answer = requests.post(
        run.url("/api/auth/login"), json={"email": email, "password": PASSWORD}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['id_token']}"}


def test_health_and_demo_accounts(local_run: LocalRun) -> None:
    assert requests.get(local_run.url("/health"), timeout=5).json() == {"status": "ok"}
    for email, group in (
        ("ada@clinic.example", "Cardiology"),
        ("ben@clinic.example", "Cardiology"),
        ("cyd@clinic.example", "Dermatology"),
    ):
        me = requests.get(local_run.url("/api/me"), headers=login(local_run, email), timeout=10).json()
        assert me["email"] == email and [g["name"] for g in me["groups"]] == [group]


def test_invite_mailbox_visit_cancel(local_run: LocalRun) -> None:
    ada = login(local_run, "ada@clinic.example")
    created = requests.post(
        local_run.url("/api/appointments"),
        headers=ada,
        json={
            "starts_at": "2026-12-30T09:30:00+01:00",
            "patient_name": "Pat Local",
            "patient_email": "pat.local@example.com",
            "group": "cardiology",
            "timezone": "Europe/Berlin",
        },
        timeout=10,
    )
    assert created.status_code == 201, created.text
    appointment = created.json()

    messages = requests.get(local_run.url("/_local/mailbox.json"), timeout=10).json()["messages"]
    (mail,) = [m for m in messages if m["to"] == ["pat.local@example.com"]]
    assert set(mail) == {"id", "to", "subject", "text", "html", "sent_at", "attachments"}
    assert mail["attachments"] == [{"filename": "appointment.ics", "content_type": "text/calendar"}]
    match = re.search(r'href="(http://127\.0\.0\.1:\d+/visit/([A-Za-z0-9_-]{43}))"', mail["html"])
    assert match and match.group(1).startswith(local_run.base_url)
    token = match.group(2)

    visit = requests.get(local_run.url(f"/api/visit/{token}"), timeout=10)
    assert visit.status_code == 200 and visit.json()["appointment"]["id"] == appointment["id"]

    page = requests.get(local_run.url("/_local/mailbox"), timeout=10)
    assert page.status_code == 200 and "Your video appointment with Cardiology" in page.text

    cancelled = requests.post(
        local_run.url(f"/api/appointments/{appointment['id']}/cancel"), headers=ada, timeout=10
    )
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert requests.get(local_run.url(f"/api/visit/{token}"), timeout=10).status_code == 410


def test_unknown_route_answers_in_the_contract_shape(local_run: LocalRun) -> None:
    answer = requests.get(local_run.url("/api/nothing-here"), timeout=5)
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found"


def test_ctrl_c_stops_cleanly() -> None:
    import signal
    import subprocess
    import sys
    import time

    from tests.local.conftest import ROOT, free_port

    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "local"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", local_settings.PORT: str(port)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                break
        except requests.ConnectionError:
            time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=20)
    assert process.returncode == 0, output
    assert "Demo logins" in output and "Stopped." in output and "Traceback" not in output
