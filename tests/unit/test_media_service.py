"""The video call's server side against fakes: worker assignment, signalling routes,
reconnects, media state and quality (screenshots: test_screenshots.py; written information:
test_documents.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.domain.appointment import Status
from tests.unit.factories import (
    CYD,
    WORKER_SECRET,
    FakeWorld,
    send,
)
from tests.unit.in_a_call import in_session, pushed


@pytest.fixture
def world() -> FakeWorld:
    return FakeWorld()


def test_a_wrong_worker_credential_is_refused(world: FakeWorld) -> None:
    from chalicelib.errors import Unauthorized

    with pytest.raises(Unauthorized):
        world.live().connect("w", {"worker_token": "guess"})
    assert not world.registry.connections


def test_call_goes_to_the_least_loaded_worker_and_both_sides_hear_it(world: FakeWorld) -> None:
    live, appointment = in_session(world, {"busy": (4, 3), "idle": (4, 1), "full": (2, 2)})
    assert send(live, "ada-1", type="call", appointment_id=appointment.id) == []
    stored = world.appointment_store.get(appointment.id)
    assert stored is not None and stored.media_worker_id == "idle"
    for side in ("ada-1", "pat-1"):
        (call,) = pushed(world, side, "call")
        assert call["ice_servers"] == [{"urls": ["stun:stun.test:3478"]}]
        assert call["ice_transport_policy"] == "all"
    assert not pushed(world, "ben-1", "call")
    assert world.audit_log.trail(appointment.id)[-1].action == "call_assigned"


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
    assert (offer["seat"], offer["from"], offer["peer_id"]) == ("patient", "pat-1", "x1")
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
    assert send(live, "conn-w1", type="renegotiate", appointment_id=appointment.id, seat="patient") == []
    (again,) = pushed(world, "pat-1", "call")[1:]
    assert again["reconnect"] is True and again["appointment_id"] == appointment.id
    assert len(pushed(world, "ada-1", "call")) == calls_before  # the clinician's call goes on
    (error,) = send(live, "conn-w1", type="renegotiate", appointment_id=appointment.id, role="guest")
    assert (error["code"], error["field"]) == ("validation_error", "seat")
    live.connect("conn-w2", {"worker_token": WORKER_SECRET})
    send(live, "conn-w2", type="worker_hello", worker_id="w2", capacity=1, load=0)
    (error,) = send(live, "conn-w2", type="renegotiate", appointment_id=appointment.id, seat="patient")
    assert error["code"] == "not_found"  # not that worker's visit
    (error,) = send(live, "pat-1", type="renegotiate", appointment_id=appointment.id, seat="patient")
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
    assert pushed(world, "pat-1", "media_state")[-1] == expected | {"from": "clinician", "seat": "clinician"}
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
        "connected": True, "from": "patient", "seat": "patient",
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


def test_a_draining_worker_hands_its_visits_over(world: FakeWorld) -> None:
    live, appointment = in_session(world, {"w1": (4, 0)})
    send(live, "ada-1", type="call", appointment_id=appointment.id)
    live.connect("conn-w2", {"worker_token": WORKER_SECRET})
    send(live, "conn-w2", type="worker_hello", worker_id="w2", capacity=4, load=0)
    send(live, "conn-w1", type="worker_status", capacity=4, load=1, draining=True)
    stored = world.appointment_store.get(appointment.id)
    assert stored is not None and stored.media_worker_id == "w2"
    assert pushed(world, "ada-1", "call")[-1]["reconnect"] is True
    assert pushed(world, "pat-1", "call")[-1]["reconnect"] is True
    assert pushed(world, "conn-w1", "end")[-1]["appointment_id"] == appointment.id


def test_leaving_the_session_ends_the_call_at_the_worker(world: FakeWorld) -> None:
    live, appointment = in_session(world)
    send(live, "ada-1", type="call", appointment_id=appointment.id)
    send(live, "ada-1", type="hangup", appointment_id=appointment.id, mode="leave")
    assert pushed(world, "conn-w1", "end") == [{"type": "end", "appointment_id": appointment.id}]
    stored = world.appointment_store.get(appointment.id)
    assert stored is not None and stored.status is Status.COMPLETED and stored.media_worker_id is None


def test_a_relay_only_setting_reaches_both_pages_with_the_call() -> None:
    from chalicelib.auth.turn_credentials import turn_credentials

    world = FakeWorld(turn=turn_credentials(["turn:turn.test:3478"], "shared"), ice_transport_policy="relay")
    live, appointment = in_session(world)
    send(live, "ada-1", type="call", appointment_id=appointment.id)
    for side in ("ada-1", "pat-1"):
        (call,) = pushed(world, side, "call")
        assert call["ice_transport_policy"] == "relay" and call["ice_servers"][-1]["credential"]
