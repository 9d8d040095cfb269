"""The media worker's figures, with aiortc peers standing in for the browsers. Over the local
run they speak the contract over the WebSocket API, exactly as the pages do.

The simulated browsers send pre-encoded media: a 640x480 30 fps VP8 clip (about 1 Mbit/s) and
Opus packets, each encoded once and replayed, and they count the frames they receive before
any decoder. So they cost little more than the worker's own packet work, and on a 2-core
machine the worker (pinned to a core of its own) is what the figures measure.

- worker CPU per visit (two cameras and two microphones), forwarding and the old decoding
  relay side by side, at 1 and 4 visits at once, from the worker process's CPU time (/proc);
- visits one worker process holds with every receiver at >= 25 fps (forwarding), adding
  visits until one falls below or the simulated browsers' own core saturates (both printed);
- the delay the relay adds, audio (packet in -> packet out) and video (last packet of a frame
  in -> frame out), p50/p95, from a worker run in this process;
- call setup (`call` -> first frame, a keyframe, on both sides) and screenshot latency
  (consent -> `screenshot_ready`), p50/p95.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
from collections.abc import Sequence
from typing import Any

import uvloop
import websockets
from aiortc import RTCPeerConnection, RTCSessionDescription

from bench.stack import invite_many, local_run, login, percentile
from media_worker.aiortc_hook import ReceiverTap
from tests.worker.peers import (
    CLINICIAN_PATTERN,
    PATIENT_PATTERN,
    FakeBrowser,
    ReplayCamera,
    ReplayMicrophone,
    encoded_audio_clip,
    encoded_clip,
)

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
LOW_FPS = 25
# Worker settings for the benchmark: capacity high enough never to refuse a visit.
WORKER_SETTINGS = {"ECLINIC_WORKER_CAPACITY": "200"}


def replay_browser(role: str, connection_id: str, peer_id: str = "p1") -> FakeBrowser:
    pattern = PATIENT_PATTERN if role == "patient" else CLINICIAN_PATTERN
    return FakeBrowser(
        role,
        ReplayCamera(encoded_clip("VP8", pattern, 90)),
        connection_id,
        peer_id=peer_id,
        microphone=ReplayMicrophone(encoded_audio_clip()),
        video_codecs=("VP8",),
    )


class Browser:
    """One participant over the WebSocket API, with an RTCPeerConnection to the worker."""

    def __init__(self, ws_url: str, role: str) -> None:
        self.ws_url, self.role = ws_url, role
        self.messages: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.peer: FakeBrowser | None = None
        self.frames = 0
        self.first_frame = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None

    async def open(self) -> None:
        self.socket = await websockets.connect(self.ws_url, open_timeout=60, max_size=2**20)
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for raw in self.socket:
            message = json.loads(raw)
            if message.get("type") == "answer" and self.peer is not None:
                await self.peer.pc.setRemoteDescription(
                    RTCSessionDescription(sdp=message["sdp"], type="answer")
                )
            else:
                await self.messages.put(message)

    async def send(self, **message: Any) -> None:
        await self.socket.send(json.dumps(message))

    async def wait_for(self, kind: str, timeout: float = 30) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            while True:
                message = await self.messages.get()
                if message.get("type") == kind:
                    return message

    async def join_call(self, appointment_id: str) -> None:
        if self.peer is not None:
            await self.peer.close()
        self.frames = 0
        self.first_frame.clear()
        self.peer = replay_browser(self.role, "bench", peer_id=str(time.monotonic_ns()))
        pc: RTCPeerConnection = self.peer.pc

        @pc.on("track")
        def on_track(track: Any) -> None:
            # Frames are counted before any decoder, and audio is not decoded either.
            audio, camera = pc.getTransceivers()[:2]
            if camera.receiver.track is track:
                ReceiverTap(camera.receiver, "video", lambda frame: self._count())
            elif audio.receiver.track is track:
                ReceiverTap(audio.receiver, "audio", lambda frame: None)

        offer = await self.peer.offer_message(appointment_id)
        await self.send(
            type="offer", appointment_id=appointment_id, peer_id=offer["peer_id"], sdp=offer["sdp"]
        )

    def _count(self) -> None:
        self.frames += 1
        self.first_frame.set()

    async def close(self) -> None:
        if self.peer is not None:
            await self.peer.close()
        await self.socket.close()
        if self._reader is not None:
            self._reader.cancel()


class Visit:
    def __init__(self, base: str, clinician_token: str, appointment_id: str, link: str) -> None:
        ws = base.replace("http://", "ws://") + "/ws"
        self.appointment_id = appointment_id
        self.clinician = Browser(f"{ws}?id_token={clinician_token}", "clinician")
        self.patient = Browser(f"{ws}?token={link}", "patient")

    async def start(self) -> float:
        """Takes the appointment and calls; returns seconds from `call` to both first frames."""
        await self.patient.open()
        await self.clinician.open()
        await asyncio.sleep(0.2)
        await self.clinician.send(type="take", appointment_id=self.appointment_id)
        await asyncio.sleep(0.3)
        started = time.perf_counter()
        await self.clinician.send(type="call", appointment_id=self.appointment_id)
        await asyncio.gather(self._answer_call(self.clinician), self._answer_call(self.patient))
        await asyncio.wait_for(
            asyncio.gather(self.clinician.first_frame.wait(), self.patient.first_frame.wait()), 30
        )
        return time.perf_counter() - started

    async def _answer_call(self, browser: Browser) -> None:
        await browser.wait_for("call")
        await browser.join_call(self.appointment_id)

    async def stop(self) -> None:
        await self.clinician.send(type="hangup", appointment_id=self.appointment_id, mode="leave")
        await asyncio.sleep(0.2)
        await self.clinician.close()
        await self.patient.close()


def worker_pid() -> int:
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if f.read().split(b"\0")[1:3] == [b"-m", b"media_worker"]:
                        return int(entry)
            except (OSError, IndexError):
                continue
    raise RuntimeError("no media worker process found")


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


ALL_CORES = frozenset(os.sched_getaffinity(0))


def pin_worker() -> int:
    """The worker gets the last core to itself, as one process has one vCPU on Fargate; this
    process (the simulated browsers) and the local run keep the others."""
    pid = worker_pid()
    cores = sorted(ALL_CORES)
    if len(cores) >= 2:
        os.sched_setaffinity(pid, {cores[-1]})
        os.sched_setaffinity(0, set(cores[:-1]))
    return pid


def unpin() -> None:
    """Before the next local run starts: it would inherit this process's cores."""
    os.sched_setaffinity(0, ALL_CORES)


