"""A guest on the websocket, against in-memory fakes and the real use cases: a guest's link
connects as that guest (never as the patient), everyone in the call hears who is there, chat
and signalling reach every seat, and a removed guest's pages close and their link dies."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.api import bodies
from chalicelib.domain.appointment import Appointment, Status
from chalicelib.domain.patient_wording import GUEST_STEPPED_OUT, GUEST_WORDS, PATIENT_WORDS, STEPPED_OUT
from chalicelib.errors import Gone
from chalicelib.usecases.guests import GuestService
from chalicelib.usecases.live import LiveService
from tests.unit.factories import ADA, BEN, WORKER_SECRET, FakeWorld, invite_body, send
from tests.unit.in_a_call import pushed
from tests.unit.test_guest_service import link_of


def add_guest(world: FakeWorld, guests: GuestService, a: Appointment, name: str = "Ines Tolk") -> str:
    """Adds an interpreter; returns the link token from their mail."""
    body = {"name": name, "email": "ines@example.com", "role": "interpreter"}
    guests.add(BEN, a.id, bodies.add_guest(body))
    return link_of(world)


@pytest.fixture
def world() -> FakeWorld:
    return FakeWorld()


def booked(world: FakeWorld) -> tuple[LiveService, GuestService, Appointment]:
    live, guests = world.live_and_guests()
    appointment = world.service().invite(ADA, bodies.invite(invite_body()))
    live.connect("ada-1", {"id_token": ADA.email})
    return live, guests, appointment


def in_call(world: FakeWorld) -> tuple[LiveService, GuestService, Appointment]:
    """Ada has taken the patient, called, and the interpreter has joined."""
    live, guests, appointment = booked(world)
    token = add_guest(world, guests, appointment)
    live.connect("pat-1", {"token": world.token_of(appointment)})
    live.connect("conn-w1", {"worker_token": WORKER_SECRET})
    send(live, "conn-w1", type="worker_hello", worker_id="w1", capacity=4, load=0)
    send(live, "ada-1", type="take", appointment_id=appointment.id)
    send(live, "ada-1", type="call", appointment_id=appointment.id)
    live.connect("guest-1", {"token": token})
    return live, guests, appointment


def current(world: FakeWorld, a: Appointment) -> Appointment:
    found = world.appointment_store.get(a.id)
    assert found is not None
    return found


def seats(message: dict[str, Any]) -> list[str]:
    return [p["seat"] for p in message["participants"]]


def test_a_guest_link_connects_as_the_guest_and_never_shows_the_patient_online(world: FakeWorld) -> None:
    live, guests, appointment = booked(world)
    token = add_guest(world, guests, appointment)
    connection = live.connect("guest-1", {"token": token})
    assert (connection.role.value, connection.seat, connection.name) == ("guest", "guest-1", "Ines Tolk")
    after = current(world, appointment)
    assert after.status is Status.SCHEDULED and after.waiting_since is None
    assert [g.status.value for g in after.guests] == ["online"]
    live.disconnect("guest-1")
    assert [g.status.value for g in current(world, appointment).guests] == ["invited"]


def test_a_guest_may_not_speak_for_the_patient(world: FakeWorld) -> None:
    live, _, appointment = in_call(world)
    for kind, fields in (
        ("screenshot_consent", {"request_id": "r", "granted": True}),
        ("device_check", {"camera": "ok", "microphone": "ok"}),
        ("take", {}),
    ):
        (error,) = send(live, "guest-1", type=kind, appointment_id=appointment.id, **fields)
        assert (error["code"], error["ref"]) == ("validation_error", kind)
    assert current(world, appointment).device_check is None


def test_everyone_in_the_call_hears_who_is_there(world: FakeWorld) -> None:
    live, _, appointment = in_call(world)
    assert not pushed(world, "guest-1", "participants")  # its $connect still runs: it hears on `call`
    send(live, "guest-1", type="call", appointment_id=appointment.id)
    for page in ("ada-1", "pat-1", "guest-1"):
        last = pushed(world, page, "participants")[-1]
        assert seats(last) == ["clinician", "patient", "guest-1"], page
    guest_entry = pushed(world, "pat-1", "participants")[-1]["participants"][2]
    assert guest_entry["role"] == "guest" and guest_entry["guest_role"] == "interpreter"
    assert guest_entry["name"] == "Ines Tolk" and guest_entry["id"] != "guest-1"
    send(live, "guest-1", type="media_state", appointment_id=appointment.id, audio=False, video=True)
    muted = pushed(world, "ada-1", "participants")[-1]["participants"][2]
    assert (muted["audio"], muted["video"]) == (False, True)
    state = pushed(world, "pat-1", "media_state")[-1]
    assert (state["from"], state["seat"], state["audio"]) == ("guest", "guest-1", False)


def test_chat_from_a_guest_reaches_everyone_as_from_a_guest(world: FakeWorld) -> None:
    live, _, appointment = in_call(world)
    assert send(live, "guest-1", type="chat", appointment_id=appointment.id, text="Hola") == []
    for page in ("ada-1", "pat-1", "guest-1"):
        line = pushed(world, page, "chat")[-1]
        assert (line["from"], line["seat"], line["name"], line["text"]) == (
            "guest",
            "guest-1",
            "Ines Tolk",
            "Hola",
        )


def test_a_guest_joining_a_running_call_gets_it_and_offers_on_its_seat(world: FakeWorld) -> None:
    live, _, appointment = in_call(world)
    (call,) = send(live, "guest-1", type="call", appointment_id=appointment.id)
    assert call["type"] == "call" and call["reconnect"] is True
    send(live, "guest-1", type="offer", appointment_id=appointment.id, sdp="v=0\r\n", peer_id="g1")
    offer = pushed(world, "conn-w1", "offer")[-1]
    assert (offer["seat"], offer["from"]) == ("guest-1", "guest-1")
    send(
        live,
        "conn-w1",
        type="answer",
        appointment_id=appointment.id,
        to="guest-1",
        sdp="v=0\r\n",
        seat="guest-1",
    )
    assert pushed(world, "guest-1", "answer")
    send(live, "conn-w1", type="renegotiate", appointment_id=appointment.id, seat="guest-1")
    assert pushed(world, "guest-1", "call")[-1]["reconnect"] is True


def test_a_guest_leaving_tells_the_worker_and_the_others(world: FakeWorld) -> None:
    live, _, _ = in_call(world)
    live.disconnect("guest-1")
    leave = pushed(world, "conn-w1", "leave")[-1]
    assert (leave["seat"], leave["from"]) == ("guest-1", "guest-1")
    assert seats(pushed(world, "ada-1", "participants")[-1]) == ["clinician", "patient"]


def test_removing_a_guest_ends_their_page_and_their_link(world: FakeWorld) -> None:
    live, guests, appointment = in_call(world)
    guest = current(world, appointment).guests[0]
    guests.remove(BEN, appointment.id, guest.id)
    assert pushed(world, "guest-1", "session_ended")
    assert "guest-1" in world.management.closed and world.registry.get("guest-1") is None
    leave = pushed(world, "conn-w1", "leave")[-1]
    assert (leave["seat"], leave.get("from", "")) == ("guest-1", "")
    assert seats(pushed(world, "pat-1", "participants")[-1]) == ["clinician", "patient"]
    with pytest.raises(Gone):
        live.connect("guest-2", {"token": link_of(world)})


def test_a_guest_link_dies_with_the_appointment(world: FakeWorld) -> None:
    live, guests, appointment = booked(world)
    token = add_guest(world, guests, appointment)
    live.connect("guest-1", {"token": token})
    world.service().cancel(ADA, appointment.id)
    assert pushed(world, "guest-1", "cancelled") and "guest-1" in world.management.closed
    with pytest.raises(Gone):
        live.connect("guest-2", {"token": token})


def test_a_guest_hears_the_visit_in_a_guests_words(world: FakeWorld) -> None:
    live, _, appointment = in_call(world)
    assert pushed(world, "pat-1", "status")[-1]["message"] == PATIENT_WORDS[Status.IN_SESSION]
    send(live, "ada-1", type="hangup", appointment_id=appointment.id, mode="exit")
    assert pushed(world, "guest-1", "status")[-1]["message"] == GUEST_STEPPED_OUT
    assert pushed(world, "pat-1", "status")[-1]["message"] == STEPPED_OUT
    send(live, "ada-1", type="take", appointment_id=appointment.id)
    assert pushed(world, "guest-1", "status")[-1]["message"] == GUEST_WORDS[Status.IN_SESSION]


def test_a_clinicians_page_leaving_the_call_tells_the_worker_and_the_others(world: FakeWorld) -> None:
    live, _, appointment = in_call(world)
    send(live, "ada-1", type="offer", appointment_id=appointment.id, sdp="v=0\r\n", peer_id="a1")
    live.disconnect("ada-1")
    leave = pushed(world, "conn-w1", "leave")[-1]
    assert (leave["seat"], leave["from"]) == ("clinician", "ada-1")
    assert seats(pushed(world, "pat-1", "participants")[-1]) == ["patient", "guest-1"]
