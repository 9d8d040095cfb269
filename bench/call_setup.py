"""Call setup, for bench/calls.py: one call after another between Ada's schedule and a
patient's waiting room, in Chromium.

Call setup is measured in Debian's Chromium, on the product's own pages (the clinician's
schedule and the patient's waiting room, driven as in tests/browser): a real browser's setup
is what a clinician waits for, with everything aiortc would not show: Chromium's own ICE
gathering and TURN allocation, the pages' wait for gathering (up to 1.5 s, rtc.js), DTLS, the
jitter buffer and the VP8 decoder. An init script records, in each page, when the clinician's
page sends `call`, when each page receives it, sends its offer, has its answer, is connected,
and the first decoded frame of the remote <video> (`requestVideoFrameCallback`: the time the
frame was handed to the compositor, after decoding). Times are `performance.timeOrigin +` a
page's clock, so the patient's first frame can be taken from the clinician's `call`; both
sides are printed. Each call's selected candidate pair is read from `getStats()` on both pages,
so that a path that silently fell back (or failed) shows. One call per path warms up first (a
fresh worker and browser) and is left out: the figures are of a worker that has had a visit.
Calls are paced to API.md's 20 messages in 10 s per connection (Ada's page sends 5 a call; back
to back, the fifth `take` would be `rate_limited`). A call that fails is listed, not timed.
On this machine coturn is on loopback: relaying adds its allocation and its hop, not the
round trips to a TURN server far away that a real network would.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from bench.stack import invite_many, launch_chromium, log_in_to_schedule, login, percentile

# The pages' first decoded frame is waited for this long (a page gives up connecting after 20 s).
FIRST_FRAME_TIMEOUT_MS = 30_000
# API.md: each connection may send at most 20 messages in any 10 seconds (pings excluded); a
# call costs Ada's page 5 (take, call, offer, media_state, hangup): room for late candidates.
RATE_LIMIT, RATE_WINDOW_S, CALL_MESSAGES = 20, 10, 8

# Runs in every page before its own scripts. Times are milliseconds since the epoch, from the
# page's high-resolution clock (performance.timeOrigin + performance.now()).
PAGE_PROBE = """
(() => {
  const at = () => performance.timeOrigin + performance.now();
  const bench = (window.__bench = {
    events: {}, errors: [], peers: [], sent: [], watching: false,
    reset() { this.events = {}; this.errors = []; this.sent = []; this.watching = false; },
  });
  const stamp = (name, value) => { if (!(name in bench.events)) bench.events[name] = value ?? at(); };
  const watchFirstFrame = () => {
    const video = document.getElementById("remote-video");
    if (!video || bench.watching) return;
    bench.watching = true;
    video.requestVideoFrameCallback((now, meta) => {
      if (meta.receiveTime) stamp("first_frame_received", performance.timeOrigin + meta.receiveTime);
      stamp("first_frame", performance.timeOrigin + meta.presentationTime);
    });
  };
  const NativeSocket = window.WebSocket;
  window.WebSocket = class extends NativeSocket {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (event) => {
        let message;
        try { message = JSON.parse(event.data); } catch { return; }
        if (message.type === "call") { stamp("call_received"); watchFirstFrame(); }
        else if (message.type === "answer") stamp("answer_received");
        else if (message.type === "error" || message.type === "call_failed") bench.errors.push(message);
      });
    }
    send(data) {
      try {
        const message = JSON.parse(data);
        bench.sent.push([message.type, at()]);
        if (message.type === "call") stamp("call_sent");
        else if (message.type === "offer") stamp("offer_sent");
      } catch {}
      return super.send(data);
    }
  };
  const NativePeer = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends NativePeer {
    constructor(...args) {
      super(...args);
      bench.peers.push(this);
      this.addEventListener("icegatheringstatechange", () => {
        if (this.iceGatheringState === "complete") stamp("gathered");
      });
      this.addEventListener("connectionstatechange", () => {
        if (this.connectionState === "connected") stamp("connected");
      });
    }
  };
})();
"""
# The candidate pair ICE chose on the page's latest peer connection.
SELECTED_PAIR = """async () => {
  const pc = window.__bench.peers[window.__bench.peers.length - 1];
  if (!pc) return null;
  const stats = await pc.getStats();
  let pair = null;
  stats.forEach((s) => {
    if (s.type === "transport" && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId);
  });
  if (!pair) return null;
  const local = stats.get(pair.localCandidateId), remote = stats.get(pair.remoteCandidateId);
  return {
    local: local.candidateType, protocol: local.protocol, relay_protocol: local.relayProtocol || null,
    remote: remote.candidateType,
  };
}"""
PROBED = "() => ({events: window.__bench.events, errors: window.__bench.errors, sent: window.__bench.sent})"
STEPS = ("call_received", "offer_sent", "gathered", "answer_received", "connected", "first_frame_received")
EXPECTED_PAIR: dict[str, Callable[[dict[str, Any]], bool]] = {
    "direct": lambda p: p["local"] in ("host", "prflx"),
    "relay_udp": lambda p: p["local"] == "relay" and p["relay_protocol"] == "udp",
    "relay_tcp": lambda p: p["local"] == "relay" and p["relay_protocol"] == "tcp",
}


def chromium_setups(base: str, path: str, calls: int) -> dict[str, Any]:
    """`calls` calls (and one warm-up) between Ada's schedule and a patient's waiting room."""
    from playwright.sync_api import sync_playwright

    result: dict[str, Any] = {"samples": [], "selected_pairs": {}, "unexpected_pairs": [], "failed": []}
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        clinic = browser.new_context(viewport={"width": 1280, "height": 860})
        clinic.set_default_timeout(30_000)
        clinic.add_init_script(PAGE_PROBE)
        ada = clinic.new_page()
        log_in_to_schedule(ada, base)
        token = login(base, "ada@clinic.example")
        # A failed call is counted and another one made, up to three more than asked for.
        appointments = iter(invite_many(base, token, calls + 4, path))
        index = 0
        sent: list[float] = []  # when Ada's page sent each message that the rate limit counts
        while len(result["samples"]) < calls and len(result["failed"]) <= 3:
            appointment_id, link = next(appointments)
            keep_under_rate_limit(sent)
            sample = one_call(browser, ada, base, path, appointment_id, link, result)
            probed = ada.evaluate(PROBED)
            sent += [at / 1000 for kind, at in probed["sent"] if kind != "ping"]
            if sample is not None and index > 0:  # the first call warms the worker and browser up
                result["samples"].append(sample)
            index += 1
        browser.close()
    return result


def keep_under_rate_limit(sent: list[float]) -> None:
    """Waits until Ada's connection may send a whole call's messages (take, call, offer,
    candidates, media_state, quality, hangup) within API.md's limit of 20 in any 10 seconds:
    back-to-back calls in a few seconds each would get `rate_limited`, as a person never would."""
    window, limit, per_call = RATE_WINDOW_S + 0.5, RATE_LIMIT, CALL_MESSAGES
    recent = sorted(t for t in sent if t > time.time() - window)
    if len(recent) > limit - per_call:
        time.sleep(max(0.0, recent[len(recent) - (limit - per_call)] + window - time.time()))


def one_call(
    browser: Any, ada: Any, base: str, path: str, appointment_id: str, link: str, result: dict[str, Any]
) -> dict[str, float] | None:
    """One call, as a person makes it: the patient waits with the camera on, Ada takes the
    appointment and presses the phone; both pages' first frames; Ada leaves the session."""
    from playwright.sync_api import expect

    home, patient = waiting_patient(browser, base, link)
    try:
        row = take_and_call(ada, appointment_id, result)
        if row is None:
            return None
        pages = (("clinician", ada), ("patient", patient))
        sides = first_frames(pages)
        _count_pairs(pages, path, appointment_id, result)
        complete = all("first_frame" in side["events"] for side in sides.values())
        errors = sides["clinician"]["errors"] + sides["patient"]["errors"]
        if errors or not complete:
            result["failed"].append(
                {
                    "appointment": appointment_id,
                    "errors": errors,
                    "clinician_sent": [m[0] for m in sides["clinician"]["sent"]],
                    "events_ms": _timeline(*_events(sides)),
                }
            )
        ada.get_by_test_id("hangup-button").click()
        ada.get_by_test_id("hangup-leave").click()
        expect(row).to_have_attribute("data-status", "completed")
        return _timeline(*_events(sides)) if complete and not errors else None
    finally:
        home.close()


