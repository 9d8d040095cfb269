"""The clinic's day in Chromium (issue 11), from the row menu: a notice reaching the patient's
page, a reschedule, and the patient's phone on the invite form and the row. The arrival alert
and the wait times are test_arrival_alert.py's."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, Page, expect

from tests.browser.clinic_day import clinician, close_opened, opened, patient_arrives, token_of
from tests.browser.conftest import PageErrors, log_in
from tests.browser.test_schedule import ada_invites_a_patient, invite_through_dialog, mailed_link, row
from tests.local.conftest import LocalRun

# An instant as a datetime-local input holds it, in the page's own time zone.
LOCAL_INPUT = """iso => {
  const d = new Date(iso), p = (n) => String(n).padStart(2, "0");
  const day = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
  return `${day}T${p(d.getHours())}:${p(d.getMinutes())}`;
}"""


@pytest.fixture(autouse=True)
def _close_pages() -> Iterator[None]:
    yield
    close_opened()


def send_a_free_text_after_an_empty_one_is_refused(ada: Page, the_row: Any, notice: Any) -> None:
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


def two_notices_audited_without_their_text(local_run: LocalRun, ada: Page, the_row: Any) -> None:
    appointment_id = the_row.get_attribute("data-appointment-id")
    audit = requests.get(
        local_run.url(f"/api/appointments/{appointment_id}/audit"),
        headers={"Authorization": f"Bearer {token_of(ada)}"},
        timeout=10,
    ).json()["events"]
    assert [e["action"] for e in audit].count("notice_sent") == 2
    assert "medication" not in str(audit)


def test_a_notice_from_the_row_menu_reaches_the_waiting_patient(
    browser: Browser, local_run: LocalRun, page_errors: PageErrors
) -> None:
    ada, name, email = ada_invites_a_patient(browser, local_run, page_errors)
    opened.append(ada.context)
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

    send_a_free_text_after_an_empty_one_is_refused(ada, the_row, notice)

    # a reload of the waiting room still shows the latest notice
    patient.reload()
    expect(notice).to_contain_text("Please have your medication list at hand.")
    expect(patient.get_by_test_id("waiting-status")).to_contain_text(
        "will be with you shortly", timeout=15000
    )

    # the patient leaves while the form is open: the server's refusal is shown in the form
    the_row.get_by_test_id("row-menu").click()
    ada.get_by_test_id("menu-notice").click()
    opened.remove(patient.context)
    patient.context.close()
    expect(the_row).to_have_attribute("data-status", "scheduled", timeout=15000)
    ada.get_by_role("button", name="Your clinician will be with you shortly").click()
    ada.get_by_test_id("notice-send").click()
    expect(ada.locator("#notice-error")).to_contain_text("not in the waiting room")
    expect(dialog).to_be_visible()
    ada.locator("#notice-cancel").click()

    two_notices_audited_without_their_text(local_run, ada, the_row)
    assert not page_errors.errors


def test_reschedule_from_the_row_menu_moves_the_row_and_mails_the_patient(
    browser: Browser, local_run: LocalRun, page_errors: PageErrors
) -> None:
    ada, name, email = ada_invites_a_patient(browser, local_run, page_errors)
    opened.append(ada.context)
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
