"""Call setup for a guest joining a running session (issue 13), in Chromium on the product's pages.

The figure the issue asks for is what a guest and the two already in the call wait for, so it
is measured through the whole local run (server, websocket, the media worker's forwarding) in
Debian's Chromium, as bench/call_setup.py measures a call of two; bench/many_party.py's
`guest_join_setup` is the worker's share alone (aiortc peers, no page, server or decoder).

A call of two runs as call_setup.py makes one: the patient waits with the camera on, Ada takes
the row on her schedule page and presses the phone, both see each other. Then, per trial, Ada
adds an interpreter (`POST /api/appointments/{id}/guests` with her bearer token), the guest's
link is read from the local mailbox (the newest mail to the guest's address, as
tests/browser/test_guests.py reads it) and opened in a new Chromium context with a fake camera
and microphone. Timed from two starts in the guest's page: its navigation
(`performance.timeOrigin`: loading the page, the device check, the websocket, the guest's
`call`) and its receipt of `call` (the media alone: offer, ICE gathering, answer, DTLS, and the
two others offering again with the guest's m-lines, as pages do on `participants`), to four
first decoded frames (`requestVideoFrameCallback`, the frame handed to the compositor): the
clinician's and the patient's `participant-tile` in the guest's page, and the guest's tile in
Ada's page and in the patient's; `all` is the latest of the four. Times are
`performance.timeOrigin +` each page's clock, comparable across pages as in call_setup.py.

The same running session serves every trial: the guest is removed (`DELETE .../guests/{id}`;
at most 2 guests at a time), both other pages are back to one tile and settled, and the guest's
context is closed before the next one. The first join warms up (the worker's first visit of
three) and is left out (shown as `warm_up_ms`). Ada's and the patient's pages offer again on
each join and each leave, so trials are paced to API.md's 20 messages in 10 s per connection as
call_setup.py paces calls. A trial that fails is listed, not timed.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

from bench.call_setup import (
    FIRST_FRAME_TIMEOUT_MS,
    PAGE_PROBE,
    first_frames,
    keep_under_rate_limit,
    take_and_call,
    waiting_patient,
)
from bench.media import WORKER_SETTINGS
from bench.stack import invite_many, launch_chromium, log_in_to_schedule, login, percentile, started_run
from chalicelib import settings_names as app_settings
from tests.browser.test_guests import TILES, guest_link
from tests.local.conftest import LocalRun

# In each page besides PAGE_PROBE: the first decoded frame of every `participant-tile`'s video
# since the last `reset()`, by the tile's data-role. A MutationObserver watches tiles as soon
# as the page makes them, before their first frame.
TILE_PROBE = """
(() => {
  const tiles = (window.__tiles = { generation: 0, frames: {}, watched: new WeakMap() });
  const watch = (video) => {
    if (tiles.watched.get(video) === tiles.generation) return;
    const generation = tiles.generation;
    tiles.watched.set(video, generation);
    video.requestVideoFrameCallback((now, meta) => {
      if (generation !== tiles.generation) return;
      const role = video.closest('[data-testid="participant-tile"]')?.dataset.role;
      if (!role) { tiles.watched.delete(video); watch(video); return; }
      if (!(role in tiles.frames)) tiles.frames[role] = performance.timeOrigin + meta.presentationTime;
    });
  };
  const scan = () => document.querySelectorAll('[data-testid="participant-tile"] video').forEach(watch);
  tiles.reset = () => { tiles.generation += 1; tiles.frames = {}; scan(); };
  new MutationObserver(scan).observe(document, { childList: true, subtree: true });
})();
"""
PROBED = """() => {
  const nav = performance.getEntriesByType("navigation")[0], origin = performance.timeOrigin;
  const end = nav ? nav.domContentLoadedEventEnd : 0, loaded = end ? {page_loaded: origin + end} : {};
  const events = {...window.__bench.events, ...loaded};
  return {origin, frames: window.__tiles.frames, events, errors: window.__bench.errors};
}"""
# (figure, whose page, whose tile in it)
SEEN = (
    ("guest_sees_clinician", "guest", "clinician"),
    ("guest_sees_patient", "guest", "patient"),
    ("clinician_sees_guest", "clinician", "guest"),
    ("patient_sees_guest", "patient", "guest"),
)
GUEST_STEPS = (
    "page_loaded",
    "call_sent",
    "call_received",
    "offer_sent",
    "gathered",
    "answer_received",
    "connected",
)


class Guests:
    """Ada's REST calls for the appointment's guests, with her bearer token."""

    def __init__(self, run: LocalRun, appointment_id: str) -> None:
        self.run = run
        self.url = run.url(f"/api/appointments/{appointment_id}/guests")
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {login(run.base_url, 'ada@clinic.example')}"

    def add(self, trial: int) -> tuple[str, str]:
        """An interpreter invited; their id and the mailed link."""
        email = f"bench.interpreter.{trial}@example.com"
        body = {"name": f"Interpreter {trial}", "email": email, "role": "interpreter"}
        added = self.session.post(self.url, json=body, timeout=30)
        added.raise_for_status()
        return str(added.json()["id"]), guest_link(self.run, email)

    def remove(self, guest_id: str) -> None:
        self.session.delete(f"{self.url}/{guest_id}", timeout=30).raise_for_status()


def running_call(browser: Any, base: str) -> tuple[Any, Any, str]:
    """Ada's page and the patient's, in a call whose first frames both have: (ada, patient,
    appointment id). The patient's context closes with the browser."""
    clinic = browser.new_context(viewport={"width": 1280, "height": 860})
    clinic.set_default_timeout(30_000)
    for script in (PAGE_PROBE, TILE_PROBE):
        clinic.add_init_script(script)
    ada = clinic.new_page()
    log_in_to_schedule(ada, base)
    [(appointment_id, link)] = invite_many(base, login(base, "ada@clinic.example"), 1, "guestjoin")
    _, patient = waiting_patient(browser, base, link, TILE_PROBE)
    opened: dict[str, Any] = {"failed": []}
    if take_and_call(ada, appointment_id, opened) is None:
        raise RuntimeError(f"the session did not open: {opened['failed']}")
    sides = first_frames((("clinician", ada), ("patient", patient)))
    if not all("first_frame" in side["events"] for side in sides.values()):
        raise RuntimeError(f"the call of two did not start: {sides}")
    return ada, patient, appointment_id


