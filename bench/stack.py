"""What every benchmark needs of the local run: it started (tests/local/conftest.py's run, as the
tests start it) and stopped, a clinician logged in, appointments invited, a percentile."""

from __future__ import annotations

import contextlib
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from chalicelib import settings_names as app_settings
from tests.local.conftest import LocalRun, started_local_run

PASSWORD = "Clinic-Demo-2026!"


class TempDirs:
    """What `started_local_run` takes from pytest's tmp_path_factory: `mktemp(name)`."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def mktemp(self, basename: str) -> Path:
        return Path(tempfile.mkdtemp(prefix=f"{basename}-", dir=self.root))


@contextlib.contextmanager
def started_run(settings: dict[str, str], tmp: Path) -> Iterator[LocalRun]:
    """The tests' local run (tests/local/conftest.py) with its log in `tmp`, given 90 s to
    become healthy (a loaded machine's first start is slow). Its one line of output goes to
    stderr (stdout is the figures), and so does the tail of its log if anything fails."""
    with contextlib.ExitStack() as stack:
        with contextlib.redirect_stdout(sys.stderr):
            run = stack.enter_context(started_local_run(TempDirs(tmp), settings, healthy_within=90))
        try:
            yield run
        except BaseException:
            if run.log_path is not None:
                print("-- local run log --", file=sys.stderr)
                print(run.log_path.read_text(errors="replace")[-6000:], file=sys.stderr)
            raise


@contextlib.contextmanager
def local_run(settings: dict[str, str] | None = None) -> Iterator[str]:
    """The local run on a free port; `settings` are further ECLINIC_* variables (the worker's too)."""
    with (
        tempfile.TemporaryDirectory(prefix="bench-run-") as tmp,
        started_run({app_settings.LOG_LEVEL: "WARNING", **(settings or {})}, Path(tmp)) as run,
    ):
        yield run.base_url


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


def launch_chromium(playwright: Any) -> Any:
    """Debian's Chromium with the browser tests' flags (fake camera and microphone, no prompt)."""
    from tests.browser.conftest import CHROMIUM_FLAGS

    executable = shutil.which("chromium")
    if executable is None:
        raise SystemExit("Debian's chromium is not installed (apt-get install chromium)")
    return playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)


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
