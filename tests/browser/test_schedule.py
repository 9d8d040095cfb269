"""The clinic schedule and the waiting room, driven as a person would in Chromium."""

from __future__ import annotations

import re
import uuid

import requests
from playwright.sync_api import Browser, Locator, Page, Playwright, expect

from tests.browser.conftest import PageErrors, log_in, new_page
from tests.local.conftest import LocalRun


def mailed_link(run: LocalRun, email: str) -> str:
    messages = requests.get(run.url("/_local/mailbox.json"), timeout=10).json()["messages"]
    mail = next(
        m for m in messages if m["to"] == [email] and m["subject"].startswith("Your video appointment")
    )
    match = re.search(r'href="(http://[^"]+/visit/[A-Za-z0-9_-]{43})"', mail["html"])
    assert match
    return match.group(1)


def invite_through_dialog(page: Page, name: str, email: str) -> None:
    page.get_by_test_id("invite-button").click()
    page.get_by_test_id("invite-patient-name").fill(name)
    page.get_by_test_id("invite-patient-email").fill(email)
    expect(page.get_by_test_id("invite-group")).to_have_value("cardiology")
    page.get_by_test_id("invite-send").click()
    expect(page.get_by_test_id("toast").last).to_contain_text(f"Invitation sent to {email}")


def ada_invites_a_patient(browser: Browser, run: LocalRun, errors: PageErrors) -> tuple[Page, str, str]:
    """Ada logged in, with a new patient invited through the dialog: (her page, name, email)."""
    ada = new_page(browser, errors)
    log_in(ada, run.base_url, "ada@clinic.example")
    name, email = f"Pat {uuid.uuid4().hex[:6]}", f"pat.{uuid.uuid4().hex[:8]}@example.com"
    invite_through_dialog(ada, name, email)
    return ada, name, email


def row(page: Page, name: str) -> Locator:
    return page.get_by_test_id("appointment-row").filter(has_text=name)


def test_invite_wait_take_and_leave_the_waiting_room(
    browser: Browser, local_run: LocalRun, page_errors: PageErrors
) -> None:
    ada = new_page(browser, page_errors)
    ben = new_page(browser, page_errors)
    log_in(ada, local_run.base_url, "ada@clinic.example")
    log_in(ben, local_run.base_url, "ben@clinic.example")

    name, email = f"Pat {uuid.uuid4().hex[:6]}", f"pat.{uuid.uuid4().hex[:8]}@example.com"
    invite_through_dialog(ada, name, email)
    ada_row, ben_row = row(ada, name), row(ben, name)
    expect(ada_row).to_have_attribute("data-status", "scheduled")
    expect(ben_row).to_have_attribute("data-status", "scheduled")  # live, without a reload
    expect(ben_row.get_by_test_id("status-dot")).to_have_class(re.compile("dot-scheduled"))

    patient = new_page(browser, page_errors, width=390, height=844)
    patient.goto(mailed_link(local_run, email))
    expect(patient.get_by_test_id("waiting-status")).to_contain_text("waiting room")
    expect(ada_row).to_have_attribute("data-status", "waiting")
    expect(ben_row).to_have_attribute("data-status", "waiting")
    expect(ben_row.get_by_test_id("status-dot")).to_have_class(re.compile("dot-waiting"))

    ada_row.click()  # a waiting patient's row opens the session
    expect(ada.get_by_test_id("hangup-button")).to_be_visible()
    expect(ben_row).to_have_attribute("data-status", "in_session")
    expect(ben_row).to_contain_text("Session running with Ada Lovelace")
    expect(ben_row.get_by_test_id("status-dot")).to_have_class(re.compile("dot-in_session"))
    expect(patient.get_by_test_id("waiting-status")).to_contain_text("Your clinician has joined")

    # chat both ways through the information panel
    ada.get_by_test_id("info-button").click()
    expect(ada.get_by_test_id("info-panel")).to_be_visible()
    expect(ada.get_by_test_id("participants")).to_contain_text(name)
    expect(ada.get_by_test_id("scheduled-time")).to_contain_text("15 minutes")
    ada.get_by_test_id("chat-input").fill("Good morning, how are you?")
    ada.get_by_test_id("chat-send").click()
    expect(patient.get_by_test_id("chat-log")).to_contain_text("Good morning, how are you?")
    patient.get_by_test_id("chat-input").fill("Fine, thanks <b>doctor</b>")
    patient.get_by_test_id("chat-send").click()
    expect(ada.get_by_test_id("chat-log")).to_contain_text("Fine, thanks <b>doctor</b>")

    # exit without ending: back to the schedule, the patient still waits
    ada.get_by_test_id("hangup-button").click()
    ada.get_by_test_id("hangup-exit").click()
    expect(ada.get_by_test_id("invite-button")).to_be_visible()
    expect(ben_row).to_have_attribute("data-status", "waiting")
    expect(patient.get_by_test_id("waiting-status")).to_contain_text("stepped out")

    # the patient closes the page: the dot goes back
    patient.context.close()
    expect(ada_row).to_have_attribute("data-status", "scheduled")
    expect(ben_row).to_have_attribute("data-status", "scheduled")
    assert not page_errors.errors


