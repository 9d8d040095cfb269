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
import os
import statistics
import time
from collections.abc import Sequence
from typing import Any

import uvloop

from bench.stack import invite_many, local_run, login, percentile
from eclinic_protocol import from_browser
from media_worker import settings_names as worker_settings
from tests.simulated_browser import WebSocketBrowser, replaying_browser

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
LOW_FPS = 25
# Worker settings for the benchmark: capacity high enough never to refuse a visit.
WORKER_SETTINGS = {worker_settings.CAPACITY: "200"}


class Visit:
    def __init__(self, base: str, clinician_token: str, appointment_id: str, link: str) -> None:
        ws = base.replace("http://", "ws://") + "/ws"
        self.appointment_id = appointment_id
        self.clinician = WebSocketBrowser(f"{ws}?id_token={clinician_token}", "clinician")
        self.patient = WebSocketBrowser(f"{ws}?token={link}", "patient")

    async def start(self) -> float:
        """Takes the appointment and calls; returns seconds from `call` to both first frames."""
        await self.patient.open()
        await self.clinician.open()
        await asyncio.sleep(0.2)
        await self.clinician.send(from_browser.Take(appointment_id=self.appointment_id))
        await asyncio.sleep(0.3)
        started = time.perf_counter()
        await self.clinician.send(from_browser.Call(appointment_id=self.appointment_id))
        await asyncio.gather(self._answer_call(self.clinician), self._answer_call(self.patient))
        await asyncio.wait_for(
            asyncio.gather(self.clinician.first_frame.wait(), self.patient.first_frame.wait()), 30
        )
        return time.perf_counter() - started

    async def _answer_call(self, browser: WebSocketBrowser) -> None:
        call = await browser.wait_for("call")
        await browser.join_call(self.appointment_id, call)

    async def stop(self) -> None:
        await self.clinician.send(from_browser.Hangup(appointment_id=self.appointment_id, mode="leave"))
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
            await visit.clinician.send(from_browser.ScreenshotRequest(appointment_id=appointment_id))
            request = await visit.patient.wait_for("screenshot_request")
            granted = time.perf_counter()
            consent = from_browser.ScreenshotConsent(
                appointment_id=appointment_id, request_id=request["request_id"], granted=True
            )
            await visit.patient.send(consent)
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
        replaying_browser("patient", "conn-patient"),
        replaying_browser("clinician", "conn-clinician"),
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
        with local_run({**WORKER_SETTINGS, worker_settings.RELAY: relay}) as base:
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
