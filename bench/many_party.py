"""The media worker's figures with guests: worker CPU per visit of 2, 3 and 4 participants
(forwarding), and call setup for a guest joining a running visit, p50/p95.

Measured at the worker's own level: a real worker process (`python -m media_worker`, pinned
to a core of its own, as bench/media.py pins the local run's) connects to a stand-in for the
WebSocket API in this process, which hands it the simulated browsers' offers and them its
answers, as the server relays them. So no server, database or page is in the figures, and the
guest's side of the contract (links, `participants`) need not be running. The browsers are
bench/media.py's: a VP8 clip and Opus packets encoded once and replayed, frames counted
before any decoder; their m-lines laid out by eclinic_protocol.mlines.

- CPU: `visits` visits of each size at once, the worker's CPU time (/proc) over `seconds`,
  per visit, with the lowest frame rate any receiving camera m-line got;
- guest setup: a clinician and a patient in a visit, streaming; a guest's offer is sent and,
  as the pages do on `participants`, the two others offer again with the guest's pair; the
  time from the guest's offer to its first decoded frame of each other participant.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import av
import uvloop
import websockets
from aiortc.jitterbuffer import JitterFrame

from bench.media import ALL_CORES, cpu_seconds, unpin
from bench.stack import percentile
from eclinic_protocol import to_worker
from eclinic_protocol.envelope import Message
from eclinic_protocol.mlines import SEATS, VIDEO, m_line_slot, m_line_source
from media_worker import settings_names as names
from media_worker.forwarding import decoder_for
from media_worker.frames import EncodedFrame
from tests.simulated_browser import FakeBrowser, replaying_browser


class StandIn:
    """What the worker sees of the WebSocket API: one socket, offers in, answers out."""

    def __init__(self) -> None:
        self.socket: Any = None
        self.connected = asyncio.Event()
        self._answers: dict[str, asyncio.Future[dict[str, Any]]] = {}

    async def serve(self, socket: Any) -> None:
        self.socket = socket
        self.connected.set()
        async for raw in socket:
            message = json.loads(raw)
            waiting = self._answers.pop(message.get("to", ""), None)
            if message.get("type") == "answer" and waiting is not None and not waiting.done():
                waiting.set_result(message)

    async def offer(self, browser: FakeBrowser, appointment_id: str) -> dict[str, Any]:
        """Sends the browser's offer; returns the worker's answer, applied."""
        answer = asyncio.get_running_loop().create_future()
        self._answers[browser.connection_id] = answer
        await self.socket.send(json.dumps(await browser.offer_message(appointment_id)))
        message: dict[str, Any] = await asyncio.wait_for(answer, 30)
        await browser.accept(message)
        return message

    async def send(self, message: Message) -> None:
        await self.socket.send(json.dumps(message.to_json()))


class Seat:
    """One participant: a replaying browser that counts camera frames and notes, per m-line,
    when its first frame decoded."""

    def __init__(self, seat: str, appointment_id: str) -> None:
        self.frames: dict[int, int] = {}
        self.first_picture: dict[int, float] = {}
        self._decoders: dict[int, Any] = {}
        connection = f"{appointment_id[:8]}-{seat}"
        self.browser = replaying_browser(seat, connection, on_frame=self._on_frame, keyframe_on_request=True)

    def _on_frame(self, index: int, frame: EncodedFrame) -> None:
        if m_line_slot(index) != VIDEO:
            return
        self.frames[index] = self.frames.get(index, 0) + 1
        if index in self.first_picture:
            return
        decoder = self._decoders.setdefault(index, decoder_for("video", frame))
        try:
            if decoder.decode(JitterFrame(frame.data, frame.timestamp)):
                self.first_picture[index] = time.perf_counter()
        except av.FFmpegError:
            pass


class PartyVisit:
    def __init__(self, stand_in: StandIn) -> None:
        self.stand_in = stand_in
        self.appointment_id = str(uuid.uuid4())
        self.seats: dict[str, Seat] = {}

    async def join(self, seat: str) -> Seat:
        """`seat` arrives with pairs for everyone here; everyone here takes up its pair and
        offers again, at the same time, as pages do on `participants`."""
        newcomer = Seat(seat, self.appointment_id)
        newcomer.browser.seats_taken(*self.seats)
        others = list(self.seats.values())
        self.seats[seat] = newcomer
        for other in others:
            other.browser.seats_taken(seat)
        await asyncio.gather(
            self.stand_in.offer(newcomer.browser, self.appointment_id),
            *(self.stand_in.offer(other.browser, self.appointment_id) for other in others),
        )
        return newcomer

    def camera_lines(self) -> list[tuple[Seat, int]]:
        """Every (receiver, camera m-line) of the visit that receives a participant here."""
        return [
            (seat, index)
            for seat in self.seats.values()
            for index in range(len(seat.browser.pc.getTransceivers()))
            if m_line_slot(index) == VIDEO and m_line_source(seat.browser.seat, index) in self.seats
        ]

    async def stop(self) -> None:
        await self.stand_in.send(to_worker.End(appointment_id=self.appointment_id))
        for seat in self.seats.values():
            await seat.browser.close()


@contextlib.contextmanager
def worker_process(port: int) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m media_worker` against the stand-in, pinned to the last core (this process,
    the browsers, keeps the others)."""
    env = {
        **os.environ,
        names.WS_URL: f"ws://127.0.0.1:{port}/ws",
        names.SECRET: "bench",
        names.CAPACITY: "200",
        names.RELAY: "forwarding",
        names.REGION: "us-east-1",
    }
    process = subprocess.Popen([sys.executable, "-m", "media_worker"], env=env, stdout=subprocess.DEVNULL)
    cores = sorted(ALL_CORES)
    if len(cores) >= 2:
        os.sched_setaffinity(process.pid, {cores[-1]})
        os.sched_setaffinity(0, set(cores[:-1]))
    try:
        yield process
    finally:
        process.terminate()  # SIGTERM: the worker closes every peer
        process.wait(30)
        unpin()


