"""Call setup and worker cost, direct and relayed through TURN (coturn, started here).

Three paths, each on a local run of its own with the TURN settings of API.md:

- `direct`: no TURN at all (`ECLINIC_TURN_URLS` unset), ICE policy `all`;
- `relay_udp`: `ECLINIC_ICE_TRANSPORT_POLICY=relay` and one URL, `turn:...?transport=udp`;
- `relay_tcp`: `relay` and one URL, `turn:...?transport=tcp` (TURN over TCP to coturn).

coturn runs as tests/browser/test_turn.py runs it: `local/coturn.conf`, `use-auth-secret` with a
secret made here, a free port, relaying from the machine's own address, its log in a temp dir.
The media worker uses no TURN itself: with `relay`, each browser's relayed candidate pairs
with the worker's host candidate, so "relayed" means both legs of the visit go through coturn.

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

Worker CPU is measured with aiortc peers as bench/media.py's cost figures are (replayed,
pre-encoded media, frames counted before any decoder): Chromium encoding and decoding two
cameras would take the 2-core machine's other core, and the figure is the worker's own. The
peers use the `call` message's `ice_servers` and `ice_transport_policy` as the pages do:
aiortc 1.16 maps `RTCIceTransportPolicy.RELAY` onto aioice 0.13's `TransportPolicy.RELAY`
(relay candidates only, remote mDNS ignored), takes the first usable TURN URL and passes its
`?transport=` as aioice's `turn_transport` (`udp` or `tcp`) - hence one URL per relayed path.
The worker is pinned to a core of its own (as bench/media.py does), coturn and these peers to
the others; the worker's CPU seconds per visit-second come from /proc, and coturn's beside it.
`peers_setup_ms` there is these peers' `call` -> first frame on both sides, before any decoder
(bench/media.py's measure): a check on the relayed paths, not the call setup figure.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import uvloop
from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCIceServer,
    RTCIceTransportPolicy,
    RTCPeerConnection,
)

from bench import media
from bench.stack import invite_many, log_in_to_schedule, login, percentile
from media_worker.aiortc_hook import ReceiverTap
from tests.local.conftest import LocalRun, started_local_run
from tests.local.coturn import Turn, coturn
from tests.worker.peers import (
    CLINICIAN_PATTERN,
    PATIENT_PATTERN,
    FakeBrowser,
    ReplayCamera,
    ReplayMicrophone,
    encoded_audio_clip,
    encoded_clip,
)

PATHS = ("direct", "relay_udp", "relay_tcp")
# The pages' first decoded frame is waited for this long (a page gives up connecting after 20 s).
FIRST_FRAME_TIMEOUT_MS = 30_000
# API.md: each connection may send at most 20 messages in any 10 seconds (pings excluded); a
# call costs Ada's page 5 (take, call, offer, media_state, hangup): room for late candidates.
RATE_LIMIT, RATE_WINDOW_S, CALL_MESSAGES = 20, 10, 8
WINDOWS = 4  # the CPU window, cut in this many


# -- coturn -----------------------------------------------------------------------------------


def settings_for(path: str, turn: Turn) -> dict[str, str]:
    settings = dict(media.WORKER_SETTINGS)
    if path == "direct":
        return settings
    transport = path.removeprefix("relay_")
    return {
        **settings,
        "ECLINIC_TURN_URLS": f"turn:127.0.0.1:{turn.port}?transport={transport}",
        "ECLINIC_TURN_SECRET": turn.secret,
        "ECLINIC_ICE_TRANSPORT_POLICY": "relay",
    }


# -- call setup in Chromium ------------------------------------------------------------------

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

    from tests.browser.conftest import CHROMIUM_FLAGS

    executable = shutil.which("chromium")
    if executable is None:
        raise SystemExit("Debian's chromium is not installed (apt-get install chromium)")
    result: dict[str, Any] = {"samples": [], "selected_pairs": {}, "unexpected_pairs": [], "failed": []}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
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
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect

    home = browser.new_context(viewport={"width": 390, "height": 844})
    home.set_default_timeout(30_000)
    home.add_init_script(PAGE_PROBE)
    try:
        patient = home.new_page()
        patient.goto(f"{base}/visit/{link}")
        # The waiting room's camera is on before the clinician calls, as a patient's would be.
        patient.wait_for_function("() => document.getElementById('local-video').videoWidth > 0")
        row = ada.locator(f'[data-testid="appointment-row"][data-appointment-id="{appointment_id}"]')
        expect(row).to_have_attribute("data-status", "waiting")
        ada.evaluate("() => window.__bench.reset()")
        row.click()
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
            return None
        ada.get_by_test_id("call-button").click()
        wait = "() => 'first_frame' in window.__bench.events || window.__bench.errors.length > 0"
        pages = (("clinician", ada), ("patient", patient))
        try:
            for _, page in pages:
                page.wait_for_function(wait, timeout=FIRST_FRAME_TIMEOUT_MS)
        except PlaywrightTimeout:
            pass
        sides = {role: page.evaluate(PROBED) for role, page in pages}
        for role, page in pages:
            pair = page.evaluate(SELECTED_PAIR)
            key = f"{role}: {describe(pair)}"
            result["selected_pairs"][key] = result["selected_pairs"].get(key, 0) + 1
            if not pair or not EXPECTED_PAIR[path](pair):
                result["unexpected_pairs"].append({"appointment": appointment_id, "role": role, "pair": pair})
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


# -- worker CPU with aiortc peers ------------------------------------------------------------


def configuration(call: dict[str, Any]) -> RTCConfiguration:
    """The `call` message's ICE settings, as a page's RTCPeerConnection takes them."""
    servers = [
        RTCIceServer(urls=s["urls"], username=s.get("username"), credential=s.get("credential"))
        for s in call.get("ice_servers", [])
    ]
    policy = (
        RTCIceTransportPolicy.RELAY
        if call.get("ice_transport_policy") == "relay"
        else RTCIceTransportPolicy.ALL
    )
    return RTCConfiguration(
        iceServers=servers, bundlePolicy=RTCBundlePolicy.MAX_BUNDLE, iceTransportPolicy=policy
    )


class TurnBrowser(media.Browser):
    """bench/media.py's simulated browser, with the ICE settings the `call` message gives."""

    async def join_with(self, appointment_id: str, call: dict[str, Any]) -> None:
        if self.peer is not None:
            await self.peer.close()
        self.frames = 0
        self.first_frame.clear()
        pattern = PATIENT_PATTERN if self.role == "patient" else CLINICIAN_PATTERN
        self.peer = FakeBrowser(
            self.role,
            ReplayCamera(encoded_clip("VP8", pattern, 90)),
            "bench",
            peer_id=str(time.monotonic_ns()),
            microphone=ReplayMicrophone(encoded_audio_clip()),
            video_codecs=("VP8",),
            pc=RTCPeerConnection(configuration(call)),
        )
        pc = self.peer.pc

        @pc.on("track")
        def on_track(track: Any) -> None:
            audio, camera = pc.getTransceivers()[:2]
            if camera.receiver.track is track:
                ReceiverTap(camera.receiver, "video", lambda frame: self._count())
            elif audio.receiver.track is track:
                ReceiverTap(audio.receiver, "audio", lambda frame: None)

        offer = await self.peer.offer_message(appointment_id)
        await self.send(
            type="offer", appointment_id=appointment_id, peer_id=offer["peer_id"], sdp=offer["sdp"]
        )

    def local_candidate_type(self) -> str | None:
        """The type of the local candidate ICE nominated (aioice's own state; read only here)."""
        assert self.peer is not None
        transport = self.peer.pc.getTransceivers()[0].sender.transport.transport
        nominated = transport.iceGatherer._connection._nominated.get(1)
        return None if nominated is None else str(nominated.local_candidate.type)


