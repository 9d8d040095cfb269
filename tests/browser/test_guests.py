"""A visit of three in Chromium with fake cameras: the clinician adds an interpreter to a running
session from the session page, the interpreter opens the mailed link and joins, each of the three
pages shows the two others in tiles with video playing and sound heard, the interpreter's chat
reaches both, and
the clinician removes the interpreter again: the guest's page ends with a message and the link
answers 410. Only the contract's hooks (API.md, "UI test hooks") and what a person sees."""

from __future__ import annotations

import re
import uuid

import requests
from playwright.sync_api import Browser, Locator, Page, expect

from tests.browser.conftest import PageErrors, new_page
from tests.browser.test_schedule import ada_invites_a_patient, mailed_link, row
from tests.browser.test_visit import FRAMES, frames_grow
from tests.local.conftest import LocalRun

TILES = '[data-testid="participant-tile"]:visible'


def guest_link(run: LocalRun, email: str) -> str:
    """The link of the newest mail to the guest's address."""
    messages = requests.get(run.url("/_local/mailbox.json"), timeout=10).json()["messages"]
    mail = [m for m in messages if m["to"] == [email]][-1]
    match = re.search(r"(http://[^\s\"<>]+/visit/[A-Za-z0-9_-]{43})", mail["html"] or mail["text"])
    assert match, "the guest's invitation holds no visit link"
    return match.group(1)


def tile_plays(page: Page, tile: Locator) -> None:
    """The tile's video decodes frames and keeps decoding them (as frames_grow)."""
    video = tile.locator("video")
    page.wait_for_function("v => v.videoWidth > 0", arg=video.element_handle(), timeout=30000)
    before = video.evaluate(FRAMES)
    page.wait_for_function(
        f"([video, before]) => ({FRAMES})(video) > before + 10",
        arg=[video.element_handle(), before],
        timeout=15000,
    )


# Resolves true once the video element's stream carries sound: Chromium's fake microphone beeps,
# so a live remote audio track that reaches WebAudio rises above silence within a few seconds.
HEARS = """async (video) => {
  const stream = video.srcObject;
  if (!stream || !stream.getAudioTracks().length || video.muted) return false;
  const context = new AudioContext();
  const analyser = context.createAnalyser();
  context.createMediaStreamSource(stream).connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  const until = performance.now() + 8000;
  try {
    while (performance.now() < until) {
      analyser.getFloatTimeDomainData(samples);
      if (samples.some((x) => Math.abs(x) > 0.01)) return true;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return false;
  } finally {
    context.close();
  }
}"""


def sees_and_plays(page: Page, roles: set[str]) -> None:
    """Two remote tiles, of these roles, each with its video playing and its sound heard."""
    tiles = page.locator(TILES)
    expect(tiles).to_have_count(2, timeout=30000)
    assert {tiles.nth(i).get_attribute("data-role") for i in range(2)} == roles
    for i in range(2):
        tile_plays(page, tiles.nth(i))
        assert tiles.nth(i).locator("video").evaluate(HEARS), f"no sound from the {roles} tile {i}"


def ada_adds_an_interpreter(ada: Page, name: str, email: str) -> None:
    ada.get_by_test_id("add-guest-button").click()
    ada.get_by_test_id("guest-name").fill(name)
    ada.get_by_test_id("guest-email").fill(email)
    ada.get_by_test_id("guest-role").select_option("interpreter")
    ada.get_by_test_id("guest-send").click()
    expect(ada.get_by_test_id("toast").last).to_contain_text(f"Invitation sent to {name}")