async def cpu_per_visit(
    stand_in: StandIn, pid: int, visits: int, seconds: float, sizes: tuple[int, ...]
) -> list[dict[str, Any]]:
    figures = []
    for size in sizes:
        running = [PartyVisit(stand_in) for _ in range(visits)]
        for visit in running:
            for seat in SEATS[:size]:
                await visit.join(seat)
        await asyncio.sleep(3)  # let every stream settle
        lines = [line for visit in running for line in visit.camera_lines()]
        frames0, cpu0, own0 = [s.frames.get(i, 0) for s, i in lines], cpu_seconds(pid), time.process_time()
        await asyncio.sleep(seconds)
        cpu = (cpu_seconds(pid) - cpu0) / seconds
        fps = [(s.frames.get(i, 0) - before) / seconds for (s, i), before in zip(lines, frames0, strict=True)]
        figures.append(
            {
                "participants": size,
                "visits": visits,
                "worker_cpu_cores": round(cpu, 3),
                "worker_cpu_per_visit": round(cpu / visits, 4),
                "worker_cpu_per_participant": round(cpu / visits / size, 4),
                "browsers_cpu_cores": round((time.process_time() - own0) / seconds, 3),
                "lowest_receiver_fps": round(min(fps), 1),
            }
        )
        for visit in running:
            await visit.stop()
        await asyncio.sleep(1)
    return figures


async def guest_setup(stand_in: StandIn, trials: int) -> dict[str, Any]:
    """Per trial a fresh visit of a clinician and a patient, streaming; then guest-1 joins."""
    to_each: dict[str, list[float]] = {"clinician": [], "patient": []}
    to_all: list[float] = []
    for _ in range(trials):
        visit = PartyVisit(stand_in)
        await visit.join("clinician")
        await visit.join("patient")
        await asyncio.sleep(1.5)
        started = time.perf_counter()
        guest = await visit.join("guest-1")
        lines = {m_line_source("guest-1", i): i for i in (1, 4)}  # the clinician's camera, the patient's
        async with asyncio.timeout(20):
            while not all(i in guest.first_picture for i in lines.values()):
                await asyncio.sleep(0.005)
        for seat, index in lines.items():
            assert seat is not None
            to_each[seat].append(guest.first_picture[index] - started)
        to_all.append(max(guest.first_picture[i] for i in lines.values()) - started)
        await visit.stop()
    return {
        "first_frame_of_each_other_ms": {seat: _summary(v) for seat, v in to_each.items()},
        "first_frames_of_all_others_ms": _summary(to_all),
    }


def _summary(seconds: list[float]) -> dict[str, Any]:
    ms = sorted(v * 1000 for v in seconds)
    return {"n": len(ms), "p50": round(percentile(ms, 50), 1), "p95": round(percentile(ms, 95), 1)}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _run(visits: int, seconds: float, trials: int) -> dict[str, Any]:
    stand_in = StandIn()
    port = _free_port()
    async with websockets.serve(stand_in.serve, "127.0.0.1", port, max_size=2**20):
        with worker_process(port) as process:
            await asyncio.wait_for(stand_in.connected.wait(), 60)
            cpu = await cpu_per_visit(stand_in, process.pid, visits, seconds, (2, 3, 4))
            setup = await guest_setup(stand_in, trials)
    return {"worker_cpu_by_participants": cpu, "guest_join_setup": setup}


def run(visits: int, seconds: float, trials: int) -> dict[str, Any]:
    # On uvloop, as the worker runs: cheaper browsers leave the worker's core the one that counts.
    return uvloop.run(_run(visits, seconds, trials))
