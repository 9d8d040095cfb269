"""The arrival alert in Chromium (issue 11): the title count, the desktop notification, the
sound, the toggle and its remembered choice, quiet in a session; the permission asked on the
toggle only; and the wait time on the schedule and in the waiting room. Split from
test_clinic_day.py."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.clinic_day import (
    clinician,
    close_opened,
    invite_by_api,
    notifications,
    opened,
    patient_arrives,
    token_of,
    tones,
)
from tests.browser.conftest import PageErrors, log_in, new_page
from tests.browser.test_schedule import mailed_link, row
from tests.local.conftest import LocalRun

BASE_TITLE = "Clinic Schedule · eClinic"


@pytest.fixture(autouse=True)
def _close_pages() -> Iterator[None]:
    yield
    close_opened()


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


def turned_off_nothing_is_announced_even_after_a_reload(
    ada: Page, toggle: Any, browser: Browser, local_run: LocalRun, page_errors: PageErrors, token: str
) -> None:
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


def turned_on_again_the_count_comes_back(
    ada: Page, browser: Browser, local_run: LocalRun, page_errors: PageErrors, token: str, already: int
) -> None:
    # on again: the count of waiting patients comes back, and the next arrival is announced
    ada.get_by_test_id("alerts-toggle").click()
    expect(ada.get_by_test_id("alerts-toggle")).to_have_attribute("aria-pressed", "true")
    expect(ada).to_have_title(title_with(already + 2))
    third, third_email = invite_by_api(local_run, token, f"Pat {uuid.uuid4().hex[:6]}")
    patient_arrives(browser, local_run, page_errors, third_email)
    wait_for_notification(ada, third["id"])
    expect(ada).to_have_title(title_with(already + 3))


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

    turned_off_nothing_is_announced_even_after_a_reload(ada, toggle, browser, local_run, page_errors, token)
    turned_on_again_the_count_comes_back(ada, browser, local_run, page_errors, token, already)

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
    opened.append(patient.context)
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