def test_leave_session_shows_the_patient_the_message_and_drops_the_dot(
    browser: Browser, local_run: LocalRun, page_errors: PageErrors
) -> None:
    ada, name, email = ada_invites_a_patient(browser, local_run, page_errors)
    patient = new_page(browser, page_errors)
    patient.goto(mailed_link(local_run, email))
    ada_row = row(ada, name)
    expect(ada_row).to_have_attribute("data-status", "waiting")
    ada_row.click()
    ada.get_by_test_id("hangup-button").click()
    ada.get_by_test_id("hangup-leave").click()
    expect(patient.get_by_test_id("session-ended-message")).to_be_visible()
    expect(patient.get_by_test_id("session-ended-message")).to_contain_text("ended the session")
    expect(ada_row).to_have_attribute("data-status", "completed")
    expect(ada_row.get_by_test_id("status-dot")).to_have_count(0)
    patient.context.close()
    assert not page_errors.errors


def test_row_menu_actions_confirm_what_they_did(
    browser: Browser, local_run: LocalRun, page_errors: PageErrors
) -> None:
    ada, name, email = ada_invites_a_patient(browser, local_run, page_errors)
    the_row = row(ada, name)

    the_row.get_by_test_id("row-menu").click()
    ada.get_by_test_id("menu-reinvite").click()
    expect(ada.get_by_test_id("toast").last).to_contain_text(f"Invitation sent again to {email}")

    the_row.get_by_test_id("row-menu").click()
    ada.get_by_test_id("menu-new-task").click()
    ada.get_by_test_id("task-title").fill("Referral letter")
    ada.get_by_test_id("task-create").click()
    expect(ada.get_by_test_id("toast").last).to_contain_text("Task created")

    the_row.get_by_test_id("row-menu").click()
    ada.get_by_test_id("menu-cancel").click()
    expect(ada.get_by_test_id("toast").last).to_contain_text("cancelled")
    expect(the_row).to_have_attribute("data-status", "cancelled")
    expect(the_row.get_by_test_id("status-dot")).to_have_count(0)

    patient = new_page(browser, page_errors)
    patient.goto(mailed_link(local_run, email))
    expect(patient.get_by_role("alert")).to_contain_text("cancelled")
    assert not page_errors.errors


