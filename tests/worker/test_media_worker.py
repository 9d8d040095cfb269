"""The media worker with real aiortc peers in process: pixels through the relay, screen share
renegotiation, consented screenshots, stuck and closed peers, drain."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta
from typing import Any

from PIL import Image

from eclinic_protocol import to_worker
from media_worker.storage import InMemoryImageStore
from media_worker.worker import Worker
from tests.simulated_browser import FakeBrowser
from tests.simulated_media import (
    CLINICIAN_PATTERN,
    PATIENT_PATTERN,
    SCREEN_PATTERN,
    PatternCamera,
    looks_like,
)
from tests.threads import run_async
from tests.worker.harness import APPOINTMENT, Outbox, join, make_worker, scenario
from tests.worker.pixels import average_colour


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
        capture = to_worker.Capture(
            appointment_id=APPOINTMENT, request_id="r1", key="shots/r1.jpg", not_after=soon
        ).to_json()
        await worker.on_message(capture)
        captured = await outbox.next("captured")
        assert (captured["width"], captured["height"]) == (640, 480)
        image = Image.open(io.BytesIO(store.images["shots/r1.jpg"]))
        assert image.format == "JPEG" and image.size == (640, 480)
        left = average_colour(image, (0, 0, 280, 480))
        right = average_colour(image, (360, 0, 640, 480))
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
