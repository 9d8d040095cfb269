"""A clinician in a session with a waiting patient, and media workers connected: where the
call tests (test_media_service, test_screenshots, test_documents) start, and what the fake
management API pushed to one connection."""

from __future__ import annotations

from typing import Any

from chalicelib.api import bodies
from chalicelib.domain.appointment import Appointment
from chalicelib.usecases.live import LiveService
from tests.unit.factories import ADA, BEN, WORKER_SECRET, FakeWorld, invite_body, send


def pushed(world: FakeWorld, connection_id: str, kind: str) -> list[dict[str, Any]]:
    return [m for m in world.management.to(connection_id) if m["type"] == kind]


def in_session(
    world: FakeWorld, workers: dict[str, tuple[int, int]] | None = None
) -> tuple[LiveService, Appointment]:
    """Ada has taken a waiting patient; workers are connected with (capacity, load)."""
    live = world.live()
    appointment = world.service().invite(ADA, bodies.invite(invite_body()))
    live.connect("ada-1", {"id_token": ADA.email})
    live.connect("ben-1", {"id_token": BEN.email})
    live.connect("pat-1", {"token": world.token_of(appointment)})
    for worker_id, (capacity, load) in (workers or {"w1": (4, 0)}).items():
        live.connect(f"conn-{worker_id}", {"worker_token": WORKER_SECRET})
        send(
            live, f"conn-{worker_id}", type="worker_hello", worker_id=worker_id, capacity=capacity, load=load
        )
    send(live, "ada-1", type="take", appointment_id=appointment.id)
    return live, appointment
