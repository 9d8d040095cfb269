"""A call that goes bad and what both sides see: the quality indicator over a line that a test
relay really degrades, audio only, a patient's page in the background, and the in-app browser
notice. The relay sits in the patient's media path: the test rewrites the worker's answer
(through Playwright's websocket routing) to name the relay's address as the worker's only
candidate, and the relay forwards UDP both ways, dropping the share of RTP it is told to."""

from __future__ import annotations

import json
import random
import re
import socket
import threading
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, WebSocketRoute, expect

from tests.browser.conftest import PageErrors, new_page
from tests.browser.test_schedule import ada_invites_a_patient, mailed_link, row
from tests.browser.test_visit import FRAMES, frames_grow
from tests.local.conftest import LocalRun
from tests.local.coturn import machine_address

INSTAGRAM_ON_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Mobile/22B83 Instagram 356.0.0.41.101 (iPhone15,3; iOS 18_1; en_US; en; scale=3.00; 1290x2796)"
)
CANDIDATE_LINE = re.compile(r"a=candidate:\S+ 1 udp \d+ (\S+) (\d+) typ host[^\r\n]*\r\n", re.IGNORECASE)
ANY_CANDIDATE = re.compile(r"a=candidate:[^\r\n]*\r\n")


class LossyRelay:
    """A UDP forwarder between one browser and the worker that drops a share of RTP and RTCP
    (first byte 128-191), never STUN or DTLS, so the line degrades the way a bad one does."""

    def __init__(self, host: str) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind((host, 0))
        self.socket.settimeout(0.2)
        self.address: tuple[str, int] = self.socket.getsockname()
        self.worker: tuple[str, int] | None = None
        self.browser: tuple[str, int] | None = None
        self.drop = 0.0
        self.forwarded = 0
        self._running = True
        self._thread = threading.Thread(target=self._forward, daemon=True)
        self._thread.start()

    def _forward(self) -> None:
        while self._running:
            try:
                data, sender = self.socket.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            if sender == self.worker:
                target = self.browser
            else:
                self.browser = sender
                target = self.worker
            if target is None or (128 <= data[0] <= 191 and random.random() < self.drop):
                continue
            self.socket.sendto(data, target)
            self.forwarded += 1

    def rewrite_answer(self, sdp: str) -> str:
        """The worker's answer with the relay as its one candidate (the worker's own is kept here)."""
        for host, port in CANDIDATE_LINE.findall(sdp):
            if ":" not in host and not host.startswith("127."):
                self.worker = (host, int(port))
                break
        assert self.worker, sdp
        relay = f"a=candidate:1 1 udp 2130706431 {self.address[0]} {self.address[1]} typ host\r\n"
        return re.sub(r"(a=mid:[^\r\n]*\r\n)", lambda mid: mid.group(1) + relay, ANY_CANDIDATE.sub("", sdp))

    def close(self) -> None:
        self._running = False
        self.socket.close()
        self._thread.join(timeout=2)


@pytest.fixture
def relay() -> Iterator[LossyRelay]:
    forwarder = LossyRelay(machine_address())
    yield forwarder
    forwarder.close()