def one_join(browser: Any, guests: Guests, others: dict[str, Any], trial: int) -> dict[str, Any]:
    """The guest joins, the four first frames (or a timeout), the guest removed again: what
    each page recorded, by role."""
    for page in others.values():
        page.evaluate("() => { window.__bench.reset(); window.__tiles.reset(); }")
    guest_id, link = guests.add(trial)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(30_000)
    for script in (PAGE_PROBE, TILE_PROBE):
        context.add_init_script(script)
    try:
        guest = context.new_page()
        guest.goto(link)
        pages = {"guest": guest, **others}
        _wait_for_frames(pages)
        return {role: page.evaluate(PROBED) for role, page in pages.items()}
    finally:
        try:
            guests.remove(guest_id)
            _settled(others)
        finally:
            context.close()


def _wait_for_frames(pages: dict[str, Any]) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    wanted = {viewer: [shown for _, v, shown in SEEN if v == viewer] for viewer in pages}
    wait = "roles => roles.every((r) => r in window.__tiles.frames) || window.__bench.errors.length > 0"
    deadline = time.monotonic() + FIRST_FRAME_TIMEOUT_MS / 1000
    try:
        for viewer, page in pages.items():
            left = max(1.0, deadline - time.monotonic()) * 1000
            page.wait_for_function(wait, arg=wanted[viewer], timeout=left)
    except PlaywrightTimeout:
        pass


def _settled(others: dict[str, Any]) -> None:
    """Ada's and the patient's pages back to one tile, their offer without the guest answered."""
    from playwright.sync_api import expect

    for page in others.values():
        expect(page.locator(TILES)).to_have_count(1, timeout=20_000)
    time.sleep(2)  # the pages offer again after `participants`; let that offer go out
    stable = """() => { const pc = window.__bench.peers[window.__bench.peers.length - 1];
      return pc.signalingState === "stable" && pc.connectionState === "connected"; }"""
    for page in others.values():
        page.wait_for_function(stable, timeout=20_000)