def waiting_patient(browser: Any, base: str, link: str, *init_scripts: str) -> tuple[Any, Any]:
    """A patient's phone-sized context and page in the waiting room (with the probe and any
    further init scripts), the camera on, as a patient's is before the clinician calls."""
    home = browser.new_context(viewport={"width": 390, "height": 844})
    home.set_default_timeout(30_000)
    for script in (PAGE_PROBE, *init_scripts):
        home.add_init_script(script)
    try:
        patient = home.new_page()
        patient.goto(f"{base}/visit/{link}")
        patient.wait_for_function("() => document.getElementById('local-video').videoWidth > 0")
    except BaseException:
        home.close()
        raise
    return home, patient


def take_and_call(ada: Any, appointment_id: str, result: dict[str, Any]) -> Any:
    """Ada takes the waiting patient's row (the session opens in place) and presses the phone;
    the row, or None if the session did not open (listed in `result["failed"]`)."""
    from playwright.sync_api import expect

    row = ada.locator(f'[data-testid="appointment-row"][data-appointment-id="{appointment_id}"]')
    expect(row).to_have_attribute("data-status", "waiting")
    ada.evaluate("() => window.__bench.reset()")
    row.click()
    if not _session_opened(ada, row, appointment_id, result):
        return None
    ada.get_by_test_id("call-button").click()
    return row