def route_media_through(page: Page, relay: LossyRelay, offers: list[str]) -> None:
    """Every websocket of the page passes through the test: offers are kept, the worker's
    answers name the relay, and any trickled worker candidate is dropped."""

    def handle(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()

        def from_page(message: str | bytes) -> None:
            if isinstance(message, str) and '"offer"' in message:
                offers.append(json.loads(message)["sdp"])
            server.send(message)

        def from_server(message: str | bytes) -> None:
            if isinstance(message, str):
                body = json.loads(message)
                if body.get("type") == "answer":
                    body["sdp"] = relay.rewrite_answer(body["sdp"])
                    message = json.dumps(body)
                elif body.get("type") == "candidate":
                    return
            ws.send(message)

        ws.on_message(from_page)
        server.on_message(from_server)

    page.route_web_socket(re.compile(r"^wss?://"), handle)


def patient_in_a_call(
    browser: Browser, run: LocalRun, errors: PageErrors, relay: LossyRelay | None = None
) -> tuple[Page, Page, list[str]]:
    ada, name, email = ada_invites_a_patient(browser, run, errors)
    patient = new_page(browser, errors, width=390, height=844)
    offers: list[str] = []
    if relay is not None:
        route_media_through(patient, relay, offers)
    patient.goto(mailed_link(run, email))
    the_row = row(ada, name)
    expect(the_row).to_have_attribute("data-status", "waiting")
    the_row.click()
    ada.get_by_test_id("call-button").click()
    frames_grow(ada)
    frames_grow(patient)
    return ada, patient, offers


def test_the_quality_indicator_follows_a_line_that_degrades_and_recovers(
    browser: Browser, local_run: LocalRun, page_errors: PageErrors, relay: LossyRelay
) -> None:
    ada, patient, offers = patient_in_a_call(browser, local_run, page_errors, relay)
    assert relay.forwarded > 100, "the patient's media did not pass the test relay"
    # Offers list both codecs the worker forwards without re-encoding, VP8 first.
    assert offers and all(re.search(r"a=rtpmap:\d+ VP8/90000", sdp) for sdp in offers)
    assert all(re.search(r"a=rtpmap:\d+ H264/90000", sdp) for sdp in offers)
    indicator = patient.get_by_test_id("quality-indicator")
    expect(indicator).to_have_attribute("data-level", "good", timeout=20000)
    expect(indicator).to_contain_text("good")
    expect(ada.get_by_test_id("quality-indicator")).to_have_attribute("data-level", "good", timeout=20000)

    relay.drop = 0.5
    expect(indicator).to_have_attribute("data-level", "poor", timeout=30000)
    expect(indicator).to_contain_text("poor")
    seen_by_clinician = ada.get_by_test_id("remote-quality")
    expect(seen_by_clinician).to_have_attribute("data-level", "poor", timeout=10000)
    expect(seen_by_clinician).to_contain_text("The patient's connection: poor")
    # Poor for 10 s: audio only is suggested.
    expect(patient.get_by_test_id("audio-only-suggestion")).to_be_visible(timeout=20000)

    relay.drop = 0.0
    expect(indicator).to_have_attribute("data-level", "good", timeout=40000)
    expect(seen_by_clinician).to_have_attribute("data-level", "good", timeout=10000)
    expect(patient.get_by_test_id("audio-only-suggestion")).to_be_hidden()
    frames_grow(ada)
    assert not page_errors.errors


def frames_stand_still(page: Page) -> None:
    video = page.get_by_test_id("remote-video")
    page.wait_for_timeout(1500)
    before = video.evaluate(FRAMES)
    page.wait_for_timeout(2000)
    assert video.evaluate(FRAMES) - before < 5


def test_audio_only_stops_the_video_and_tells_the_other_side(
    browser: Browser, local_run: LocalRun, page_errors: PageErrors
) -> None:
    ada, patient, _ = patient_in_a_call(browser, local_run, page_errors)
    button = patient.get_by_test_id("audio-only-button")
    button.click()
    expect(button).to_have_attribute("aria-pressed", "true")
    told = ada.get_by_test_id("remote-video-off")
    expect(told).to_be_visible()
    expect(told).to_have_attribute("data-reason", "audio_only")
    expect(told).to_contain_text("Audio only")
    frames_stand_still(ada)
    frames_grow(patient)  # the patient still receives the clinician's video

    button.click()
    expect(button).to_have_attribute("aria-pressed", "false")
    expect(told).to_be_hidden()
    frames_grow(ada)

    clinician_button = ada.get_by_test_id("audio-only-button")
    clinician_button.focus()
    ada.keyboard.press("Enter")
    expect(clinician_button).to_have_attribute("aria-pressed", "true")
    expect(patient.get_by_test_id("remote-video-off")).to_contain_text("Audio only")
    frames_stand_still(patient)
    assert not page_errors.errors


HIDE = """() => {
  Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" });
  Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
  document.dispatchEvent(new Event("visibilitychange"));
}"""
SHOW = """() => {
  delete document.visibilityState;
  delete document.hidden;
  document.dispatchEvent(new Event("visibilitychange"));
}"""


def test_a_patient_page_in_the_background_shows_camera_paused_and_recovers(
    browser: Browser, local_run: LocalRun, page_errors: PageErrors
) -> None:
    ada, patient, _ = patient_in_a_call(browser, local_run, page_errors)
    patient.evaluate(HIDE)
    told = ada.get_by_test_id("remote-video-off")
    expect(told).to_contain_text("Camera paused")
    expect(told).to_have_attribute("data-reason", "background")
    frames_stand_still(ada)

    patient.evaluate(SHOW)
    expect(told).to_be_hidden()
    frames_grow(ada)
    assert not page_errors.errors


def test_an_in_app_browser_is_told_to_open_the_link_in_safari_with_a_copy_button(
    browser: Browser, local_run: LocalRun, page_errors: PageErrors
) -> None:
    _, _, email = ada_invites_a_patient(browser, local_run, page_errors)
    link = mailed_link(local_run, email)
    patient = new_page(
        browser,
        page_errors,
        width=390,
        height=844,
        user_agent=INSTAGRAM_ON_IPHONE,
        permissions=["clipboard-read", "clipboard-write"],
    )
    patient.goto(link)
    notice = patient.get_by_test_id("in-app-notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("inside Instagram")
    expect(notice).to_contain_text("Open it in Safari")
    patient.get_by_test_id("copy-link").click()
    expect(notice).to_contain_text("Link copied")
    assert patient.evaluate("navigator.clipboard.readText()") == link
    # The waiting room still works behind the notice.
    expect(patient.get_by_test_id("waiting-status")).to_contain_text("waiting room")

    desktop = new_page(browser, page_errors)
    desktop.goto(link)
    expect(desktop.get_by_test_id("waiting-status")).to_contain_text("waiting room")
    expect(desktop.get_by_test_id("in-app-notice")).to_be_hidden()
    assert not page_errors.errors
