"""What the clinic's-day browser tests share (test_clinic_day.py, test_arrival_alert.py): a
clinician's page with the arrival alert's probe, a patient arriving in the waiting room, an
appointment made through the API, and the pages a test opened, closed after it."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import requests
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import PageErrors, new_page
from tests.browser.test_schedule import mailed_link
from tests.local.conftest import LocalRun

# Records every desktop notification the page makes, every permission request and every tone
# the chime starts; the page's own Notification stays underneath. With `window.__promptAnswer`
# set first, permission starts as "default" and the person answers the prompt with it.
PROBE = """
(() => {
  window.__notifications = [];
  window.__tones = 0;
  window.__permissionRequests = 0;
  const Native = window.Notification;
  if (Native) {
    class Recorded extends Native {
      constructor(title, options = {}) {
        super(title, options);
        window.__notifications.push({ title, body: options.body || "", tag: options.tag || "" });
      }
    }
    const prompt = window.__promptAnswer;
    let answered = null;
    Object.defineProperty(Recorded, "permission", {
      get: () => (prompt ? answered || "default" : Native.permission),
    });
    Recorded.requestPermission = (...args) => {
      window.__permissionRequests += 1;
      if (!prompt) return Native.requestPermission(...args);
      answered = prompt;
      return Promise.resolve(answered);
    };
    window.Notification = Recorded;
  }
  const start = OscillatorNode.prototype.start;
  OscillatorNode.prototype.start = function (...args) {
    window.__tones += 1;
    return start.apply(this, args);
  };
})();
"""

# The pages a test opened, closed after it (each test module's autouse fixture calls
# close_opened): a patient page left open keeps its patient waiting (and the one local run busy)
# for the rest of the session.
opened: list[BrowserContext] = []


def close_opened() -> None:
    while opened:
        opened.pop().close()


def clinician(
    browser: Browser, errors: PageErrors, notifications: bool = True, prompt: str = "", **options: Any
) -> Page:
    page = new_page(browser, errors, permissions=["notifications"] if notifications else [], **options)
    if prompt:
        page.context.add_init_script(f"window.__promptAnswer = {prompt!r};")
    page.context.add_init_script(PROBE)
    opened.append(page.context)
    return page


def notifications(page: Page) -> list[dict[str, str]]:
    return list(page.evaluate("window.__notifications"))


def tones(page: Page) -> int:
    return int(page.evaluate("window.__tones"))


def token_of(page: Page) -> str:
    return str(page.evaluate("sessionStorage.getItem('eclinic.token')"))


def invite_by_api(run: LocalRun, token: str, name: str, **fields: Any) -> tuple[dict[str, Any], str]:
    email = f"pat.{uuid.uuid4().hex[:8]}@example.com"
    created = requests.post(
        run.url("/api/appointments"),
        headers={"Authorization": f"Bearer {token}"},
        json={
            "starts_at": (datetime.now().astimezone() + timedelta(hours=2)).isoformat(),
            "patient_name": name,
            "patient_email": email,
            "group": "cardiology",
            "timezone": "Europe/Berlin",
            **fields,
        },
        timeout=10,
    )
    assert created.status_code == 201, created.text
    return created.json(), email


def patient_arrives(browser: Browser, run: LocalRun, errors: PageErrors, email: str, **options: Any) -> Page:
    patient = new_page(browser, errors, width=390, height=844, **options)
    opened.append(patient.context)
    patient.goto(mailed_link(run, email))
    expect(patient.get_by_test_id("waiting-status")).to_contain_text(
        "will be with you shortly", timeout=15000
    )
    return patient
