"""The worker against eclinic_protocol: it handles every message the server may send it, what
it sends parses as the server reads it, and a message that does not parse is dropped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from eclinic_protocol import from_worker, to_worker
from eclinic_protocol.envelope import Error
from media_worker.storage import InMemoryImageStore
from tests.simulated_browser import FakeBrowser
from tests.simulated_media import PATIENT_PATTERN, PatternCamera
from tests.threads import run_async
from tests.worker.harness import APPOINTMENT, join, make_worker


def test_the_worker_handles_every_message_the_server_sends_it() -> None:
    worker, _ = make_worker(InMemoryImageStore())
    ignored = {to_worker.WorkerWelcome, Error}  # the welcome needs nothing; SignallingClient logs errors
    assert set(worker.handlers()) | ignored == set(to_worker.WORKER_RECEIVES.messages)


def test_what_the_worker_sends_parses_as_the_server_reads_it() -> None:
    async def run() -> None:
        worker, outbox = make_worker(InMemoryImageStore())
        sent: list[dict[str, Any]] = []
        record = outbox.send

        def keep(message: dict[str, Any]) -> None:
            sent.append(message)
            record(message)

        outbox.send = keep  # type: ignore[method-assign]
        patient = FakeBrowser("patient", PatternCamera(PATIENT_PATTERN), "conn-patient")
        try:
            sent.append(worker.hello())
            await join(worker, outbox, patient)
            soon = (datetime.now(UTC) + timedelta(seconds=60)).isoformat()
            capture = to_worker.Capture(
                appointment_id="elsewhere", request_id="r1", key="k.jpg", not_after=soon
            )
            await worker.on_message(capture.to_json())
            await outbox.next("capture_failed")  # no such visit on this worker
        finally:
            await patient.close()
            await worker.drain()
        kinds = {message["type"] for message in sent}
        assert {"worker_hello", "answer", "worker_status", "capture_failed"} <= kinds
        for message in sent:
            from_worker.WORKER_SENDS.parse(message)

    run_async(run, timeout=60)


def test_a_message_that_does_not_parse_is_dropped() -> None:
    async def run() -> None:
        worker, outbox = make_worker(InMemoryImageStore())
        offer = {
            "type": "offer",
            "appointment_id": APPOINTMENT,
            "role": "patient",
            "from": "c",
            "peer_id": "p",
        }
        await worker.on_message(offer)  # no sdp: before, the string "None" reached aiortc
        assert not worker.visits and not outbox.messages

    run_async(run)
