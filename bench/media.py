"""Issue 4's figures on the local run, with aiortc peers standing in for the two browsers
(they speak the contract over the WebSocket API, exactly as the pages do):

- worker CPU per relayed visit: two 640x480 30 fps videos and two audio streams, from the
  worker process's own CPU time (/proc) over 30 seconds;
- visits one core holds: the worker pinned to one core, visits added until a receiver
  drops under 25 fps (the simulated browsers run on the other core, so on a 2-core machine
  they, not the worker, may be what limits the count: both CPU figures are printed);
- call setup: `call` -> first decoded remote frame, p50/p95;
- screenshot latency: consent -> `screenshot_ready`, p50/p95.
"""

from __future__ import annotations

import asyncio
import fractions
import json
import os
import statistics
import time
from typing import Any

import numpy as np
import websockets
from aiortc import (
    MediaStreamTrack,
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
    VideoStreamTrack,
)
from aiortc.mediastreams import AudioStreamTrack
from av import VideoFrame

from bench.stack import invite_many, local_run, login, percentile

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class MovingCamera(VideoStreamTrack):
    """640x480 at 30 fps with a bar sweeping over a gradient: changes every frame, as a face does."""

    def __init__(self, width: int = 640, height: int = 480, fps: int = 30) -> None:
        super().__init__()
        gradient = np.linspace(40, 200, width, dtype=np.uint8)
        self._base = np.stack([np.tile(gradient, (height, 1))] * 3, axis=-1)
        self._fps, self._count, self._start = fps, 0, 0.0

    async def recv(self) -> VideoFrame:
        if not self._start:
            self._start = time.monotonic()
        self._count += 1
        delay = self._start + self._count / self._fps - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        image = self._base.copy()
        x = (self._count * 8) % image.shape[1]
        image[:, x : x + 40] = (230, 60, 60)
        frame = VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts, frame.time_base = self._count * 3000, fractions.Fraction(1, 90000)
        return frame


class Browser:
    """One participant: a websocket to the WebSocket API and an RTCPeerConnection to the worker."""

    def __init__(self, ws_url: str, role: str) -> None:
        self.ws_url, self.role = ws_url, role
        self.messages: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.pc: RTCPeerConnection | None = None
        self.frames = 0
        self.first_frame = asyncio.Event()
        self._tasks: list[asyncio.Task[Any]] = []

    async def open(self) -> None:
        self.socket = await websockets.connect(self.ws_url, open_timeout=60, max_size=2**20)
        self._tasks.append(asyncio.create_task(self._read()))

    async def _read(self) -> None:
        async for raw in self.socket:
            message = json.loads(raw)
            if message.get("type") == "answer" and self.pc is not None:
                await self.pc.setRemoteDescription(RTCSessionDescription(sdp=message["sdp"], type="answer"))
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
        if self.pc is not None:
            await self.pc.close()
        self.frames = 0
        self.first_frame.clear()
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
        self.pc.addTransceiver(AudioStreamTrack(), direction="sendrecv")
        self.pc.addTransceiver(MovingCamera(), direction="sendrecv")
        if self.role == "patient":
            self.pc.addTransceiver("video", direction="recvonly")
        pc = self.pc

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind == "video" and pc.getTransceivers()[1].receiver.track is track:
                self._tasks.append(asyncio.create_task(self._count(track)))

        await pc.setLocalDescription(await pc.createOffer())
        await self.send(
            type="offer", appointment_id=appointment_id, peer_id=str(id(pc)), sdp=pc.localDescription.sdp
        )

    async def _count(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                await track.recv()
                self.frames += 1
                self.first_frame.set()
        except Exception:
            return

    async def close(self) -> None:
        if self.pc is not None:
            await self.pc.close()
        await self.socket.close()
        for task in self._tasks:
            task.cancel()


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


async def measure(visits: list[Visit], pid: int, seconds: float) -> dict[str, Any]:
    cpu0, frames0 = cpu_seconds(pid), [(v.clinician.frames, v.patient.frames) for v in visits]
    own0 = time.process_time()
    await asyncio.sleep(seconds)
    cpu1, frames1 = cpu_seconds(pid), [(v.clinician.frames, v.patient.frames) for v in visits]
    fps = [(c1 - c0) / seconds for (c0, _), (c1, _) in zip(frames0, frames1, strict=True)] + [
        (p1 - p0) / seconds for (_, p0), (_, p1) in zip(frames0, frames1, strict=True)
    ]
    return {
        "visits": len(visits),
        "worker_cpu_core_share": round((cpu1 - cpu0) / seconds, 3),
        "browsers_cpu_core_share": round((time.process_time() - own0) / seconds, 3),
        "lowest_receiver_fps": round(min(fps), 1),
    }


async def call_and_screenshot_figures(base: str, calls: int, shots: int) -> dict[str, Any]:
    token = login(base, "ada@clinic.example")
    appointments = invite_many(base, token, calls, "calls")
    setups, screenshot_latencies = [], []
    for index, (appointment_id, link) in enumerate(appointments):
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
    return {
        "call_setup_ms": _summary(setups),
        "screenshot_ms": _summary(screenshot_latencies),
    }


async def cpu_figures(base: str, seconds: float, max_visits: int) -> dict[str, Any]:
    pid = worker_pid()
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) >= 2:
        os.sched_setaffinity(pid, {cores[-1]})  # the worker gets one core of its own
        os.sched_setaffinity(0, set(cores[:-1]))
    token = login(base, "ben@clinic.example")
    appointments = invite_many(base, token, max_visits, "cpu")
    visits: list[Visit] = []
    one_visit: dict[str, Any] = {}
    ramp = []
    for appointment_id, link in appointments:
        visit = Visit(base, token, appointment_id, link)
        await visit.start()
        visits.append(visit)
        await asyncio.sleep(3)  # let the encoders settle
        figures = await measure(visits, pid, seconds if len(visits) == 1 else 10)
        if len(visits) == 1:
            one_visit = figures
        ramp.append(figures)
        if figures["lowest_receiver_fps"] < 25:
            break
    for visit in visits:
        await visit.stop()
    held = max((r["visits"] for r in ramp if r["lowest_receiver_fps"] >= 25), default=0)
    return {
        "one_visit_over_seconds": seconds,
        "worker_cpu_per_visit_core_share": one_visit.get("worker_cpu_core_share"),
        "visits_per_core_estimate_from_cpu": int(1 / one_visit["worker_cpu_core_share"])
        if one_visit.get("worker_cpu_core_share")
        else None,
        "visits_held_at_25fps_measured": held,
        "ramp": ramp,
    }


def _summary(values: list[float]) -> dict[str, Any]:
    ms = [v * 1000 for v in values]
    return (
        {"n": len(ms), "p50": round(statistics.median(ms), 1), "p95": round(percentile(ms, 95), 1)}
        if ms
        else {}
    )


def run(calls: int, shots: int, seconds: float, max_visits: int) -> dict[str, Any]:
    with local_run() as base:
        setup = asyncio.run(call_and_screenshot_figures(base, calls, shots))
        cpu = asyncio.run(cpu_figures(base, seconds, max_visits))
    return {**setup, "worker_cpu": cpu}
