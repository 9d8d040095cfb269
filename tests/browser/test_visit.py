"""A whole visit in Chromium with fake camera and microphone: the clinician and the patient
see each other through the media worker, mute, chat, a screenshot denied then granted,
written information, exit without ending, take again, leave."""

from __future__ import annotations

import re

import requests
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import PageErrors, new_page
from tests.browser.test_schedule import ada_invites_a_patient, mailed_link, row
from tests.local.conftest import LocalRun

FRAMES = "el => el.getVideoPlaybackQuality ? el.getVideoPlaybackQuality().totalVideoFrames : 0"


def frames_grow(page: Page, testid: str = "remote-video") -> None:
    """The remote <video> decodes frames, and keeps decoding them: ten more within 10 s (a
    call's first seconds on a loaded 2-core machine may stall for a moment; a call that froze
    does not get there)."""
    video = page.get_by_test_id(testid)
    video.wait_for()
    page.wait_for_function("v => v.videoWidth > 0", arg=video.element_handle(), timeout=30000)
    before = video.evaluate(FRAMES)
    page.wait_for_function(
        f"([video, before]) => ({FRAMES})(video) > before + 10",
        arg=[video.element_handle(), before],
        timeout=10000,
    )


def mute_is_shown_on_both_sides(ada: Page, patient: Page) -> None:
    # mute: the button says so, and the patient sees it
    ada.get_by_test_id("mute-button").click()
    expect(ada.get_by_test_id("mute-button")).to_have_attribute("aria-pressed", "true")
    expect(patient.locator("#remote-muted")).to_be_visible()
    ada.get_by_test_id("mute-button").click()
    expect(ada.get_by_test_id("mute-button")).to_have_attribute("aria-pressed", "false")
    expect(patient.locator("#remote-muted")).to_be_hidden()


def chat_both_ways(ada: Page, patient: Page) -> None:
    # chat both ways
    ada.get_by_test_id("info-button").click()
    ada.get_by_test_id("chat-input").fill("Can you show me the bruise?")
    ada.get_by_test_id("chat-send").click()
    expect(patient.get_by_test_id("chat-log")).to_contain_text("Can you show me the bruise?")
    patient.get_by_test_id("chat-input").fill("Yes, here it is.")
    patient.get_by_test_id("chat-send").click()
    expect(ada.get_by_test_id("chat-log")).to_contain_text("Yes, here it is.")


def a_screenshot_denied_then_granted_and_stored(
    ada: Page, patient: Page, local_run: LocalRun, appointment_id: str | None
) -> None:
    # a screenshot: denied, then granted
    ada.get_by_test_id("screen-options").click()
    ada.get_by_test_id("request-screenshot").click()
    patient.get_by_test_id("screenshot-consent-deny").click()
    expect(ada.get_by_test_id("screenshot-denied-message")).to_be_visible()
    ada.get_by_test_id("screen-options").click()
    ada.get_by_test_id("request-screenshot").click()
    expect(ada.get_by_test_id("screenshot-denied-message")).to_be_hidden()
    patient.get_by_test_id("screenshot-consent-allow").click()
    expect(ada.get_by_test_id("screenshot-ready")).to_be_visible(timeout=20000)
    expect(ada.get_by_test_id("save-screenshot")).to_be_visible()
    token = ada.evaluate("sessionStorage.getItem('eclinic.token')")
    listed = requests.get(
        local_run.url(f"/api/appointments/{appointment_id}/screenshots"),
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    ).json()["screenshots"]
    assert len(listed) == 1 and listed[0]["width"] > 0 and listed[0]["filename"].endswith(".jpg")
    image = requests.get(listed[0]["url"], timeout=10)
    assert image.status_code == 200 and image.content[:3] == b"\xff\xd8\xff"


def test_a_whole_visit(browser: Browser, local_run: LocalRun, page_errors: PageErrors) -> None:
    ada, name, email = ada_invites_a_patient(browser, local_run, page_errors)

    patient = new_page(browser, page_errors, width=390, height=844)
    patient.goto(mailed_link(local_run, email))
    the_row = row(ada, name)
    expect(the_row).to_have_attribute("data-status", "waiting")
    expect(the_row.get_by_test_id("status-dot")).to_have_class(re.compile("dot-waiting"))
    appointment_id = the_row.get_attribute("data-appointment-id")

    # take and call
    the_row.click()
    ada.get_by_test_id("call-button").click()
    frames_grow(ada)
    frames_grow(patient)
    expect(ada.get_by_test_id("call-state")).to_have_text("Connected.")
    expect(patient.get_by_test_id("call-state")).to_have_text("Connected.")

    mute_is_shown_on_both_sides(ada, patient)
    chat_both_ways(ada, patient)
    a_screenshot_denied_then_granted_and_stored(ada, patient, local_run, appointment_id)

    # written information
    ada.get_by_test_id("send-info").click()
    ada.get_by_test_id("info-title").fill("After-care advice")
    ada.get_by_test_id("info-text").fill("Cool the bruise for 20 minutes, three times a day.")
    ada.get_by_test_id("info-send").click()
    documents = patient.get_by_test_id("documents")
    expect(documents).to_contain_text("After-care advice")
    href = documents.get_by_role("link", name="After-care advice").get_attribute("href")
    assert href and "/api/visit/" in href
    download = requests.get(href, timeout=10)
    assert download.status_code == 200 and "three times a day" in download.text

    # exit without ending: the patient stays in the waiting room
    ada.get_by_test_id("hangup-button").click()
    ada.get_by_test_id("hangup-exit").click()
    expect(the_row).to_have_attribute("data-status", "waiting")
    expect(patient.get_by_test_id("waiting-status")).to_contain_text("stepped out")

    # take again, and leave the session
    the_row.click()
    expect(ada.get_by_test_id("hangup-button")).to_be_visible()
    ada.get_by_test_id("hangup-button").click()
    ada.get_by_test_id("hangup-leave").click()
    expect(patient.get_by_test_id("session-ended-message")).to_be_visible()
    expect(the_row).to_have_attribute("data-status", "completed")
    expect(the_row.get_by_test_id("status-dot")).to_have_count(0)
    assert not page_errors.errors
