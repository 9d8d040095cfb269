"""The media worker with real aiortc peers in process: pixels through the relay, screen share
renegotiation, consented screenshots, stuck and closed peers, drain."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from PIL import Image

from media_worker.config import WorkerConfig
from media_worker.storage import InMemoryImageStore
from media_worker.worker import Worker
from tests.threads import run_async
from tests.worker.peers import (
    CLINICIAN_PATTERN,
    PATIENT_PATTERN,
    SCREEN_PATTERN,
    FakeBrowser,
    PatternCamera,
    looks_like,
)

APPOINTMENT = "0b7c4c1e-8a7e-4f4e-9d55-2f4f3c1b6a10"


class Outbox:
    """Stands in for the signalling socket: what the worker would send to the server."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    def send(self, message: dict[str, Any]) -> None:
        self.messages.append(message)

    async def next(self, kind: str, timeout: float = 15) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            while True:
                for index, message in enumerate(self.messages):
                    if message.get("type") == kind:
                        return self.messages.pop(index)
                await asyncio.sleep(0.02)


def make_worker(store: InMemoryImageStore, connect_timeout: float = 20) -> tuple[Worker, Outbox]:
    config = WorkerConfig(
        ws_url="ws://unused",
        credential="secret",
        worker_id="test-worker",
        capacity=4,
        files_bucket="bucket",
        files_kms_key_id=None,
        region="us-east-1",
        endpoint_url=None,
        connect_timeout=connect_timeout,
        heartbeat_seconds=20,
    )
    worker = Worker(config, store)
    outbox = Outbox()
    worker.signalling = outbox  # type: ignore[assignment]
    return worker, outbox


async def join(worker: Worker, outbox: Outbox, browser: FakeBrowser) -> None:
    await worker.on_message(await browser.offer_message(APPOINTMENT))
    answer = await outbox.next("answer")
    assert (answer["to"], answer["peer_id"], answer["role"]) == (
        browser.connection_id,
        browser.peer_id,
        browser.role,
    )
    await browser.accept(answer)


def scenario(
    body: Callable[[Worker, Outbox, FakeBrowser, FakeBrowser, InMemoryImageStore], Awaitable[None]],
) -> None:
    async def run() -> None:
        store = InMemoryImageStore()
        worker, outbox = make_worker(store)
        patient = FakeBrowser("patient", PatternCamera(PATIENT_PATTERN), "conn-patient")
        clinician = FakeBrowser("clinician", PatternCamera(CLINICIAN_PATTERN), "conn-clinician")
        try:
            await join(worker, outbox, patient)
            await join(worker, outbox, clinician)
            await body(worker, outbox, patient, clinician, store)
        finally:
            await patient.close()
            await clinician.close()
            await worker.drain()

    run_async(run, timeout=120)


def test_each_side_sees_the_others_camera() -> None:
    async def body(
        worker: Worker, outbox: Outbox, patient: FakeBrowser, clinician: FakeBrowser, store: Any
    ) -> None:
        assert looks_like(await clinician.sees(1, PATIENT_PATTERN), PATIENT_PATTERN)
        assert looks_like(await patient.sees(1, CLINICIAN_PATTERN), CLINICIAN_PATTERN)
        assert worker.load == 1
        assert len(worker.peers) == 2

    scenario(body)


def test_screen_share_renegotiates_and_reaches_the_patient() -> None:
    async def body(
        worker: Worker, outbox: Outbox, patient: FakeBrowser, clinician: FakeBrowser, store: Any
    ) -> None:
        clinician.pc.addTransceiver(
            PatternCamera(SCREEN_PATTERN, width=1280, height=720, fps=10), direction="sendonly"
        )
        await join(worker, outbox, clinician)  # the same RTCPeerConnection offers again
        assert looks_like(await patient.sees(2, SCREEN_PATTERN, tries=40), SCREEN_PATTERN)
        assert len(worker.peers) == 2  # renegotiated, not replaced

    scenario(body)