class TurnVisit(media.Visit):
    clinician: TurnBrowser
    patient: TurnBrowser

    def __init__(self, base: str, clinician_token: str, appointment_id: str, link: str) -> None:
        super().__init__(base, clinician_token, appointment_id, link)
        self.clinician = TurnBrowser(self.clinician.ws_url, "clinician")
        self.patient = TurnBrowser(self.patient.ws_url, "patient")

    async def _answer_call(self, browser: media.Browser) -> None:
        call = await browser.wait_for("call")
        assert isinstance(browser, TurnBrowser)
        await browser.join_with(self.appointment_id, call)


def worker_of(local: LocalRun) -> int:
    """This local run's media worker (its child `python -m media_worker`), not another run's."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if f.read().split(b"\0")[1:3] != [b"-m", b"media_worker"]:
                    continue
            with open(f"/proc/{entry}/stat") as f:
                parent = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if parent == local.process.pid:
            return int(entry)
    raise RuntimeError(f"no media worker of the local run at {local.base_url}")


def encode_clips() -> None:
    """The simulated browsers' clips (tests/worker/peers.py caches them): 20-60 s of VP8
    encoding on this machine, done once and before anything is timed, as it holds the event
    loop (an aiortc peer whose loop stalls that long misses its TURN and ICE timers)."""
    for pattern in (PATIENT_PATTERN, CLINICIAN_PATTERN):
        encoded_clip("VP8", pattern, 90)
    encoded_audio_clip()


async def worker_cost(base: str, pid: int, visits: int, seconds: float, turn: Turn) -> dict[str, Any]:
    cores = sorted(media.ALL_CORES)
    if len(cores) >= 2:
        os.sched_setaffinity(pid, {cores[-1]})
        os.sched_setaffinity(0, set(cores[:-1]))
        os.sched_setaffinity(turn.pid, set(cores[:-1]))
    token = login(base, "ben@clinic.example")
    started: list[TurnVisit] = []
    setups: list[float] = []
    retries = 0
    try:
        # A visit whose media does not start within 30 s is stopped and another one started
        # (at most 3 times): counted, as it is a finding of its own.
        appointments = iter(invite_many(base, token, visits + 3, f"cpu{time.monotonic_ns()}"))
        while len(started) < visits:
            appointment_id, link = next(appointments)
            visit = TurnVisit(base, token, appointment_id, link)
            try:
                setups.append(await visit.start())
            except TimeoutError:
                retries += 1
                await visit.stop()
                if retries > 3:
                    raise
                continue
            started.append(visit)
        candidates = sorted(
            {str(b.local_candidate_type()) for v in started for b in (v.clinician, v.patient)}
        )
        await asyncio.sleep(3)  # let every stream settle
        # The window cut in four, to show the noise within one run. Between local runs the same
        # path differed more: 0.073-0.091 (direct) and 0.068-0.091 (relay_udp) over four each.
        turn0 = media.cpu_seconds(turn.pid)
        windows = [await media.measure(started, pid, seconds / WINDOWS) for _ in range(WINDOWS)]
        turn_cores = (media.cpu_seconds(turn.pid) - turn0) / seconds
        figures = {
            "visits": visits,
            **{
                key: round(statistics.mean(w[key] for w in windows), 4)
                for key in ("worker_cpu_cores", "worker_cpu_per_visit", "browsers_cpu_cores")
            },
            "worker_cpu_per_visit_windows": [w["worker_cpu_per_visit"] for w in windows],
            "lowest_receiver_fps": min(w["lowest_receiver_fps"] for w in windows),
        }
        figures["turn_cpu_cores"] = round(turn_cores, 3)
        figures["turn_cpu_per_visit"] = round(turn_cores / visits, 4)
        figures["peers_local_candidates"] = candidates
        figures["peers_setup_ms"] = {
            "p50": round(statistics.median(setups) * 1000),
            "max": round(max(setups) * 1000),
        }
        figures["visits_restarted"] = retries
        return figures
    finally:
        for visit in started:
            await visit.stop()
        media.unpin()
        os.sched_setaffinity(turn.pid, media.ALL_CORES)


# -- the part ---------------------------------------------------------------------------------


class _TempDirs:
    """What `started_local_run` takes from pytest's tmp_path_factory: `mktemp(name)`."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def mktemp(self, name: str) -> Path:
        return Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self.root))


