"""First login with a temporary password, and a password reset, driven in Chromium."""

from __future__ import annotations

import re
import uuid

import requests
from playwright.sync_api import Browser, Page, expect

from local import aws_standin
from tests.browser.conftest import PageErrors, new_page
from tests.local.conftest import LocalRun
from tests.totp import current_totp

TEMPORARY = "Temporary-Pass-2026!"


def operator_creates(run: LocalRun) -> str:
    cognito, aws = run.cognito()
    email = f"new-{uuid.uuid4().hex[:8]}@clinic.example"
    aws_standin.add_clinician(
        cognito, aws["user_pool_id"], email, "Nia New", ["cardiology"], temporary_password=TEMPORARY
    )
    return email


def submit_login(page: Page, email: str, password: str) -> None:
    page.get_by_test_id("login-email").fill(email)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()


def test_first_login_then_forgot_and_reset(
    browser: Browser, local_run: LocalRun, page_errors: PageErrors
) -> None:
    email = operator_creates(local_run)
    page = new_page(browser, page_errors)
    page.goto(local_run.base_url + "/")
    submit_login(page, email, TEMPORARY)
    new_password = page.get_by_test_id("login-new-password")
    expect(new_password).to_be_visible()
    expect(page.get_by_test_id("login-code")).to_be_hidden()
    new_password.fill("short")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_role("alert")).to_contain_text("password policy")
    new_password.fill("Chosen-Password-2026!")
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("invite-button").wait_for()

    page.get_by_role("button", name="Log out").click()
    page.get_by_test_id("login-email").fill(email)
    page.get_by_test_id("login-forgot").click()
    code_field = page.get_by_test_id("login-code")
    expect(code_field).to_be_visible()
    messages = requests.get(local_run.url("/_local/mailbox.json"), timeout=10).json()["messages"]
    mail = next(m for m in messages if m["to"] == [email] and "reset" in m["subject"].lower())
    match = re.search(r"\b(\d{6})\b", mail["text"])
    assert match
    code_field.fill(match.group(1))
    page.get_by_test_id("login-new-password").fill("Reset-Password-2026!")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_role("alert")).to_contain_text("password has been changed")
    page.get_by_test_id("login-password").fill("Reset-Password-2026!")
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("invite-button").wait_for()
    assert not page_errors.errors


def test_new_clinician_turns_on_two_step_login_and_logs_in_with_a_code(
    browser: Browser, local_run: LocalRun, page_errors: PageErrors
) -> None:
    email = operator_creates(local_run)
    chosen = "Chosen-Password-2026!"
    page = new_page(browser, page_errors, width=390, height=844)  # a phone
    page.goto(local_run.base_url + "/")
    submit_login(page, email, TEMPORARY)
    page.get_by_test_id("login-new-password").fill(chosen)
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("invite-button").wait_for()

    page.get_by_role("button", name="Two-step login").click()
    dialog = page.get_by_role("dialog", name="Two-step login")
    expect(dialog.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    secret = dialog.get_by_test_id("mfa-secret").inner_text().replace(" ", "")
    assert re.fullmatch(r"[A-Za-z2-7]+", secret), secret  # base32 (moto: a fixed lower-case one)
    right = current_totp(secret)
    dialog.get_by_label("Code the app shows now").fill(f"{(int(right) + 1) % 10**6:06d}")
    dialog.get_by_role("button", name="Turn on").click()
    expect(dialog.get_by_role("alert")).to_contain_text("not the one the app shows")
    dialog.get_by_label("Code the app shows now").fill(current_totp(secret))
    dialog.get_by_role("button", name="Turn on").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("toast-region")).to_contain_text("Two-step login is on")

    page.get_by_role("button", name="Log out").click()
    submit_login(page, email, chosen)
    code = page.get_by_test_id("login-code")
    expect(code).to_be_visible()
    expect(page.get_by_test_id("login-password")).to_be_hidden()
    code.fill(current_totp(secret))
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("invite-button").wait_for()
    assert not page_errors.errors