def test_screenshot_only_with_a_valid_consent_and_only_once() -> None:
    async def body(
        worker: Worker, outbox: Outbox, patient: FakeBrowser, clinician: FakeBrowser, store: Any
    ) -> None:
        await clinician.frame_on(1)  # media is flowing
        soon = (datetime.now(UTC) + timedelta(seconds=60)).isoformat()
        capture = {
            "type": "capture",
            "appointment_id": APPOINTMENT,
            "request_id": "r1",
            "key": "shots/r1.jpg",
            "not_after": soon,
        }
        await worker.on_message(capture)
        captured = await outbox.next("captured")
        assert (captured["width"], captured["height"]) == (640, 480)
        image = Image.open(io.BytesIO(store.images["shots/r1.jpg"]))
        assert image.format == "JPEG" and image.size == (640, 480)
        left = image.crop((0, 0, 280, 480)).resize((1, 1)).getpixel((0, 0))
        right = image.crop((360, 0, 640, 480)).resize((1, 1)).getpixel((0, 0))
        assert all(abs(a - b) < 30 for a, b in zip(left, PATIENT_PATTERN[0], strict=True))
        assert all(abs(a - b) < 30 for a, b in zip(right, PATIENT_PATTERN[1], strict=True))

        await worker.on_message(capture)  # the same consent again
        assert (await outbox.next("capture_failed"))["request_id"] == "r1"
        late = dict(
            capture,
            request_id="r2",
            key="shots/r2.jpg",
            not_after=(datetime.now(UTC) - timedelta(seconds=1)).isoformat(),
        )
        await worker.on_message(late)
        assert (await outbox.next("capture_failed"))["request_id"] == "r2"
        malformed = dict(capture, request_id="r3", key="shots/r3.jpg", not_after="whenever")
        await worker.on_message(malformed)
        assert (await outbox.next("capture_failed"))["request_id"] == "r3"
        assert set(store.images) == {"shots/r1.jpg"}

    scenario(body)


def test_a_reload_replaces_the_peer_and_media_comes_back() -> None:
    async def body(
        worker: Worker, outbox: Outbox, patient: FakeBrowser, clinician: FakeBrowser, store: Any
    ) -> None:
        await clinician.frame_on(1)
        await patient.close()
        reloaded = FakeBrowser("patient", PatternCamera(PATIENT_PATTERN), "conn-patient-2")
        try:
            await join(worker, outbox, reloaded)
            assert len(worker.peers) == 2
            assert looks_like(await reloaded.sees(1, CLINICIAN_PATTERN), CLINICIAN_PATTERN)
            assert looks_like(await clinician.sees(1, PATIENT_PATTERN), PATIENT_PATTERN)
        finally:
            await reloaded.close()

    scenario(body)


def test_end_and_drain_close_every_peer() -> None:
    async def body(
        worker: Worker, outbox: Outbox, patient: FakeBrowser, clinician: FakeBrowser, store: Any
    ) -> None:
        await clinician.frame_on(1)
        worker_pcs = [peer.pc for peer in worker.peers]
        await worker.drain()
        assert len(worker.peers) == 0 and not worker.visits
        assert all(pc.connectionState == "closed" for pc in worker_pcs)
        status = [m for m in outbox.messages if m.get("type") == "worker_status"]
        assert [m["load"] for m in status if m["draining"]][-1] == 0  # told the server, then emptied
        newcomer = FakeBrowser("patient", PatternCamera(PATIENT_PATTERN), "conn-late")
        try:
            await worker.on_message(await newcomer.offer_message(APPOINTMENT))
        finally:
            await newcomer.close()
        assert not [
            m for m in outbox.messages if m.get("type") == "answer"
        ]  # a draining worker takes nothing new
        assert len(worker.peers) == 0

    scenario(body)


def test_a_peer_stuck_in_connecting_is_closed() -> None:
    async def run() -> None:
        worker, outbox = make_worker(InMemoryImageStore(), connect_timeout=2)
        silent = FakeBrowser("patient", PatternCamera(PATIENT_PATTERN), "conn-silent")
        try:
            await worker.on_message(await silent.offer_message(APPOINTMENT))
            await outbox.next("answer")  # ... which the browser never applies
            assert len(worker.peers) == 1
            await asyncio.sleep(3)
            assert len(worker.peers) == 0 and not worker.visits
            assert [m for m in outbox.messages if m.get("type") == "worker_status"][-1]["load"] == 0
        finally:
            await silent.close()
            await worker.drain()

    run_async(run, timeout=60)
