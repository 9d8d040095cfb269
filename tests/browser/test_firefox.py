"""The patient in Debian's Firefox ESR, the clinician in Chromium: the whole visit works."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import PageErrors, new_page
from tests.browser.test_schedule import ada_invites_a_patient, mailed_link, row
from tests.browser.test_visit import frames_grow
from tests.local.conftest import LocalRun

# Firefox leaves getVideoPlaybackQuality() at 0 for a MediaStream: count presented frames.
COUNT_FRAMES = """video => new Promise((resolve) => {
  let frames = 0;
  const started = performance.now();
  const step = () => {
    frames += 1;
    if (performance.now() - started < 1500) video.requestVideoFrameCallback(step);
    else resolve(frames);
  };
  video.requestVideoFrameCallback(step);
})"""


def firefox_frames_grow(page: Page) -> None:
    video = page.get_by_test_id("remote-video")
    page.wait_for_function("v => v.videoWidth > 0", arg=video.element_handle(), timeout=30000)
    frames = video.evaluate(COUNT_FRAMES)
    assert frames > 10, frames


def hold_the_rest_of_the_visit(ada: Page, patient: Page) -> None:
    """Once video flows both ways: mute, chat both ways, a screenshot with consent, leave."""
    ada.get_by_test_id("mute-button").click()
    expect(patient.locator("#remote-muted")).to_be_visible()
    ada.get_by_test_id("mute-button").click()
    expect(patient.locator("#remote-muted")).to_be_hidden()

    ada.get_by_test_id("info-button").click()
    ada.get_by_test_id("chat-input").fill("Hello from the clinic")
    ada.get_by_test_id("chat-send").click()
    expect(patient.get_by_test_id("chat-log")).to_contain_text("Hello from the clinic")
    patient.get_by_test_id("chat-input").fill("Hello from the patient")
    patient.get_by_test_id("chat-send").click()
    expect(ada.get_by_test_id("chat-log")).to_contain_text("Hello from the patient")

    ada.get_by_test_id("screen-options").click()
    ada.get_by_test_id("request-screenshot").click()
    patient.get_by_test_id("screenshot-consent-allow").click()
    expect(ada.get_by_test_id("screenshot-ready")).to_be_visible(timeout=20000)

    ada.get_by_test_id("hangup-button").click()
    ada.get_by_test_id("hangup-leave").click()
    expect(patient.get_by_test_id("session-ended-message")).to_be_visible()


def test_a_patient_in_firefox_holds_the_whole_visit(
    browser: Browser, firefox: Browser, local_run: LocalRun, page_errors: PageErrors
) -> None:
    ada, name, email = ada_invites_a_patient(browser, local_run, page_errors)
    patient = new_page(firefox, page_errors, width=390, height=844)
    patient.goto(mailed_link(local_run, email))
    the_row = row(ada, name)
    expect(the_row).to_have_attribute("data-status", "waiting")
    the_row.click()
    ada.get_by_test_id("call-button").click()
    frames_grow(ada)
    firefox_frames_grow(patient)
    expect(patient.get_by_test_id("call-state")).to_have_text("Connected.")
    # Firefox's statistics (no `transport` stats, `selected` on the pair) give a level as well.
    expect(patient.get_by_test_id("quality-indicator")).to_have_attribute("data-level", "good", timeout=20000)
    expect(ada.get_by_test_id("remote-quality")).to_have_attribute("data-level", "good")
    patient.get_by_test_id("audio-only-button").click()
    expect(ada.get_by_test_id("remote-video-off")).to_have_attribute("data-reason", "audio_only")
    patient.get_by_test_id("audio-only-button").click()
    expect(ada.get_by_test_id("remote-video-off")).to_be_hidden()
    frames_grow(ada)

    hold_the_rest_of_the_visit(ada, patient)
    assert not page_errors.errors
