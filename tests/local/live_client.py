"""The local run's side of the live tests: log in, invite a patient (the link from the local
mailbox), and what an appointment update looks like. The websocket client itself is
tests/simulated_browser.WebSocketClient."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import requests

PASSWORD = "Clinic-Demo-2026!"
Predicate = Callable[[dict[str, Any]], bool]


def appointment_is(appointment_id: str, status: str) -> Predicate:
    return lambda m: (
        m.get("type") == "appointment"
        and m["appointment"]["id"] == appointment_id
        and m["appointment"]["status"] == status
    )


def login(base_url: str, email: str) -> str:
    answer = requests.post(
        f"{base_url}/api/auth/login", json={"email": email, "password": PASSWORD}, timeout=10
    )
    answer.raise_for_status()
    return str(answer.json()["id_token"])


def invite(base_url: str, token: str, email: str, group: str = "cardiology") -> tuple[dict[str, Any], str]:
    from datetime import UTC, datetime, timedelta

    created = requests.post(
        f"{base_url}/api/appointments",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "starts_at": (datetime.now(UTC) + timedelta(minutes=30)).isoformat(),
            "patient_name": "Pat Live",
            "patient_email": email,
            "group": group,
        },
        timeout=10,
    ).json()
    messages = requests.get(f"{base_url}/_local/mailbox.json", timeout=10).json()["messages"]
    (mail,) = [m for m in messages if m["to"] == [email]]
    match = re.search(r"/visit/([A-Za-z0-9_-]{43})", mail["text"])
    assert match
    return created, match.group(1)
