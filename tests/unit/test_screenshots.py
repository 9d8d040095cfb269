"""Screenshots with consent against fakes: denied, granted and listed, a capture after the
consent expired, and only the appointment's patient consents. Split from test_media_service.py."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.domain.screenshot import CONSENT_TTL, ScreenshotStatus
from tests.unit.factories import (
    ADA,
    FakeWorld,
    send,
)
from tests.unit.in_a_call import in_session, pushed


@pytest.fixture
def world() -> FakeWorld:
    return FakeWorld()


def test_screenshot_denied(world: FakeWorld) -> None:
    live, appointment = in_session(world)
    send(live, "ada-1", type="call", appointment_id=appointment.id)
    (ack,) = send(live, "ada-1", type="screenshot_request", appointment_id=appointment.id)
    request_id = ack["request_id"]
    assert pushed(world, "pat-1", "screenshot_request")[-1]["request_id"] == request_id
    send(
        live,
        "pat-1",
        type="screenshot_consent",
        appointment_id=appointment.id,
        request_id=request_id,
        granted=False,
    )
    assert pushed(world, "ada-1", "screenshot_denied") == [
        {"type": "screenshot_denied", "request_id": request_id}
    ]
    assert not pushed(world, "conn-w1", "capture")
    (again,) = send(
        live,
        "pat-1",
        type="screenshot_consent",
        appointment_id=appointment.id,
        request_id=request_id,
        granted=True,
    )
    assert again["code"] == "conflict" and not pushed(world, "conn-w1", "capture")


def test_screenshot_granted_captured_and_listed(world: FakeWorld) -> None:
    live, appointment = in_session(world)
    send(live, "ada-1", type="call", appointment_id=appointment.id)
    (ack,) = send(live, "ada-1", type="screenshot_request", appointment_id=appointment.id)
    request_id = ack["request_id"]
    send(
        live,
        "pat-1",
        type="screenshot_consent",
        appointment_id=appointment.id,
        request_id=request_id,
        granted=True,
    )
    (capture,) = pushed(world, "conn-w1", "capture")
    assert capture["key"] == f"screenshots/{appointment.id}/{request_id}.jpg"
    send(
        live,
        "conn-w1",
        type="captured",
        appointment_id=appointment.id,
        request_id=request_id,
        key=capture["key"],
        width=640,
        height=480,
    )
    (ready,) = pushed(world, "ada-1", "screenshot_ready")
    assert ready["screenshot"]["width"] == 640 and ready["screenshot"]["filename"].endswith(".jpg")
    assert ready["screenshot"]["url"].startswith("https://files.test/")
    (listed,), more = world.screenshots().screenshots(ADA, appointment.id)
    assert more == {}
    assert listed["id"] == request_id
    actions = [e.action for e in world.audit_log.trail(appointment.id)]
    assert actions[-3:] == ["screenshot_requested", "screenshot_allowed", "screenshot_stored"]
    # a second "captured" for the same consent is refused
    (error,) = send(
        live,
        "conn-w1",
        type="captured",
        appointment_id=appointment.id,
        request_id=request_id,
        key="x",
        width=1,
        height=1,
    )
    assert error["code"] == "conflict"


def test_a_capture_after_the_consent_expired_is_not_kept(world: FakeWorld) -> None:
    live, appointment = in_session(world)
    send(live, "ada-1", type="call", appointment_id=appointment.id)
    (ack,) = send(live, "ada-1", type="screenshot_request", appointment_id=appointment.id)
    send(
        live,
        "pat-1",
        type="screenshot_consent",
        appointment_id=appointment.id,
        request_id=ack["request_id"],
        granted=True,
    )
    world.clock.advance(CONSENT_TTL + timedelta(seconds=1))
    shot = world.screenshot_store.get(appointment.id, ack["request_id"])
    assert shot is not None
    world.files.put(shot.storage_key(), b"\xff\xd8 a late picture", "image/jpeg")  # the worker's upload
    send(
        live,
        "conn-w1",
        type="captured",
        appointment_id=appointment.id,
        request_id=ack["request_id"],
        key="k",
        width=640,
        height=480,
    )
    assert not pushed(world, "ada-1", "screenshot_ready")
    assert pushed(world, "ada-1", "screenshot_failed")
    shot = world.screenshot_store.get(appointment.id, ack["request_id"])
    assert shot is not None and shot.status is ScreenshotStatus.FAILED
    assert world.screenshots().screenshots(ADA, appointment.id) == ([], {})
    assert shot.storage_key() not in world.files.files  # deleted, not left in the bucket
    actions = [e.action for e in world.audit_log.trail(appointment.id)]
    assert "screenshot_deleted" in actions


def test_only_the_patient_of_the_appointment_can_consent(world: FakeWorld) -> None:
    live, appointment = in_session(world)
    (ack,) = send(live, "ada-1", type="screenshot_request", appointment_id=appointment.id)
    (error,) = send(
        live,
        "ada-1",
        type="screenshot_consent",
        appointment_id=appointment.id,
        request_id=ack["request_id"],
        granted=True,
    )
    assert error["code"] == "validation_error"  # clinicians have no such message
    (error,) = send(
        live,
        "pat-1",
        type="screenshot_consent",
        appointment_id=appointment.id,
        request_id="nope",
        granted=True,
    )
    assert error["code"] == "not_found"
