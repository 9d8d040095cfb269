"""The waiting room's device check in Chromium: pickers of the fake devices, a microphone level
that moves with the fake microphone's beep, a test sound that really plays, a device chosen
during a call reaching the call, guidance for a blocked camera and a silent microphone, and the
clinician's row saying what the check found."""

from __future__ import annotations

import struct
import uuid
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect

from tests.browser.conftest import CHROMIUM_FLAGS, PageErrors, chromium_path, new_page
from tests.browser.test_schedule import ada_invites_a_patient, invite_through_dialog, mailed_link, row
from tests.browser.test_visit import frames_grow
from tests.local.conftest import LocalRun

LEVEL = "el => Number(el.getAttribute('aria-valuenow'))"
# Every RTCPeerConnection the page makes, so that a test can see which tracks a call sends.
RECORD_PEERS = """
(() => {
  const Original = window.RTCPeerConnection;
  window.__peers = [];
  window.RTCPeerConnection = function (...args) {
    const pc = new Original(...args);
    window.__peers.push(pc);
    return pc;
  };
  window.RTCPeerConnection.prototype = Original.prototype;
})();
"""
SENT_AUDIO = """() => {
  const pc = window.__peers[window.__peers.length - 1];
  if (!pc || pc.connectionState !== "connected") return null;
  const sender = pc.getSenders().find((s) => s.track && s.track.kind === "audio");
  return sender ? sender.track.label : null;
}"""


def option_labels(page: Page, testid: str) -> list[str]:
    return page.get_by_test_id(testid).locator("option").all_inner_texts()


def level_rises(page: Page) -> None:
    meter = page.get_by_test_id("mic-level")
    page.wait_for_function(f"el => ({LEVEL})(el) > 0", arg=meter.element_handle(), timeout=15000)
    assert 0 < meter.evaluate(LEVEL) <= 100


def the_level_meter_moves_and_both_devices_work(patient: Page) -> None:
    # the level meter: labelled, 0..100, and it moves with the fake microphone's beep
    meter = patient.get_by_role("meter", name="Microphone level")
    expect(meter).to_have_attribute("data-testid", "mic-level")
    expect(meter).to_have_attribute("aria-valuemin", "0")
    expect(meter).to_have_attribute("aria-valuemax", "100")
    level_rises(patient)
    expect(patient.locator("#camera-result")).to_have_text("Camera: working")
    expect(patient.locator("#microphone-result")).to_have_text("Microphone: working")
    expect(patient.locator("#device-help")).to_be_hidden()


def the_test_sound_plays_and_hearing_nothing_gets_help(patient: Page) -> None:
    # the test sound plays (its own <audio> element, outside any call); then "I heard nothing"
    patient.get_by_test_id("speaker-test").click()
    sound = patient.locator("#speaker-test-sound")
    patient.wait_for_function("el => el.ended", arg=sound.element_handle(), timeout=10000)
    assert sound.evaluate("el => el.currentTime > 0.3 && el.src.startsWith('blob:')")
    expect(patient.get_by_text("Did you hear the sound?")).to_be_visible()
    patient.get_by_role("button", name="I heard nothing").click()
    expect(patient.locator("#speaker-help")).to_contain_text("Turn the volume up")
    expect(patient.locator("#speaker-result")).to_have_text("Sound: you heard nothing")


def the_keyboard_reaches_both_pickers_and_the_test_sound(patient: Page) -> None:
    # keyboard: from the section's heading to both pickers and the test sound, in that order
    patient.locator("#device-check-details > summary").focus()
    for testid in ("camera-select", "microphone-select"):
        patient.keyboard.press("Tab")
        expect(patient.get_by_test_id(testid)).to_be_focused()
    patient.keyboard.press("Tab")
    expect(patient.get_by_test_id("speaker-test")).to_be_focused()


def test_fake_devices_are_listed_heard_and_reported(
    browser: Browser, local_run: LocalRun, page_errors: PageErrors
) -> None:
    ada, name, email = ada_invites_a_patient(browser, local_run, page_errors)
    patient = new_page(browser, page_errors, width=390, height=844)
    patient.context.add_init_script(RECORD_PEERS)
    patient.goto(mailed_link(local_run, email))
    check = patient.get_by_test_id("device-check")
    expect(check).to_be_visible()

    # pickers with labels, filled with Chromium's fake devices once the camera is allowed
    camera = patient.get_by_label("Camera", exact=True)
    microphone = patient.get_by_label("Microphone", exact=True)
    expect(camera).to_have_attribute("data-testid", "camera-select")
    expect(microphone).to_have_attribute("data-testid", "microphone-select")
    expect(camera.locator("option")).to_have_text(["fake_device_0"])
    expect(microphone.locator("option")).to_have_count(3)
    assert "Fake Audio Input 1" in option_labels(patient, "microphone-select")

    the_level_meter_moves_and_both_devices_work(patient)

    # the clinician's row says what the check found
    the_row = row(ada, name)
    expect(the_row).to_have_attribute("data-status", "waiting")
    result = the_row.get_by_test_id("device-check-result")
    expect(result).to_have_text("Camera: working · Microphone: working")

    the_test_sound_plays_and_hearing_nothing_gets_help(patient)

    the_keyboard_reaches_both_pickers_and_the_test_sound(patient)
    assert patient.evaluate("document.documentElement.scrollWidth") <= 390

    # the session starts: the check folds away (its summary stays), the call runs
    the_row.click()
    details = patient.locator("#device-check-details")
    expect(details).to_have_js_property("open", False)
    expect(patient.get_by_test_id("camera-select")).to_be_hidden()
    ada.get_by_test_id("call-button").click()
    frames_grow(ada)
    patient.wait_for_function(SENT_AUDIO, timeout=30000)
    assert patient.evaluate(SENT_AUDIO) == "Fake Default Audio Input"

    # a microphone chosen during the call reaches the call
    patient.locator("#device-check-details > summary").click()
    microphone.select_option(label="Fake Audio Input 2")
    patient.wait_for_function(f"() => ({SENT_AUDIO})() === 'Fake Audio Input 2'", timeout=30000)
    expect(patient.get_by_test_id("call-state")).to_have_text("Connected.")
    frames_grow(ada)
    level_rises(patient)
    assert patient.evaluate("document.getElementById('local-video').srcObject.getAudioTracks()[0].label") == (
        "Fake Audio Input 2"
    )
    for page in (patient, ada):  # the call ends here, not in the next test's time
        page.context.close()
    assert not page_errors.errors