def _session_opened(ada: Any, row: Any, appointment_id: str, result: dict[str, Any]) -> bool:
    """Whether Ada's take opened the session (its call button); if not, the failure is listed."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        ada.get_by_test_id("call-button").wait_for()
    except PlaywrightTimeout:
        probed = ada.evaluate(PROBED)
        result["failed"].append(
            {
                "appointment": appointment_id,
                "stage": "take: the session did not open",
                "errors": probed["errors"],
                "clinician_sent": [m[0] for m in probed["sent"]],
                "row_status": row.get_attribute("data-status"),
            }
        )
        return False
    return True


def first_frames(pages: tuple[tuple[str, Any], ...]) -> dict[str, Any]:
    """Waits for each page's first frame (or an error), then what each page's probe recorded."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    wait = "() => 'first_frame' in window.__bench.events || window.__bench.errors.length > 0"
    try:
        for _, page in pages:
            page.wait_for_function(wait, timeout=FIRST_FRAME_TIMEOUT_MS)
    except PlaywrightTimeout:
        pass
    return {role: page.evaluate(PROBED) for role, page in pages}


def _count_pairs(
    pages: tuple[tuple[str, Any], ...], path: str, appointment_id: str, result: dict[str, Any]
) -> None:
    """Each page's selected candidate pair, counted; one this path should not use, listed."""
    for role, page in pages:
        pair = page.evaluate(SELECTED_PAIR)
        key = f"{role}: {describe(pair)}"
        result["selected_pairs"][key] = result["selected_pairs"].get(key, 0) + 1
        if not pair or not EXPECTED_PAIR[path](pair):
            result["unexpected_pairs"].append({"appointment": appointment_id, "role": role, "pair": pair})


def _events(sides: dict[str, Any]) -> tuple[dict[str, float], dict[str, float]]:
    return sides["clinician"]["events"], sides["patient"]["events"]


def describe(pair: dict[str, Any] | None) -> str:
    if not pair:
        return "no candidate pair"
    local = f"{pair['local']}/{pair['protocol']}"
    if pair["relay_protocol"]:
        local += f" (to TURN over {pair['relay_protocol']})"
    return f"{local} -> {pair['remote']}"


def _timeline(clinician: dict[str, float], patient: dict[str, float]) -> dict[str, float]:
    """Milliseconds from the clinician's `call` to each step of each side."""
    t0 = clinician.get("call_sent", 0.0)
    steps = (*STEPS, "first_frame")
    return {
        f"{role}.{step}": events[step] - t0
        for role, events in (("clinician", clinician), ("patient", patient))
        for step in steps
        if step in events
    }


def setup_summary(samples: list[dict[str, float]]) -> dict[str, Any]:
    def summary(key: str) -> dict[str, float]:
        values = [s[key] for s in samples if key in s]
        if not values:
            return {}
        return {"p50": round(statistics.median(values), 1), "p95": round(percentile(values, 95), 1)}

    both = [max(s["patient.first_frame"], s["clinician.first_frame"]) for s in samples]
    steps = STEPS
    return {
        "n": len(samples),
        "patient_first_frame_ms": summary("patient.first_frame"),
        "clinician_first_frame_ms": summary("clinician.first_frame"),
        "both_first_frames_ms": {
            "p50": round(statistics.median(both), 1),
            "p95": round(percentile(both, 95), 1),
        },
        "steps_p50_ms": {
            role: {step: summary(f"{role}.{step}").get("p50") for step in steps}
            for role in ("clinician", "patient")
        },
    }
