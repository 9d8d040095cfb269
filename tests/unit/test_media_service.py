"""The video call's server side against fakes: worker assignment, signalling routes,
screenshots with consent, written information."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.domain.appointment import Appointment, Status
from chalicelib.domain.screenshot import CONSENT_TTL, ScreenshotStatus
from chalicelib.errors import Conflict, NotFound, TooLarge, ValidationFailed
from chalicelib.usecases.live import LiveService
from tests.unit.factories import (
    ADA,
    BEN,
    CYD,
    WORKER_SECRET,
    FakeWorld,
    invite_body,
    send,
)


@pytest.fixture
def world() -> FakeWorld:
    return FakeWorld()


def pushed(world: FakeWorld, connection_id: str, kind: str) -> list[dict[str, Any]]:
    return [m for m in world.management.to(connection_id) if m["type"] == kind]


def in_session(
    world: FakeWorld, workers: dict[str, tuple[int, int]] | None = None
) -> tuple[LiveService, Appointment]:
    """Ada has taken a waiting patient; workers are connected with (capacity, load)."""
    live = world.live()
    appointment = world.service().invite(ADA, invite_body())
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


def test_a_wrong_worker_credential_is_refused(world: FakeWorld) -> None:
    from chalicelib.errors import Unauthorized

    with pytest.raises(Unauthorized):
        world.live().connect("w", {"worker_token": "guess"})
    assert not world.registry.connections


def test_call_goes_to_the_least_loaded_worker_and_both_sides_hear_it(world: FakeWorld) -> None:
    live, appointment = in_session(world, {"busy": (4, 3), "idle": (4, 1), "full": (2, 2)})
    assert send(live, "ada-1", type="call", appointment_id=appointment.id) == []
    stored = world.repository.get(appointment.id)
    assert stored is not None and stored.media_worker_id == "idle"
    for side in ("ada-1", "pat-1"):
        (call,) = pushed(world, side, "call")
        assert call["ice_servers"] == [{"urls": ["stun:stun.test:3478"]}]
        assert call["ice_transport_policy"] == "all"
    assert not pushed(world, "ben-1", "call")
    assert world.repository.audit_trail(appointment.id)[-1].action == "call_assigned"


def test_with_turn_each_call_carries_credentials_of_its_own_until_the_window_ends() -> None:
    from chalicelib.auth.turn_credentials import password, turn_credentials

    world = FakeWorld(turn=turn_credentials(["turn:turn.test:3478"], "shared"))
    live, appointment = in_session(world)
    send(live, "ada-1", type="call", appointment_id=appointment.id)
    send(live, "ada-1", type="call", appointment_id=appointment.id)
    first, second = pushed(world, "ada-1", "call")
    assert pushed(world, "pat-1", "call")[0]["ice_servers"] == first["ice_servers"]  # one call, both sides
    stun, turn = first["ice_servers"]
    assert stun == {"urls": ["stun:stun.test:3478"]}
    assert turn["urls"] == ["turn:turn.test:3478"] and turn["credential"] == password(
        b"shared", turn["username"]
    )
    expires = int(turn["username"].split(":")[0])
    window_ends = appointment.link_expires_at(timedelta(hours=2))  # the factories' link grace
    assert window_ends < world.clock() + timedelta(hours=4)
    assert expires == int(window_ends.timestamp())  # valid while the link is, not for ever
    assert second["ice_servers"][1]["username"] != turn["username"]  # another call, another credential


def test_no_free_worker_is_a_clear_error(world: FakeWorld) -> None:
    live, appointment = in_session(world, {"full": (1, 1)})
    (error,) = send(live, "ada-1", type="call", appointment_id=appointment.id)
    assert error["ref"] == "call" and "try again" in error["message"]


def test_only_the_session_clinician_calls(world: FakeWorld) -> None:
    live, appointment = in_session(world)
    (error,) = send(live, "ben-1", type="call", appointment_id=appointment.id)
    assert error["code"] == "forbidden"
    live.connect("cyd-1", {"id_token": CYD.email})
    (error,) = send(live, "cyd-1", type="call", appointment_id=appointment.id)
    assert error["code"] == "not_found"


def test_offers_go_to_the_worker_and_answers_back_to_that_browser(world: FakeWorld) -> None:
    live, appointment = in_session(world)
    send(live, "ada-1", type="call", appointment_id=appointment.id)
    send(live, "pat-1", type="offer", appointment_id=appointment.id, peer_id="x1", sdp="v=0\r\nfake")
    (offer,) = pushed(world, "conn-w1", "offer")
    assert (offer["role"], offer["from"], offer["peer_id"]) == ("patient", "pat-1", "x1")
    send(
        live,
        "pat-1",
        type="candidate",
        appointment_id=appointment.id,
        peer_id="x1",
        candidate={"candidate": "c"},
    )
    assert pushed(world, "conn-w1", "candidate")[0]["from"] == "pat-1"
    send(
        live,
        "conn-w1",
        type="answer",
        appointment_id=appointment.id,
        to="pat-1",
        peer_id="x1",
        sdp="v=0\r\nanswer",
    )
    assert pushed(world, "pat-1", "answer") == [
        {"type": "answer", "appointment_id": appointment.id, "sdp": "v=0\r\nanswer"}
    ]
    # a worker cannot push answers to anyone else, nor for visits that are not its own
    send(live, "conn-w1", type="answer", appointment_id=appointment.id, to="ben-1", sdp="v=0\r\nx")
    assert not pushed(world, "ben-1", "answer")
    live.connect("conn-w2", {"worker_token": WORKER_SECRET})
    send(live, "conn-w2", type="worker_hello", worker_id="w2", capacity=1, load=0)
    (error,) = send(live, "conn-w2", type="answer", appointment_id=appointment.id, to="pat-1", sdp="v=0\r\ny")
    assert error["code"] == "not_found"


def test_the_worker_can_ask_one_side_to_offer_again(world: FakeWorld) -> None:
    live, appointment = in_session(world)
    send(live, "ada-1", type="call", appointment_id=appointment.id)
    calls_before = len(pushed(world, "ada-1", "call"))
    assert send(live, "conn-w1", type="renegotiate", appointment_id=appointment.id, role="patient") == []
    (again,) = pushed(world, "pat-1", "call")[1:]
    assert again["reconnect"] is True and again["appointment_id"] == appointment.id
    assert len(pushed(world, "ada-1", "call")) == calls_before  # the clinician's call goes on
    (error,) = send(live, "conn-w1", type="renegotiate", appointment_id=appointment.id, role="guest")
    assert (error["code"], error["field"]) == ("validation_error", "role")
    live.connect("conn-w2", {"worker_token": WORKER_SECRET})
    send(live, "conn-w2", type="worker_hello", worker_id="w2", capacity=1, load=0)
    (error,) = send(live, "conn-w2", type="renegotiate", appointment_id=appointment.id, role="patient")
    assert error["code"] == "not_found"  # not that worker's visit
    (error,) = send(live, "pat-1", type="renegotiate", appointment_id=appointment.id, role="patient")
    assert error["code"] == "validation_error"  # browsers cannot send it
    assert len(pushed(world, "pat-1", "call")) == 2


@pytest.mark.parametrize("sdp", ["", "hello", "v=0" + "x" * 30000])
def test_malformed_offers_are_refused(world: FakeWorld, sdp: str) -> None:
    live, appointment = in_session(world)
    send(live, "ada-1", type="call", appointment_id=appointment.id)
    (error,) = send(live, "ada-1", type="offer", appointment_id=appointment.id, sdp=sdp)
    assert error["code"] == "validation_error" and not pushed(world, "conn-w1", "offer")


def test_media_state_reaches_the_other_side(world: FakeWorld) -> None:
    live, appointment = in_session(world)
    send(live, "ada-1", type="media_state", appointment_id=appointment.id, audio=False, video=True)
    expected = {"type": "media_state", "appointment_id": appointment.id, "audio": False, "video": True}
    assert pushed(world, "pat-1", "media_state")[-1] == expected | {"from": "clinician"}
    send(live, "pat-1", type="media_state", appointment_id=appointment.id, audio=True, video=False)
    assert pushed(world, "ada-1", "media_state")[-1]["video"] is False
    (error,) = send(live, "pat-1", type="media_state", appointment_id=appointment.id, audio="loud")
    assert error["field"] == "audio"


def test_media_state_says_why_the_video_is_off(world: FakeWorld) -> None:
    live, appointment = in_session(world)
    send(
        live,
        "pat-1",
        type="media_state",
        appointment_id=appointment.id,
        audio=True,
        video=False,
        video_off="background",
    )
    assert pushed(world, "ada-1", "media_state")[-1]["video_off"] == "background"
    before = len(pushed(world, "ada-1", "media_state"))
    (error,) = send(
        live, "pat-1", type="media_state", appointment_id=appointment.id, video=False, video_off="asleep"
    )
    assert error["field"] == "video_off" and len(pushed(world, "ada-1", "media_state")) == before


def test_quality_reaches_the_other_side_and_is_checked(world: FakeWorld) -> None:
    live, appointment = in_session(world)
    assert (
        send(
            live, "pat-1", type="quality", appointment_id=appointment.id, level="poor", rtt_ms=420, loss=0.12
        )
        == []
    )
    assert pushed(world, "ada-1", "quality")[-1] == {
        "type": "quality", "appointment_id": appointment.id, "level": "poor", "rtt_ms": 420, "loss": 0.12,
        "connected": True, "from": "patient",
    }  # fmt: skip
    send(live, "pat-1", type="quality", appointment_id=appointment.id, level="poor", connected=False)
    assert pushed(world, "ada-1", "quality")[-1]["connected"] is False
    send(live, "ada-1", type="quality", appointment_id=appointment.id, level="good")
    assert pushed(world, "pat-1", "quality")[-1]["from"] == "clinician"
    for bad, field in (
        ({"level": "awful"}, "level"),
        ({"level": "good", "rtt_ms": -1}, "rtt_ms"),
        ({"level": "good", "loss": 2}, "loss"),
        ({"level": "good", "loss": True}, "loss"),
        ({"level": "good", "connected": "no"}, "connected"),
    ):
        (error,) = send(live, "pat-1", type="quality", appointment_id=appointment.id, **bad)
        assert error["field"] == field, bad
    assert len(pushed(world, "ada-1", "quality")) == 2  # the refused ones reached nobody


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
    (listed,), more = world.media().screenshots(ADA, appointment.id)
    assert more == {}
    assert listed["id"] == request_id
    actions = [e.action for e in world.repository.audit_trail(appointment.id)]
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
    shot = world.repository.get_screenshot(appointment.id, ack["request_id"])
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
    shot = world.repository.get_screenshot(appointment.id, ack["request_id"])
    assert shot is not None and shot.status is ScreenshotStatus.FAILED
    assert world.media().screenshots(ADA, appointment.id) == ([], {})
    assert shot.storage_key() not in world.files.files  # deleted, not left in the bucket
    actions = [e.action for e in world.repository.audit_trail(appointment.id)]
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


def test_a_draining_worker_hands_its_visits_over(world: FakeWorld) -> None:
    live, appointment = in_session(world, {"w1": (4, 0)})
    send(live, "ada-1", type="call", appointment_id=appointment.id)
    live.connect("conn-w2", {"worker_token": WORKER_SECRET})
    send(live, "conn-w2", type="worker_hello", worker_id="w2", capacity=4, load=0)
    send(live, "conn-w1", type="worker_status", capacity=4, load=1, draining=True)
    stored = world.repository.get(appointment.id)
    assert stored is not None and stored.media_worker_id == "w2"
    assert pushed(world, "ada-1", "call")[-1]["reconnect"] is True
    assert pushed(world, "pat-1", "call")[-1]["reconnect"] is True
    assert pushed(world, "conn-w1", "end")[-1]["appointment_id"] == appointment.id


def test_leaving_the_session_ends_the_call_at_the_worker(world: FakeWorld) -> None:
    live, appointment = in_session(world)
    send(live, "ada-1", type="call", appointment_id=appointment.id)
    send(live, "ada-1", type="hangup", appointment_id=appointment.id, mode="leave")
    assert pushed(world, "conn-w1", "end") == [{"type": "end", "appointment_id": appointment.id}]
    stored = world.repository.get(appointment.id)
    assert stored is not None and stored.status is Status.COMPLETED and stored.media_worker_id is None


def test_written_information_reaches_the_patient(world: FakeWorld) -> None:
    _live, appointment = in_session(world)
    shown = world.media().send_document(BEN, appointment.id, {"title": "After-care", "text": "Rest."})
    assert shown["filename"] == "After-care.txt"
    assert pushed(world, "pat-1", "document")[-1]["document"]["id"] == shown["id"]
    pdf = base64.b64encode(b"%PDF-1.7 tiny").decode()
    sent = world.media().send_document(
        ADA,
        appointment.id,
        {
            "title": "Leaflet",
            "filename": "../../etc/le aflet?.pdf",
            "content_type": "application/pdf",
            "content_base64": pdf,
        },
    )
    assert sent["filename"] == "le aflet_.pdf"
    assert [d["title"] for d in world.media().patient_documents(appointment)] == ["After-care", "Leaflet"]
    assert (
        world.media()
        .patient_document_link(appointment, sent["id"])
        .startswith("https://files.test/documents/")
    )
    with pytest.raises(NotFound):
        world.media().patient_document_link(appointment, "nope")


@pytest.mark.parametrize(
    ("body", "error", "field"),
    [
        ({"title": "x", "text": ""}, ValidationFailed, "text"),
        ({"title": "", "text": "x"}, ValidationFailed, "title"),
        (
            {"title": "x", "content_type": "application/x-msdownload", "content_base64": "TVo="},
            ValidationFailed,
            "content_type",
        ),
        (
            {
                "title": "x",
                "content_type": "application/pdf",
                "content_base64": base64.b64encode(b"MZ not a pdf").decode(),
            },
            ValidationFailed,
            "content_type",
        ),
        (
            {"title": "x", "content_type": "image/png", "content_base64": "***"},
            ValidationFailed,
            "content_base64",
        ),
        (
            {
                "title": "x",
                "content_type": "text/plain",
                "content_base64": base64.b64encode(b"a" * (5 * 1024 * 1024 + 1)).decode(),
            },
            TooLarge,
            "content_base64",
        ),
    ],
)
def test_bad_documents_are_refused_and_nothing_is_sent(
    world: FakeWorld, body: dict[str, Any], error: type, field: str
) -> None:
    _, appointment = in_session(world)
    with pytest.raises(error) as raised:
        world.media().send_document(ADA, appointment.id, body)
    assert raised.value.field == field
    assert not world.files.files and not pushed(world, "pat-1", "document")


def test_documents_for_another_group_or_a_cancelled_appointment(world: FakeWorld) -> None:
    appointment = world.service().invite(ADA, invite_body())
    with pytest.raises(NotFound):
        world.media().send_document(CYD, appointment.id, {"title": "x", "text": "y"})
    world.service().cancel(ADA, appointment.id)
    with pytest.raises(Conflict):
        world.media().send_document(ADA, appointment.id, {"title": "x", "text": "y"})


def test_a_relay_only_setting_reaches_both_pages_with_the_call() -> None:
    from chalicelib.auth.turn_credentials import turn_credentials

    world = FakeWorld(turn=turn_credentials(["turn:turn.test:3478"], "shared"), ice_transport_policy="relay")
    live, appointment = in_session(world)
    send(live, "ada-1", type="call", appointment_id=appointment.id)
    for side in ("ada-1", "pat-1"):
        (call,) = pushed(world, side, "call")
        assert call["ice_transport_policy"] == "relay" and call["ice_servers"][-1]["credential"]