def test_invite_errors_are_shown_next_to_the_field(
    browser: Browser, local_run: LocalRun, page_errors: PageErrors
) -> None:
    ada = new_page(browser, page_errors)
    log_in(ada, local_run.base_url, "ada@clinic.example")
    ada.get_by_test_id("invite-button").click()
    ada.get_by_test_id("invite-patient-name").fill("Pat Typo")
    ada.get_by_test_id("invite-patient-email").fill("pat@@example")
    ada.get_by_test_id("invite-send").click()
    email = ada.get_by_test_id("invite-patient-email")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(ada.locator("#invite-patient-email-error")).to_contain_text("valid email address")
    expect(email).to_be_focused()
    assert not page_errors.errors


def test_wrong_password_says_what_to_do(
    browser: Browser, local_run: LocalRun, page_errors: PageErrors
) -> None:
    page = new_page(browser, page_errors)
    page.goto(local_run.base_url + "/")
    page.get_by_test_id("login-email").fill("ada@clinic.example")
    page.get_by_test_id("login-password").fill("wrong password")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_role("alert")).to_contain_text("Email or password is incorrect")


def test_keyboard_and_phone_width(browser: Browser, local_run: LocalRun, page_errors: PageErrors) -> None:
    phone = new_page(browser, page_errors, width=390, height=844)
    phone.goto(local_run.base_url + "/")
    phone.keyboard.press("Tab")  # skip link
    phone.keyboard.press("Tab")
    expect(phone.get_by_test_id("login-email")).to_be_focused()
    phone.keyboard.type("ben@clinic.example")
    phone.keyboard.press("Tab")
    phone.keyboard.type("Clinic-Demo-2026!")
    phone.keyboard.press("Enter")
    phone.get_by_test_id("invite-button").wait_for()
    phone.get_by_test_id("invite-button").focus()
    phone.keyboard.press("Enter")
    expect(phone.get_by_test_id("invite-starts-at")).to_be_focused()
    phone.keyboard.press("Escape")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    for label in ("Date and time", "Patient's name", "Patient's email address", "Author group"):
        assert phone.get_by_label(label).count() == 1
    assert not page_errors.errors


def test_an_unknown_link_explains_itself(
    browser: Browser, local_run: LocalRun, page_errors: PageErrors
) -> None:
    page = new_page(browser, page_errors, width=390, height=844)
    page.goto(local_run.url("/visit/" + "A" * 43))
    expect(page.get_by_role("alert")).to_contain_text("This link is not valid")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_a_blocked_camera_gets_guidance_and_the_patient_still_waits(
    playwright: Playwright, local_run: LocalRun
) -> None:
    """A browser that refuses the camera: the waiting room says what to do, presence still works."""
    from tests.browser.conftest import CHROMIUM_FLAGS, chromium_path

    flags = [f for f in CHROMIUM_FLAGS if f != "--use-fake-ui-for-media-stream"] + [
        "--deny-permission-prompts"
    ]
    token = requests.post(
        local_run.url("/api/auth/login"),
        json={"email": "ben@clinic.example", "password": "Clinic-Demo-2026!"},
        timeout=10,
    ).json()["id_token"]
    email = f"pat.{uuid.uuid4().hex[:8]}@example.com"
    created = requests.post(
        local_run.url("/api/appointments"),
        headers={"Authorization": f"Bearer {token}"},
        json={
            "starts_at": "2026-12-30T09:00:00Z",
            "patient_name": "Pat Blocked",
            "patient_email": email,
            "group": "cardiology",
        },
        timeout=10,
    ).json()
    browser = playwright.chromium.launch(executable_path=chromium_path(), args=flags)
    try:
        page = browser.new_context().new_page()
        page.goto(mailed_link(local_run, email))
        help_box = page.locator("#media-help")
        expect(help_box).to_be_visible()
        expect(help_box).to_contain_text("blocked the camera or microphone")
        expect(help_box.get_by_role("button", name="Try again")).to_be_visible()
        expect(page.get_by_test_id("waiting-status")).to_contain_text("will be with you shortly")
        answer = requests.get(
            local_run.url(f"/api/appointments/{created['id']}"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert answer.json()["status"] == "waiting"
    finally:
        browser.close()