def timeline(sides: dict[str, Any]) -> dict[str, float]:
    """Milliseconds from the guest page's navigation (`from_open.`) and from its receipt of
    `call` (`from_call.`) to each first frame, and the guest page's steps from its navigation."""
    guest = sides["guest"]
    starts = {"from_open": guest["origin"], "from_call": guest["events"].get("call_received")}
    seen = {name: sides[viewer]["frames"].get(shown) for name, viewer, shown in SEEN}
    if all(at is not None for at in seen.values()):
        seen["all"] = max(seen.values())
    sample = {
        f"{start}.{name}": at - t0
        for start, t0 in starts.items()
        if t0 is not None
        for name, at in seen.items()
        if at is not None
    }
    for step in GUEST_STEPS:
        if step in guest["events"]:
            sample[f"guest_steps_from_open.{step}"] = guest["events"][step] - guest["origin"]
    return sample


def chromium_guest_joins(run: LocalRun, joins: int) -> dict[str, Any]:
    """One warm-up join and `joins` timed ones (and up to three more for failures)."""
    from playwright.sync_api import sync_playwright

    result: dict[str, Any] = {"samples": [], "failed": [], "warm_up": None}
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        ada, patient, appointment_id = running_call(browser, run.base_url)
        guests = Guests(run, appointment_id)
        others = {"clinician": ada, "patient": patient}
        sent: dict[str, list[float]] = {role: [] for role in others}
        trial = 0
        while len(result["samples"]) < joins and len(result["failed"]) <= 3:
            for role in others:
                keep_under_rate_limit(sent[role])
            sides = one_join(browser, guests, others, trial)
            for role, page in others.items():
                probed = page.evaluate("() => window.__bench.sent.splice(0)")
                sent[role] += [at / 1000 for kind, at in probed if kind != "ping"]
            _record(result, trial, sides)
            trial += 1
        browser.close()
    return result


def _record(result: dict[str, Any], trial: int, sides: dict[str, Any]) -> None:
    """A trial's sample (the first complete one is the warm-up), or its failure listed."""
    sample = timeline(sides)
    errors = [e for side in sides.values() for e in side["errors"]]
    if errors or "from_call.all" not in sample:
        events = _rounded(sample)
        result["failed"].append({"trial": trial, "errors": errors, "events_ms": events})
    elif result["warm_up"] is None:
        result["warm_up"] = sample
    else:
        result["samples"].append(sample)


def _rounded(sample: dict[str, float]) -> dict[str, float]:
    return {key: round(value, 1) for key, value in sample.items()}


def join_summary(samples: list[dict[str, float]]) -> dict[str, Any]:
    def summary(key: str) -> dict[str, float]:
        values = [s[key] for s in samples if key in s]
        if not values:
            return {}
        return {
            "p50": round(statistics.median(values), 1),
            "p95": round(percentile(values, 95), 1),
            "max": round(max(values), 1),
        }

    names = (*(name for name, _, _ in SEEN), "all")
    return {
        "n": len(samples),
        "from_guest_page_opened_ms": {name: summary(f"from_open.{name}") for name in names},
        "from_guest_call_received_ms": {name: summary(f"from_call.{name}") for name in names},
        "guest_page_steps_from_opened_p50_ms": {
            step: summary(f"guest_steps_from_open.{step}").get("p50") for step in GUEST_STEPS
        },
    }


def run(joins: int) -> dict[str, Any]:
    started = time.monotonic()
    settings = {**WORKER_SETTINGS, app_settings.LOG_LEVEL: "WARNING"}
    with (
        tempfile.TemporaryDirectory(prefix="bench-guest-join-") as tmp,
        started_run(settings, Path(tmp)) as local,
    ):
        result = chromium_guest_joins(local, joins)
    if not result["samples"]:
        raise RuntimeError(f"no guest join got its four first frames: {result['failed']}")
    warm_up = result["warm_up"]
    return {
        **join_summary(result["samples"]),
        "measured": "Chromium on the product's pages, one running call of two (Ada, a patient); an "
        "interpreter added by REST opens the mailed link in a new context: from the guest page's "
        "navigation start, and from its receipt of `call`, to the first decoded frame "
        "(requestVideoFrameCallback) of the clinician's and the patient's tiles in the guest's page and "
        "of the guest's tile in Ada's and the patient's pages; `all` is the latest of the four, ms",
        "warm_up_ms": None if warm_up is None else _rounded(warm_up),
        "failed_joins": result["failed"],
        "load_average_1min": round(os.getloadavg()[0], 2),
        "seconds": round(time.monotonic() - started),
    }