@pytest.fixture
def without_fake_ui(playwright: Playwright) -> Iterator[Browser]:
    """Chromium with fake devices but no automatic yes: a permission not given is refused."""
    flags = [f for f in CHROMIUM_FLAGS if f != "--use-fake-ui-for-media-stream"]
    launched = playwright.chromium.launch(executable_path=chromium_path(), args=flags)
    yield launched
    launched.close()


def test_a_blocked_camera_is_explained_and_the_row_says_so(
    browser: Browser, without_fake_ui: Browser, local_run: LocalRun, page_errors: PageErrors
) -> None:
    ada, name, email = ada_invites_a_patient(browser, local_run, page_errors)
    # The microphone allowed, the camera not: getUserMedia refuses the camera (NotAllowedError).
    patient = new_page(without_fake_ui, page_errors, width=390, height=844, permissions=["microphone"])
    patient.goto(mailed_link(local_run, email))
    expect(patient.locator("#camera-result")).to_have_text("Camera: blocked by the browser")
    help_text = patient.locator("#camera-help")
    expect(help_text).to_be_visible()
    expect(help_text).to_contain_text("Your browser has blocked the camera")
    expect(help_text).to_contain_text("address bar")
    expect(patient.locator("#device-retry")).to_be_visible()
    expect(patient.locator("#device-preview-empty")).to_be_visible()
    expect(patient.get_by_test_id("camera-select")).to_be_disabled()
    # the microphone still works, and is heard
    level_rises(patient)
    expect(patient.locator("#microphone-result")).to_have_text("Microphone: working")
    expect(patient.locator("#media-help")).to_be_hidden()  # the microphone opened: not a dead end

    # presence is not the camera: the patient waits, and the row says what is wrong
    expect(patient.get_by_test_id("waiting-status")).to_contain_text("will be with you shortly")
    the_row = row(ada, name)
    expect(the_row).to_have_attribute("data-status", "waiting")
    expect(the_row.get_by_test_id("device-check-result")).to_have_text(
        "Camera: blocked by the browser · Microphone: working"
    )
    assert patient.evaluate("document.documentElement.scrollWidth") <= 390

    # Nothing allowed at all: both blocked, and the page's general help says so too.
    other_name, other_email = ada_invites_another(ada)
    nothing = new_page(without_fake_ui, page_errors, permissions=[])
    nothing.goto(mailed_link(local_run, other_email))
    expect(nothing.locator("#microphone-result")).to_have_text("Microphone: blocked by the browser")
    expect(nothing.locator("#media-help")).to_contain_text("blocked the camera or microphone")
    other_row = row(ada, other_name)
    expect(other_row).to_have_attribute("data-status", "waiting")
    expect(other_row.get_by_test_id("device-check-result")).to_have_text(
        "Camera: blocked by the browser · Microphone: blocked by the browser"
    )
    for page in (nothing, patient, ada):
        page.context.close()
    assert not page_errors.errors


def ada_invites_another(ada: Page) -> tuple[str, str]:
    name, email = f"Pat {uuid.uuid4().hex[:6]}", f"pat.{uuid.uuid4().hex[:8]}@example.com"
    invite_through_dialog(ada, name, email)
    return name, email


def silence(path: Path, seconds: int = 30) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(struct.pack("<h", 0) * 16000 * seconds)
    return path


def test_a_silent_microphone_is_explained_and_the_row_says_so(
    browser: Browser, playwright: Playwright, local_run: LocalRun, page_errors: PageErrors, tmp_path: Path
) -> None:
    ada, name, email = ada_invites_a_patient(browser, local_run, page_errors)
    quiet = playwright.chromium.launch(
        executable_path=chromium_path(),
        args=[*CHROMIUM_FLAGS, f"--use-file-for-fake-audio-capture={silence(tmp_path / 'silence.wav')}"],
    )
    try:
        patient = new_page(quiet, page_errors)
        patient.goto(mailed_link(local_run, email))
        expect(patient.locator("#camera-result")).to_have_text("Camera: working")
        # some seconds of nothing at all from the microphone
        microphone = patient.locator("#microphone-result")
        expect(microphone).to_have_text("Microphone: no sound heard yet", timeout=20000)
        assert patient.get_by_test_id("mic-level").evaluate(LEVEL) == 0
        expect(patient.locator("#microphone-help")).to_contain_text("not muted")
        expect(patient.locator("#device-retry")).to_be_hidden()  # nothing to reopen: check the microphone
        the_row = row(ada, name)
        expect(the_row).to_have_attribute("data-status", "waiting")
        expect(the_row.get_by_test_id("device-check-result")).to_have_text(
            "Camera: working · Microphone: no sound heard"
        )
    finally:
        quiet.close()
    assert not page_errors.errors