@contextlib.contextmanager
def path_run(path: str, turn: Turn, tmp: Path) -> Iterator[LocalRun]:
    """tests/local/conftest.py's local run with this path's settings; its log goes to stderr
    if anything fails (the temp dir is gone afterwards), and its one line of output too (stdout
    is the figures)."""
    with contextlib.redirect_stdout(sys.stderr):
        context = started_local_run(
            cast(Any, _TempDirs(tmp)), {**settings_for(path, turn), "ECLINIC_LOG_LEVEL": "WARNING"}
        )
        run = context.__enter__()
    try:
        yield run
    except BaseException:
        if run.log_path is not None:
            print(f"-- local run log ({path}) --", file=sys.stderr)
            print(run.log_path.read_text(errors="replace")[-6000:], file=sys.stderr)
        print("-- coturn log --", file=sys.stderr)
        print(turn.log.read_text(errors="replace")[-3000:], file=sys.stderr)
        if not context.__exit__(*sys.exc_info()):
            raise
    else:
        context.__exit__(None, None, None)


def run(setup_calls: int, cpu_visits: int, cpu_seconds: float) -> dict[str, Any]:
    setup: dict[str, Any] = {}
    cost: dict[str, Any] = {}
    started = time.monotonic()
    clips = threading.Thread(target=encode_clips, daemon=True)
    clips.start()  # beside coturn's and the first local run's start, never beside a timed call
    with tempfile.TemporaryDirectory(prefix="bench-calls-") as tmp, coturn(Path(tmp)) as turn:
        for path in PATHS:
            media.unpin()
            with path_run(path, turn, Path(tmp)) as local:
                clips.join()
                calls = chromium_setups(local.base_url, path, setup_calls)
                if not calls["samples"]:
                    raise RuntimeError(f"{path}: no call got its first frames: {calls['failed']}")
                setup[path] = {
                    **setup_summary(calls["samples"]),
                    "selected_pairs": calls["selected_pairs"],
                    "failed_calls": calls["failed"],
                }
                if calls["unexpected_pairs"]:
                    setup[path]["unexpected_pairs"] = calls["unexpected_pairs"]
                pid = worker_of(local)
                cost[path] = uvloop.run(worker_cost(local.base_url, pid, cpu_visits, cpu_seconds, turn))
            print(f"calls: {path} done after {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
        allocations = turn.allocations()
    direct = cost["direct"]["worker_cpu_per_visit"]
    return {
        "call_setup": setup,
        "call_setup_measured": "Chromium on the product's pages: from the clinician page sending "
        "`call` to each side's first decoded remote frame (requestVideoFrameCallback), ms",
        "worker_cpu_per_visit": cost,
        "worker_cpu_measured": f"aiortc peers as bench/media.py's, {cpu_visits} visits at once, "
        f"{cpu_seconds:g} s in {WINDOWS} windows; worker pinned to a core of its own; worker CPU "
        "seconds per visit-second",
        "relayed_to_direct_worker_cpu": {
            path: round(cost[path]["worker_cpu_per_visit"] / max(direct, 1e-6), 2) for path in PATHS[1:]
        },
        "turn_allocations": allocations,
        "load_average_1min": round(os.getloadavg()[0], 2),
        "seconds": round(time.monotonic() - started),
    }
