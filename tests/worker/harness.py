"""The worker under test with real aiortc peers in process: the signalling socket replaced by
an outbox, and a scenario runner that joins a patient and a clinician first."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from media_worker.config import WorkerConfig
from media_worker.storage import InMemoryImageStore
from media_worker.worker import Worker
from tests.simulated_browser import FakeBrowser
from tests.simulated_media import CLINICIAN_PATTERN, PATIENT_PATTERN, PatternCamera
from tests.threads import run_async

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
    assert (answer["to"], answer["peer_id"], answer["seat"]) == (
        browser.connection_id,
        browser.peer_id,
        browser.seat,
    )
    await browser.accept(answer)


def scenario(
    body: Callable[[Worker, Outbox, FakeBrowser, FakeBrowser, InMemoryImageStore], Awaitable[None]],
    patient: Callable[[], FakeBrowser] | None = None,
    clinician: Callable[[], FakeBrowser] | None = None,
    joining: tuple[str, ...] = ("patient", "clinician"),
) -> None:
    """Runs `body` once the roles in `joining` have joined, in that order (pattern cameras
    unless other browsers are given); closes everything afterwards."""
    make_patient = patient or (lambda: FakeBrowser("patient", PatternCamera(PATIENT_PATTERN), "conn-patient"))
    make_clinician = clinician or (
        lambda: FakeBrowser("clinician", PatternCamera(CLINICIAN_PATTERN), "conn-clinician")
    )

    async def run() -> None:
        store = InMemoryImageStore()
        worker, outbox = make_worker(store)
        patient = make_patient()
        clinician = make_clinician()
        try:
            for role in joining:
                await join(worker, outbox, patient if role == "patient" else clinician)
            await body(worker, outbox, patient, clinician, store)
        finally:
            await patient.close()
            await clinician.close()
            await worker.drain()

    run_async(run, timeout=120)
