"""Calls over TURN with Debian's coturn, started here with `use-auth-secret` and the local
run's per-call credentials: relayed candidates only, and a browser that may not use UDP."""

from __future__ import annotations

import base64
import hashlib
import hmac
import shutil
import time
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect

from chalicelib import settings_names as app_settings
from tests.browser.conftest import CHROMIUM_FLAGS, PageErrors, chromium_path, new_page
from tests.browser.test_firefox import firefox_frames_grow, hold_the_rest_of_the_visit
from tests.browser.test_schedule import ada_invites_a_patient, mailed_link, row
from tests.browser.test_visit import frames_grow
from tests.local.conftest import LocalRun, started_local_run
from tests.local.coturn import Turn, coturn

# Keeps every RTCPeerConnection a page makes, so that the test can read its statistics.
RECORD_PEERS = """
  const Native = window.RTCPeerConnection;
  window.__peers = [];
  window.RTCPeerConnection = class extends Native {
    constructor(...args) { super(...args); window.__peers.push(this); }
  };
"""
# The local candidates a page gathered, and the one of the pair ICE chose.
CANDIDATES = """async () => {
  const pc = window.__peers[window.__peers.length - 1];
  const stats = await pc.getStats();
  let pair = null;
  const all = [];
  stats.forEach((s) => {
    if (s.type === "transport" && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId);
    if (s.type === "local-candidate") {
      all.push({ type: s.candidateType, protocol: s.protocol, relayProtocol: s.relayProtocol });
    }
  });
  const local = pair && stats.get(pair.localCandidateId);
  return { local: local && { type: local.candidateType, relayProtocol: local.relayProtocol }, all };
}"""


@pytest.fixture(scope="module")
def turn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Turn]:
    if shutil.which("turnserver") is None:
        pytest.fail("Debian's coturn is not installed: `make test` installs it (apt-get install coturn)")
    with coturn(tmp_path_factory.mktemp("coturn")) as running:
        yield running


@pytest.fixture(scope="module")
def relay_run(tmp_path_factory: pytest.TempPathFactory, turn: Turn) -> Iterator[LocalRun]:
    urls = f"turn:127.0.0.1:{turn.port}?transport=udp,turn:127.0.0.1:{turn.port}?transport=tcp"
    settings = {
        app_settings.TURN_URLS: urls,
        app_settings.TURN_SECRET: turn.secret,
        app_settings.ICE_TRANSPORT_POLICY: "relay",
    }
    with started_local_run(tmp_path_factory, settings) as run:
        yield run


def call_between(
    ada_browser: Browser,
    patient_browser: Browser,
    run: LocalRun,
    errors: PageErrors,
    patient_frames_grow: Callable[[Page], None] = frames_grow,
) -> tuple[Page, Page]:
    ada, name, email = ada_invites_a_patient(ada_browser, run, errors)
    ada.add_init_script(RECORD_PEERS)
    ada.reload()
    ada.get_by_test_id("invite-button").wait_for()
    patient = new_page(patient_browser, errors, width=390, height=844)
    patient.add_init_script(RECORD_PEERS)
    patient.goto(mailed_link(run, email))
    the_row = row(ada, name)
    expect(the_row).to_have_attribute("data-status", "waiting")
    the_row.click()
    ada.get_by_test_id("call-button").click()
    frames_grow(ada)
    patient_frames_grow(patient)
    return ada, patient


def test_relay_only_visit_gets_video_both_ways_through_coturn(
    browser: Browser, relay_run: LocalRun, turn: Turn, page_errors: PageErrors
) -> None:
    ada, patient = call_between(browser, browser, relay_run, page_errors)
    for page in (ada, patient):
        seen = page.evaluate(CANDIDATES)
        assert seen["all"] and {c["type"] for c in seen["all"]} == {"relay"}, seen
        assert seen["local"]["type"] == "relay", seen
    assert "ALLOCATE processed, success" in turn.log_text()
    assert not page_errors.errors


def test_a_browser_that_may_not_use_udp_gets_the_call_over_turn_tcp(
    playwright: Playwright, browser: Browser, relay_run: LocalRun, turn: Turn, page_errors: PageErrors
) -> None:
    no_udp = playwright.chromium.launch(
        executable_path=chromium_path(),
        args=[*CHROMIUM_FLAGS, "--webrtc-ip-handling-policy=disable_non_proxied_udp"],
    )
    try:
        ada, patient = call_between(browser, no_udp, relay_run, page_errors)
        seen = patient.evaluate(CANDIDATES)
        # Debian's Chromium honours this spelling of the flag: no UDP of its own at all.
        assert seen["all"] and all(c["relayProtocol"] == "tcp" for c in seen["all"]), seen
        assert seen["local"] == {"type": "relay", "relayProtocol": "tcp"}, seen
        hold_the_rest_of_the_visit(ada, patient)
    finally:
        no_udp.close()
    assert not page_errors.errors


def test_coturn_refuses_a_wrong_or_expired_credential(turn: Turn) -> None:
    import asyncio

    from aioice.stun import TransactionFailed
    from aioice.turn import create_turn_endpoint

    from tests.threads import run_async

    def credential(expires: int, secret: str) -> tuple[str, str]:
        username = f"{expires}:test"
        digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
        return username, base64.b64encode(digest).decode()

    async def allocate(username: str, password: str) -> bool:
        try:
            transport, _ = await create_turn_endpoint(
                asyncio.DatagramProtocol, ("127.0.0.1", turn.port), username, password
            )
        except TransactionFailed:
            return False
        transport.close()
        return True

    later, earlier = int(time.time()) + 600, int(time.time()) - 60
    assert run_async(lambda: allocate(*credential(later, turn.secret)))
    assert not run_async(lambda: allocate(*credential(later, "another secret")))
    assert not run_async(lambda: allocate(*credential(earlier, turn.secret)))


def test_a_patient_in_firefox_gets_the_call_over_relay_only(
    browser: Browser, firefox: Browser, relay_run: LocalRun, turn: Turn, page_errors: PageErrors
) -> None:
    ada, patient = call_between(browser, firefox, relay_run, page_errors, firefox_frames_grow)
    seen = patient.evaluate(CANDIDATES)
    assert seen["all"] and {c["type"] for c in seen["all"]} == {"relay"}, seen
    hold_the_rest_of_the_visit(ada, patient)
    assert not page_errors.errors


def test_without_turn_a_patient_whose_network_blocks_udp_is_told_why_and_so_is_the_clinician(
    playwright: Playwright, browser: Browser, local_run: LocalRun, page_errors: PageErrors
) -> None:
    no_udp = playwright.chromium.launch(
        executable_path=chromium_path(),
        args=[*CHROMIUM_FLAGS, "--webrtc-ip-handling-policy=disable_non_proxied_udp"],
    )
    try:
        ada, name, email = ada_invites_a_patient(browser, local_run, page_errors)
        patient = new_page(no_udp, page_errors, width=390, height=844)
        patient.goto(mailed_link(local_run, email))
        the_row = row(ada, name)
        # A browser launched just now, beside two local runs: give its first connect time.
        expect(the_row).to_have_attribute("data-status", "waiting", timeout=45000)
        the_row.click()
        ada.get_by_test_id("call-button").click()
        expect(patient.get_by_test_id("call-state")).to_contain_text(
            "network may block video calls", timeout=60000
        )
        expect(ada.get_by_test_id("patient-connection")).to_be_visible()
        expect(ada.get_by_test_id("patient-connection")).to_contain_text("could not connect")
    finally:
        no_udp.close()
    assert not page_errors.errors
