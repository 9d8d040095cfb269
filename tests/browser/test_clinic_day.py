"""The clinic's day in Chromium (issue 11): the arrival alert (title count, desktop notification,
sound, the toggle and its remembered choice, quiet in a session), wait times on the schedule
and in the waiting room, a notice from the row menu reaching the patient's page, reschedule
from the row menu, and the patient's phone on the invite form and the row."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import PageErrors, log_in, new_page
from tests.browser.test_schedule import ada_invites_a_patient, invite_through_dialog, mailed_link, row
from tests.local.conftest import LocalRun

BASE_TITLE = "Clinic Schedule · eClinic"
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

# An instant as a datetime-local input holds it, in the page's own time zone.
LOCAL_INPUT = """iso => {
  const d = new Date(iso), p = (n) => String(n).padStart(2, "0");
  const day = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
  return `${day}T${p(d.getHours())}:${p(d.getMinutes())}`;
}"""


# The pages a test opened, closed after it: a patient page left open keeps its patient waiting
# (and the one local run busy) for the rest of the session.
_opened: list[BrowserContext] = []


@pytest.fixture(autouse=True)
def _close_pages() -> Iterator[None]:
    yield
    while _opened:
        _opened.pop().close()


def clinician(
    browser: Browser, errors: PageErrors, notifications: bool = True, prompt: str = "", **options: Any
) -> Page:
    page = new_page(browser, errors, permissions=["notifications"] if notifications else [], **options)
    if prompt:
        page.context.add_init_script(f"window.__promptAnswer = {prompt!r};")
    page.context.add_init_script(PROBE)
    _opened.append(page.context)
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
    _opened.append(patient.context)
    patient.goto(mailed_link(run, email))
    expect(patient.get_by_test_id("waiting-status")).to_contain_text(
        "will be with you shortly", timeout=15000
    )
    return patient


def waiting_rows(page: Page) -> int:
    """Waiting patients on the loaded schedule (other tests of the session may have left some)."""
    expect(page.locator("#schedule-loading")).to_be_hidden()
    return page.locator('[data-testid="appointment-row"][data-status="waiting"]').count()


def title_with(count: int) -> str:
    return f"({count}) {BASE_TITLE}" if count else BASE_TITLE


def wait_for_notification(page: Page, appointment_id: str) -> dict[str, str]:
    page.wait_for_function(
        "id => window.__notifications.some(n => n.tag === `eclinic-arrival-${id}`)", arg=appointment_id
    )
    return next(n for n in notifications(page) if n["tag"] == f"eclinic-arrival-{appointment_id}")


def test_a_patient_arriving_is_heard_seen_and_counted_in_the_title(
    browser: Browser, local_run: LocalRun, page_errors: PageErrors
) -> None:
    ada = clinician(browser, page_errors)
    log_in(ada, local_run.base_url, "ada@clinic.example")
    toggle = ada.get_by_test_id("alerts-toggle")
    expect(toggle).to_have_attribute("aria-pressed", "true")  # on until turned off
    expect(ada.locator("#alerts-hint")).to_contain_text("a sound and a desktop notification")
    already = waiting_rows(ada)
    expect(ada).to_have_title(title_with(already))
    token = token_of(ada)

    first, first_email = invite_by_api(local_run, token, f"Pat {uuid.uuid4().hex[:6]}")
    expect(row(ada, first["patient_name"])).to_have_attribute("data-status", "scheduled")
    assert not notifications(ada) and tones(ada) == 0  # a new appointment is no arrival
    patient_arrives(browser, local_run, page_errors, first_email)
    expect(row(ada, first["patient_name"])).to_have_attribute("data-status", "waiting")
    shown = wait_for_notification(ada, first["id"])
    assert shown["title"] == "A patient is waiting"
    assert first["patient_name"] not in shown["body"] and "waiting room" in shown["body"]
    assert tones(ada) == 2  # the chime: two tones of its own AudioContext
    expect(ada).to_have_title(title_with(already + 1))

    # off: no sound, no notification, no count; and still off after a reload
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "false")
    expect(ada).to_have_title(BASE_TITLE)
    expect(ada.locator("#alerts-hint")).to_contain_text("Off")
    second, second_email = invite_by_api(local_run, token, f"Pat {uuid.uuid4().hex[:6]}")
    patient_arrives(browser, local_run, page_errors, second_email)
    expect(row(ada, second["patient_name"])).to_have_attribute("data-status", "waiting")
    ada.wait_for_timeout(1000)
    assert len(notifications(ada)) == 1 and tones(ada) == 2
    expect(ada).to_have_title(BASE_TITLE)
    ada.reload()
    ada.get_by_test_id("invite-button").wait_for()
    expect(row(ada, second["patient_name"])).to_have_attribute("data-status", "waiting")
    expect(ada.get_by_test_id("alerts-toggle")).to_have_attribute("aria-pressed", "false")
    expect(ada).to_have_title(BASE_TITLE)

    # on again: the count of waiting patients comes back, and the next arrival is announced
    ada.get_by_test_id("alerts-toggle").click()
    expect(ada.get_by_test_id("alerts-toggle")).to_have_attribute("aria-pressed", "true")
    expect(ada).to_have_title(title_with(already + 2))
    third, third_email = invite_by_api(local_run, token, f"Pat {uuid.uuid4().hex[:6]}")
    patient_arrives(browser, local_run, page_errors, third_email)
    wait_for_notification(ada, third["id"])
    expect(ada).to_have_title(title_with(already + 3))

    # in a session: no sound, no notification; the session view shows it quietly, with no name
    row(ada, first["patient_name"]).click()
    expect(ada.get_by_test_id("hangup-button")).to_be_visible()
    expect(ada.get_by_test_id("session-arrivals")).to_have_text(f"{already + 2} patients waiting")
    before = (len(notifications(ada)), tones(ada))
    fourth, fourth_email = invite_by_api(local_run, token, f"Pat {uuid.uuid4().hex[:6]}")
    patient_arrives(browser, local_run, page_errors, fourth_email)
    badge = ada.get_by_test_id("session-arrivals")
    expect(badge).to_have_text(f"{already + 3} patients waiting")
    expect(badge).to_have_class(re.compile("fresh"))
    assert fourth["patient_name"] not in (badge.text_content() or "")
    ada.wait_for_timeout(1000)
    assert (len(notifications(ada)), tones(ada)) == before
    expect(ada).to_have_title(title_with(already + 3))

    # back from the session ("exit without ending"): that patient waits again, and is no arrival
    ada.get_by_test_id("hangup-button").click()
    ada.get_by_test_id("hangup-exit").click()
    expect(row(ada, first["patient_name"])).to_have_attribute("data-status", "waiting")
    expect(ada).to_have_title(title_with(already + 4))
    ada.wait_for_timeout(1000)
    assert (len(notifications(ada)), tones(ada)) == before
    assert not page_errors.errors


def test_notification_permission_is_asked_on_the_toggle_only(
    browser: Browser, local_run: LocalRun, page_errors: PageErrors
) -> None:
    ada = clinician(browser, page_errors, notifications=False, prompt="granted")
    log_in(ada, local_run.base_url, "ada@clinic.example")
    ada.reload()
    ada.get_by_test_id("invite-button").wait_for()
    assert ada.evaluate("window.__permissionRequests") == 0  # never on page load
    hint = ada.locator("#alerts-hint")
    expect(hint).to_contain_text("For desktop notifications too, turn the alert off and on again")
    already = waiting_rows(ada)
    created, email = invite_by_api(local_run, token_of(ada), f"Pat {uuid.uuid4().hex[:6]}")
    patient_arrives(browser, local_run, page_errors, email)
    expect(row(ada, created["patient_name"])).to_have_attribute("data-status", "waiting")
    expect(ada).to_have_title(title_with(already + 1))
    ada.wait_for_function("window.__tones === 2")  # the sound needs no permission
    assert not notifications(ada)  # made only once permission is "granted"

    toggle = ada.get_by_test_id("alerts-toggle")
    toggle.click()  # off: nothing to ask
    expect(toggle).to_have_attribute("aria-pressed", "false")
    assert ada.evaluate("window.__permissionRequests") == 0
    toggle.click()  # on: asked now, and the person allows
    expect(toggle).to_have_attribute("aria-pressed", "true")
    expect(hint).to_contain_text("a sound and a desktop notification")
    assert ada.evaluate("window.__permissionRequests") == 1

    second, second_email = invite_by_api(local_run, token_of(ada), f"Pat {uuid.uuid4().hex[:6]}")
    patient_arrives(browser, local_run, page_errors, second_email)
    wait_for_notification(ada, second["id"])
    assert not page_errors.errors


def test_a_browser_that_blocks_notifications_still_chimes_and_says_so(
    browser: Browser, local_run: LocalRun, page_errors: PageErrors
) -> None:
    ada = clinician(browser, page_errors, notifications=False)  # headless Chromium: "denied"
    log_in(ada, local_run.base_url, "ada@clinic.example")
    expect(ada.locator("#alerts-hint")).to_contain_text("blocks notifications")
    created, email = invite_by_api(local_run, token_of(ada), f"Pat {uuid.uuid4().hex[:6]}")
    patient_arrives(browser, local_run, page_errors, email)
    expect(row(ada, created["patient_name"])).to_have_attribute("data-status", "waiting")
    ada.wait_for_function("window.__tones === 2")
    assert not notifications(ada) and ada.evaluate("window.__permissionRequests") == 0
    assert not page_errors.errors


def test_the_wait_is_shown_and_counts_on_the_schedule_and_in_the_waiting_room(
    browser: Browser, local_run: LocalRun, page_errors: PageErrors
) -> None:
    ada = clinician(browser, page_errors)
    ada.clock.install()
    log_in(ada, local_run.base_url, "ada@clinic.example")
    created, email = invite_by_api(local_run, token_of(ada), f"Pat {uuid.uuid4().hex[:6]}")
    the_row = row(ada, created["patient_name"])
    expect(the_row.get_by_test_id("wait-time")).to_have_count(0)  # scheduled: nobody waits

    patient = new_page(browser, page_errors, width=390, height=844)
    _opened.append(patient.context)
    patient.clock.install()
    patient.goto(mailed_link(local_run, email))
    expect(the_row).to_have_attribute("data-status", "waiting")
    wait = the_row.get_by_test_id("wait-time")
    expect(wait).to_have_text("Waiting less than 1 min")
    expect(wait).not_to_have_class(re.compile("long"))
    expect(patient.get_by_test_id("waiting-time")).to_have_text(
        "Your clinic can see that you are here. You have been waiting less than a minute."
    )

    ada.clock.fast_forward("04:00")
    expect(wait).to_have_text("Waiting 4 min")  # without a reload
    expect(the_row.locator(".row-main")).to_have_attribute("aria-label", re.compile("Waiting 4 min"))
    ada.clock.fast_forward("07:00")
    expect(wait).to_have_text("Waiting 11 min · long wait")  # the words say it, not only the colour
    expect(wait).to_have_class(re.compile("long"))
    color = wait.evaluate("node => getComputedStyle(node).color")
    assert color == "rgb(122, 62, 0)"

    patient.clock.fast_forward("03:00")
    expect(patient.get_by_test_id("waiting-time")).to_have_text(
        "Your clinic can see that you are here. You have been waiting 3 minutes."
    )

    # taken: no wait shown; the patient's page no longer counts
    the_row.click()
    expect(ada.get_by_test_id("hangup-button")).to_be_visible()
    expect(patient.get_by_test_id("waiting-time")).to_be_hidden()
    assert not page_errors.errors


def test_a_notice_from_the_row_menu_reaches_the_waiting_patient(
    browser: Browser, local_run: LocalRun, page_errors: PageErrors
) -> None:
    ada, name, email = ada_invites_a_patient(browser, local_run, page_errors)
    _opened.append(ada.context)
    the_row = row(ada, name)
    the_row.get_by_test_id("row-menu").click()
    expect(ada.get_by_test_id("menu-notice")).to_have_count(0)  # only on a waiting row
    ada.keyboard.press("Escape")

    patient = patient_arrives(browser, local_run, page_errors, email)
    expect(the_row).to_have_attribute("data-status", "waiting")
    notice = patient.get_by_test_id("waiting-notice")
    expect(notice).to_have_attribute("role", "status")
    expect(notice).to_have_text("")

    # a ready-made text, by keyboard from the row menu
    the_row.get_by_test_id("row-menu").click()
    ada.get_by_test_id("menu-notice").click()
    dialog = ada.locator("#notice-dialog")
    expect(dialog).to_be_visible()
    expect(ada.get_by_role("button", name="Running about 10 minutes late")).to_be_focused()
    ada.keyboard.press("Enter")
    expect(ada.get_by_test_id("notice-text")).to_have_value("Running about 10 minutes late")
    expect(ada.get_by_test_id("notice-send")).to_be_focused()
    ada.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    expect(ada.get_by_test_id("toast").last).to_contain_text(f"Notice sent to {name}")
    expect(notice).to_contain_text("Running about 10 minutes late")
    expect(notice).to_contain_text("Ada Lovelace")
    expect(notice).to_contain_text(re.compile(r"\d{1,2}:\d{2}"))  # when it was sent

    # free text; an empty one is refused in the form; the latest replaces the earlier
    the_row.get_by_test_id("row-menu").click()
    ada.get_by_test_id("menu-notice").click()
    ada.get_by_test_id("notice-send").click()
    expect(ada.locator("#notice-text-error")).to_contain_text("write one")
    expect(ada.get_by_test_id("notice-text")).to_have_attribute("aria-invalid", "true")
    ada.get_by_test_id("notice-text").fill("Please have your medication list at hand.")
    ada.get_by_test_id("notice-send").click()
    expect(notice).to_contain_text("Please have your medication list at hand.")
    expect(notice).not_to_contain_text("Running about 10 minutes late")

    # a reload of the waiting room still shows the latest notice
    patient.reload()
    expect(notice).to_contain_text("Please have your medication list at hand.")
    expect(patient.get_by_test_id("waiting-status")).to_contain_text(
        "will be with you shortly", timeout=15000
    )

    # the patient leaves while the form is open: the server's refusal is shown in the form
    the_row.get_by_test_id("row-menu").click()
    ada.get_by_test_id("menu-notice").click()
    _opened.remove(patient.context)
    patient.context.close()
    expect(the_row).to_have_attribute("data-status", "scheduled", timeout=15000)
    ada.get_by_role("button", name="Your clinician will be with you shortly").click()
    ada.get_by_test_id("notice-send").click()
    expect(ada.locator("#notice-error")).to_contain_text("not in the waiting room")
    expect(dialog).to_be_visible()
    ada.locator("#notice-cancel").click()

    appointment_id = the_row.get_attribute("data-appointment-id")
    audit = requests.get(
        local_run.url(f"/api/appointments/{appointment_id}/audit"),
        headers={"Authorization": f"Bearer {token_of(ada)}"},
        timeout=10,
    ).json()["events"]
    assert [e["action"] for e in audit].count("notice_sent") == 2
    assert "medication" not in str(audit)
    assert not page_errors.errors


def test_reschedule_from_the_row_menu_moves_the_row_and_mails_the_patient(
    browser: Browser, local_run: LocalRun, page_errors: PageErrors
) -> None:
    ada, name, email = ada_invites_a_patient(browser, local_run, page_errors)
    _opened.append(ada.context)
    the_row = row(ada, name)
    appointment_id = the_row.get_attribute("data-appointment-id")
    appointment = requests.get(
        local_run.url(f"/api/appointments/{appointment_id}"),
        headers={"Authorization": f"Bearer {token_of(ada)}"},
        timeout=10,
    ).json()
    # the appointment's start as the page's own clock shows it, the way datetime-local holds it
    starts = ada.evaluate(LOCAL_INPUT, appointment["starts_at"])
    the_row.get_by_test_id("row-menu").click()
    ada.get_by_test_id("menu-reschedule").click()
    expect(ada.locator("#invite-title")).to_have_text("Reschedule appointment")
    expect(ada.get_by_test_id("invite-patient-name")).to_be_hidden()
    expect(ada.get_by_test_id("invite-patient-email")).to_be_hidden()
    expect(ada.get_by_test_id("reschedule-for")).to_contain_text(email)
    field = ada.get_by_test_id("invite-starts-at")
    expect(field).to_have_value(starts)  # filled in with the appointment's time
    expect(ada.locator("#invite-duration")).to_have_value("15")

    # a start in the past is refused under the field
    field.fill("2020-01-01T09:00")
    ada.get_by_test_id("invite-send").click()
    expect(ada.locator("#invite-starts-at-error")).to_contain_text("past")

    new_start = (datetime.now() + timedelta(days=2)).replace(hour=10, minute=30)
    field.fill(new_start.strftime("%Y-%m-%dT%H:%M"))
    ada.locator("#invite-duration").select_option("30")
    ada.get_by_test_id("invite-send").click()
    expect(ada.get_by_test_id("toast").last).to_contain_text(f"Appointment with {name} moved", timeout=15000)
    expect(the_row.locator(".row-time")).to_have_text(re.compile(r"^10:30"))
    messages = requests.get(local_run.url("/_local/mailbox.json"), timeout=10).json()["messages"]
    invitations = [m for m in messages if m["to"] == [email] and "Your video appointment" in m["subject"]]
    assert len(invitations) == 2
    link = mailed_link(local_run, email)
    assert link.rsplit("/", 1)[1] in invitations[1]["html"]  # the same link

    # the invite form is an invite form again afterwards
    ada.get_by_test_id("invite-button").click()
    expect(ada.locator("#invite-title")).to_have_text("Invite for session")
    expect(ada.get_by_test_id("invite-patient-name")).to_be_visible()
    ada.keyboard.press("Escape")
    assert not page_errors.errors


def test_the_invite_forms_phone_and_the_rows_phone_link(
    browser: Browser, local_run: LocalRun, page_errors: PageErrors
) -> None:
    ada = clinician(browser, page_errors, width=390, height=844)  # a phone-sized schedule
    log_in(ada, local_run.base_url, "ada@clinic.example")
    ada.get_by_test_id("invite-button").click()
    phone = ada.get_by_test_id("invite-patient-phone")
    expect(phone).to_have_attribute("type", "tel")
    expect(phone).to_have_attribute("autocomplete", "off")
    expect(ada.locator("#invite-patient-phone-hint")).to_contain_text("+49 30 1234567")
    assert ada.get_by_label("Patient's mobile number").count() == 1
    name = f"Pat {uuid.uuid4().hex[:6]}"
    ada.get_by_test_id("invite-patient-name").fill(name)
    ada.get_by_test_id("invite-patient-email").fill(f"pat.{uuid.uuid4().hex[:8]}@example.com")
    phone.fill("0301234")
    ada.get_by_test_id("invite-send").click()
    expect(phone).to_have_attribute("aria-invalid", "true")
    expect(ada.locator("#invite-patient-phone-error")).not_to_be_empty()
    expect(phone).to_be_focused()
    phone.fill("+49 30 1234567")
    ada.get_by_test_id("invite-send").click()
    expect(ada.locator("#invite-dialog")).to_be_hidden(timeout=15000)
    link = row(ada, name).get_by_test_id("patient-phone")
    expect(link).to_have_attribute("href", "tel:+49301234567")
    expect(link).to_have_text("+49301234567")
    expect(row(ada, name).get_by_test_id("phone-opted-out")).to_have_count(0)
    assert ada.evaluate("document.documentElement.scrollWidth") <= 390

    # without a phone, no phone line
    email = f"pat.{uuid.uuid4().hex[:8]}@example.com"
    other = f"Pat {uuid.uuid4().hex[:6]}"
    ada.set_viewport_size({"width": 1280, "height": 860})
    invite_through_dialog(ada, other, email)
    expect(row(ada, other).get_by_test_id("patient-phone")).to_have_count(0)
    assert not page_errors.errors