async def measure(visits: Sequence[Visit], pid: int, seconds: float) -> dict[str, Any]:
    cpu0, frames0 = cpu_seconds(pid), [(v.clinician.frames, v.patient.frames) for v in visits]
    own0 = time.process_time()
    await asyncio.sleep(seconds)
    cpu1, frames1 = cpu_seconds(pid), [(v.clinician.frames, v.patient.frames) for v in visits]
    fps = [
        (after - before) / seconds
        for pair0, pair1 in zip(frames0, frames1, strict=True)
        for before, after in zip(pair0, pair1, strict=True)
    ]
    worker = (cpu1 - cpu0) / seconds
    return {
        "visits": len(visits),
        "worker_cpu_cores": round(worker, 3),
        "worker_cpu_per_visit": round(worker / len(visits), 4),
        "browsers_cpu_cores": round((time.process_time() - own0) / seconds, 3),
        "lowest_receiver_fps": round(min(fps), 1),
    }


async def start_visits(base: str, email: str, count: int, tag: str) -> list[Visit]:
    token = login(base, email)
    visits = []
    for appointment_id, link in invite_many(base, token, count, tag):
        visit = Visit(base, token, appointment_id, link)
        await visit.start()
        visits.append(visit)
    return visits


async def cost_per_visit(base: str, seconds: float, sizes: tuple[int, ...]) -> list[dict[str, Any]]:
    pid = pin_worker()
    figures = []
    visits: list[Visit] = []
    for size in sizes:
        visits += await start_visits(base, "ben@clinic.example", size - len(visits), f"cost{size}")
        await asyncio.sleep(3)  # let every stream settle
        figures.append(await measure(visits, pid, seconds))
    for visit in visits:
        await visit.stop()
    return figures


async def visits_held(base: str, seconds: float, max_visits: int, step: int) -> dict[str, Any]:
    pid = pin_worker()
    visits: list[Visit] = []
    ramp = []
    while len(visits) < max_visits:
        visits += await start_visits(
            base, "ada@clinic.example", min(step, max_visits - len(visits)), f"ramp{len(visits)}"
        )
        await asyncio.sleep(3)
        figures = await measure(visits, pid, seconds)
        ramp.append(figures)
        if figures["lowest_receiver_fps"] < LOW_FPS or figures["browsers_cpu_cores"] > 0.95:
            break
    for visit in visits:
        await visit.stop()
    held = max((r["visits"] for r in ramp if r["lowest_receiver_fps"] >= LOW_FPS), default=0)
    last = ramp[-1]
    return {
        "visits_held_at_25fps": held,
        "limited_by": "worker"
        if last["lowest_receiver_fps"] < LOW_FPS and last["browsers_cpu_cores"] <= 0.95
        else ("simulated browsers' core" if last["browsers_cpu_cores"] > 0.95 else "max_visits"),
        "ramp": ramp,
    }