def test_a_visit_of_three(browser: Browser, local_run: LocalRun, page_errors: PageErrors) -> None:
    ada, patient_name, patient_email = ada_invites_a_patient(browser, local_run, page_errors)
    patient = new_page(browser, page_errors, width=390, height=844)
    patient.goto(mailed_link(local_run, patient_email))
    the_row = row(ada, patient_name)
    expect(the_row).to_have_attribute("data-status", "waiting")
    the_row.click()
    ada.get_by_test_id("call-button").click()
    frames_grow(ada)
    frames_grow(patient)

    # the clinician adds an interpreter to the running session; the interpreter joins by link
    guest_name, guest_email = f"Ana {uuid.uuid4().hex[:6]}", f"ana.{uuid.uuid4().hex[:8]}@example.com"
    ada_adds_an_interpreter(ada, guest_name, guest_email)
    link = guest_link(local_run, guest_email)
    guest = new_page(browser, page_errors)
    guest.goto(link)
    expect(guest.get_by_role("heading", level=1)).to_have_text(
        "You are joining as interpreter for an appointment with Cardiology"
    )
    expect(guest.get_by_test_id("device-check")).to_be_visible()
    expect(guest.get_by_test_id("screenshot-consent-allow")).to_have_count(0)

    # everyone sees and hears both others: the remote-video stays the first other's
    sees_and_plays(ada, {"patient", "guest"})
    sees_and_plays(patient, {"clinician", "guest"})
    sees_and_plays(guest, {"clinician", "patient"})
    expect(patient.get_by_text(f"Also in this visit: {guest_name} (interpreter)")).to_be_visible()
    ada.get_by_test_id("info-button").click()
    expect(ada.get_by_test_id("participants")).to_contain_text(guest_name)
    expect(ada.get_by_test_id("participants")).to_contain_text(patient_name)

    # the interpreter's chat reaches both, under the interpreter's name
    guest.get_by_test_id("chat-input").fill("I will translate everything.")
    guest.get_by_test_id("chat-send").click()
    for page in (ada, patient):
        expect(page.get_by_test_id("chat-log")).to_contain_text(guest_name)
        expect(page.get_by_test_id("chat-log")).to_contain_text("I will translate everything.")

    # the clinician removes the interpreter: their page ends with a message, their link is dead
    guest_tile = ada.locator(TILES).filter(has=ada.get_by_test_id("remove-guest"))
    expect(guest_tile).to_have_attribute("data-role", "guest")
    guest_tile.get_by_test_id("remove-guest").click()
    ended = guest.get_by_test_id("session-ended-message")
    expect(ended).to_be_visible(timeout=20000)
    expect(ended).not_to_be_empty()
    expect(ada.locator(TILES)).to_have_count(1, timeout=20000)
    expect(patient.locator(TILES)).to_have_count(1, timeout=20000)
    token = link.rsplit("/", 1)[1]
    assert requests.get(local_run.url(f"/api/visit/{token}"), timeout=10).status_code == 410
    # the call of two goes on
    frames_grow(ada)
    frames_grow(patient)
    guest.wait_for_timeout(3000)
    expect(ended).to_be_visible()  # the guest's page does not reconnect into the visit
    # Ada ends the visit: the worker lets go of it at once (the later tests need the CPU)
    ada.get_by_test_id("hangup-button").click()
    ada.get_by_test_id("hangup-leave").click()
    expect(patient.get_by_test_id("session-ended-message")).to_be_visible()
    assert not page_errors.errors


def test_a_guest_invited_before_the_session_shows_on_the_row_and_comes_online(
    browser: Browser, local_run: LocalRun, page_errors: PageErrors
) -> None:
    ada, patient_name, _ = ada_invites_a_patient(browser, local_run, page_errors)
    the_row = row(ada, patient_name)
    the_row.get_by_test_id("row-menu").click()
    ada.get_by_test_id("menu-add-guest").click()
    guest_name, guest_email = f"Bo {uuid.uuid4().hex[:6]}", f"bo.{uuid.uuid4().hex[:8]}@example.com"
    ada.get_by_test_id("guest-name").fill(guest_name)
    ada.get_by_test_id("guest-email").fill(guest_email)
    ada.get_by_test_id("guest-role").select_option("family")
    ada.get_by_test_id("guest-send").click()
    expect(the_row).to_contain_text("Guest: family member (invited)")
    guest = new_page(browser, page_errors, width=390, height=844)
    guest.goto(guest_link(local_run, guest_email))
    expect(the_row).to_contain_text("Guest: family member (online)")
    # a guest online is not the patient online
    expect(the_row).to_have_attribute("data-status", "scheduled")
    guest.close()
    expect(the_row).to_contain_text("Guest: family member (invited)", timeout=15000)
