"""Starts `python -m local` on a free port for a benchmark, and stops it afterwards."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "Clinic-Demo-2026!"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def local_run(settings: dict[str, str] | None = None) -> Iterator[str]:
    """The local run on a free port; `settings` are further ECLINIC_* variables (the worker's too)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ECLINIC_"))}
    env.update({"ECLINIC_PORT": str(port), "ECLINIC_LOG_LEVEL": "WARNING", **(settings or {})})
    process = subprocess.Popen(
        [sys.executable, "-m", "local"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.ConnectionError, requests.Timeout):
                if requests.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            time.sleep(0.2)
        else:
            raise RuntimeError("the local run did not become healthy")
        yield base
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def login(base: str, email: str) -> str:
    answer = requests.post(f"{base}/api/auth/login", json={"email": email, "password": PASSWORD}, timeout=10)
    answer.raise_for_status()
    return str(answer.json()["id_token"])


def log_in_to_schedule(page: Any, base: str, email: str = "ada@clinic.example") -> None:
    """The clinician logs in on the schedule page (a Playwright page), as a person does."""
    page.goto(base + "/")
    page.get_by_test_id("login-email").fill(email)
    page.get_by_test_id("login-password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("invite-button").wait_for()


def invite_many(base: str, token: str, count: int, tag: str) -> list[tuple[str, str]]:
    """Creates `count` appointments; returns (appointment id, link token) pairs."""
    session = requests.Session()
    headers = {"Authorization": f"Bearer {token}"}
    starts = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    ids = []
    for i in range(count):
        created = session.post(
            f"{base}/api/appointments",
            headers=headers,
            json={
                "starts_at": starts,
                "patient_name": f"Bench {tag} {i}",
                "patient_email": f"bench.{tag}.{i}@example.com",
                "group": "cardiology",
            },
            timeout=30,
        )
        created.raise_for_status()
        ids.append(created.json()["id"])
    messages = session.get(f"{base}/_local/mailbox.json", timeout=30).json()["messages"]
    links = {}
    for message in messages:
        match = re.search(r"/visit/([A-Za-z0-9_-]{43})", message["text"])
        email = message["to"][0]
        if match and email.startswith(f"bench.{tag}."):
            links[int(email.split(".")[2].split("@")[0])] = match.group(1)
    return [(ids[i], links[i]) for i in range(count)]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))
    return ordered[index]