async def call_and_screenshot_figures(base: str, calls: int, shots: int) -> dict[str, Any]:
    token = login(base, "ada@clinic.example")
    setups, screenshot_latencies = [], []
    for index, (appointment_id, link) in enumerate(invite_many(base, token, calls, "calls")):
        visit = Visit(base, token, appointment_id, link)
        setups.append(await visit.start())
        if index < shots:
            await visit.clinician.send(type="screenshot_request", appointment_id=appointment_id)
            request = await visit.patient.wait_for("screenshot_request")
            granted = time.perf_counter()
            await visit.patient.send(
                type="screenshot_consent",
                appointment_id=appointment_id,
                request_id=request["request_id"],
                granted=True,
            )
            await visit.clinician.wait_for("screenshot_ready")
            screenshot_latencies.append(time.perf_counter() - granted)
        await visit.stop()
    return {"call_setup_ms": _summary(setups), "screenshot_ms": _summary(screenshot_latencies)}


async def relay_delay(seconds: float) -> dict[str, Any]:
    """The worker in this process (its socket replaced), so that its relay's own delay samples
    can be read: from the moment a frame (an Opus packet) is whole to when its sender takes it."""
    from media_worker.relay import ForwardingRelay
    from media_worker.storage import InMemoryImageStore
    from tests.worker.harness import APPOINTMENT, join, make_worker

    worker, outbox = make_worker(InMemoryImageStore())
    patient, clinician = (
        replay_browser("patient", "conn-patient"),
        replay_browser("clinician", "conn-clinician"),
    )
    try:
        await join(worker, outbox, patient)
        await join(worker, outbox, clinician)
        await asyncio.sleep(2)
        relay = worker.visits[APPOINTMENT].relay
        assert isinstance(relay, ForwardingRelay)
        for samples in relay.delays.values():
            samples.clear()
        await asyncio.sleep(seconds)
        return {kind: _summary(list(samples), decimals=3) for kind, samples in relay.delays.items()}
    finally:
        await patient.close()
        await clinician.close()
        await worker.drain()


def _summary(seconds: list[float], decimals: int = 1) -> dict[str, Any]:
    ms = [v * 1000 for v in seconds]
    if not ms:
        return {}
    return {
        "n": len(ms),
        "p50": round(statistics.median(ms), decimals),
        "p95": round(percentile(ms, 95), decimals),
    }


def run(calls: int, shots: int, seconds: float, max_visits: int) -> dict[str, Any]:
    cost: dict[str, list[dict[str, Any]]] = {}
    figures: dict[str, Any] = {}
    # The simulated browsers run on uvloop too, as the worker does: cheaper browsers let the
    # worker's own core be what runs out first.
    for relay in ("decoding", "forwarding"):
        unpin()
        with local_run({**WORKER_SETTINGS, "ECLINIC_WORKER_RELAY": relay}) as base:
            cost[relay] = uvloop.run(cost_per_visit(base, seconds, (1, 4)))
            if relay == "forwarding":
                figures["capacity"] = uvloop.run(visits_held(base, 10, max_visits, step=4))
                figures.update(uvloop.run(call_and_screenshot_figures(base, calls, shots)))
    comparison = []
    for decoding, forwarding in zip(cost["decoding"], cost["forwarding"], strict=True):
        comparison.append(
            {
                "visits": forwarding["visits"],
                "decoding": decoding,
                "forwarding": forwarding,
                "cpu_ratio_decoding_to_forwarding": round(
                    decoding["worker_cpu_per_visit"] / max(forwarding["worker_cpu_per_visit"], 1e-6), 1
                ),
            }
        )
    figures["worker_cpu_per_visit"] = comparison
    one, four = cost["forwarding"]
    figures["forwarding_cpu_per_added_visit"] = round(
        (four["worker_cpu_cores"] - one["worker_cpu_cores"]) / (four["visits"] - one["visits"]), 4
    )
    unpin()
    figures["delay_added_ms"] = uvloop.run(relay_delay(seconds))
    return figures
