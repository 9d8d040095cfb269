"""Presence, session control, chat and bad messages, against in-memory fakes."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.api import bodies
from chalicelib.domain.appointment import Appointment, Status
from chalicelib.errors import Gone, NotFound, Unauthorized
from chalicelib.realtime.connections import HEARTBEAT_TIMEOUT
from tests.unit.factories import ADA, BEN, FakeWorld, invite_and_connect, invite_body, send


@pytest.fixture
def world() -> FakeWorld:
    return FakeWorld()


def status_of(world: FakeWorld, appointment: Appointment) -> Status:
    found = world.appointment_store.get(appointment.id)
    assert found is not None
    return found.status


def pushed(world: FakeWorld, connection_id: str, kind: str) -> list[dict[str, Any]]:
    return [m for m in world.management.to(connection_id) if m["type"] == kind]


def test_patient_presence_reaches_the_groups_clinicians_only(world: FakeWorld) -> None:
    live, appointment, token = invite_and_connect(world)
    live.connect("pat-1", {"token": token})
    assert status_of(world, appointment) is Status.WAITING
    for clinician in ("ada-1", "ben-1"):
        assert pushed(world, clinician, "appointment")[-1]["appointment"]["status"] == "waiting"
    assert not world.management.to("cyd-1")
    assert not world.management.to("pat-1")  # nothing is pushed while its own $connect runs
    live.disconnect("pat-1")
    assert status_of(world, appointment) is Status.SCHEDULED
    assert pushed(world, "ben-1", "appointment")[-1]["appointment"]["status"] == "scheduled"
    actions = [e.action for e in world.audit_log.trail(appointment.id)]
    assert actions[-4:] == ["patient_connected", "patient_online", "patient_disconnected", "patient_gone"]


def test_two_tabs_are_one_presence(world: FakeWorld) -> None:
    live, appointment, token = invite_and_connect(world)
    live.connect("pat-1", {"token": token})
    live.connect("pat-2", {"token": token})
    waiting_pushes = [
        m for m in pushed(world, "ada-1", "appointment") if m["appointment"]["status"] == "waiting"
    ]
    assert len(waiting_pushes) == 1
    live.disconnect("pat-1")
    assert status_of(world, appointment) is Status.WAITING
    live.disconnect("pat-2")
    assert status_of(world, appointment) is Status.SCHEDULED


@pytest.mark.parametrize(
    ("query", "error"),
    [({}, Unauthorized), ({"id_token": "forged"}, Unauthorized), ({"token": "x" * 43}, NotFound)],
)
def test_refused_connects_register_nothing(world: FakeWorld, query: dict[str, str], error: type) -> None:
    with pytest.raises(error):
        world.live().connect("c-1", query)
    assert not world.registry.connections


def test_a_cancelled_link_cannot_connect(world: FakeWorld) -> None:
    live, appointment, token = invite_and_connect(world)
    world.service().cancel(ADA, appointment.id)
    with pytest.raises(Gone):
        live.connect("pat-1", {"token": token})


def test_take_has_one_winner_and_others_see_it(world: FakeWorld) -> None:
    live, appointment, token = invite_and_connect(world)
    live.connect("pat-1", {"token": token})
    assert send(live, "ada-1", type="take", appointment_id=appointment.id) == []
    (error,) = send(live, "ben-1", type="take", appointment_id=appointment.id)
    assert (error["type"], error["code"], error["ref"]) == ("error", "conflict", "take")
    row = pushed(world, "ben-1", "appointment")[-1]["appointment"]
    assert (row["status"], row["taken_by"], row["taken_by_name"]) == ("in_session", ADA.email, ADA.name)
    assert pushed(world, "pat-1", "status")[-1] == {
        "type": "status",
        "status": "in_session",
        "message": "Your clinician has joined.",
    }
    # another group cannot even see it
    (error,) = send(live, "cyd-1", type="take", appointment_id=appointment.id)
    assert error["code"] == "not_found"
    # the same clinician again is a rejoin, not a conflict
    (again,) = send(live, "ada-1", type="take", appointment_id=appointment.id)
    assert again["type"] == "appointment" and again["appointment"]["status"] == "in_session"


def test_exit_keeps_the_patient_waiting_and_leave_completes(world: FakeWorld) -> None:
    live, appointment, token = invite_and_connect(world)
    live.connect("pat-1", {"token": token})
    send(live, "ada-1", type="take", appointment_id=appointment.id)
    (error,) = send(live, "ben-1", type="hangup", appointment_id=appointment.id, mode="exit")
    assert error["code"] == "forbidden"
    assert send(live, "ada-1", type="hangup", appointment_id=appointment.id, mode="exit") == []
    assert status_of(world, appointment) is Status.WAITING
    assert pushed(world, "pat-1", "status")[-1]["status"] == "waiting"
    send(live, "ben-1", type="take", appointment_id=appointment.id)
    send(live, "ben-1", type="hangup", appointment_id=appointment.id, mode="leave")
    assert status_of(world, appointment) is Status.COMPLETED
    assert pushed(world, "pat-1", "session_ended")[-1]["message"]
    assert pushed(world, "ada-1", "appointment")[-1]["appointment"]["status"] == "completed"


def test_exit_after_the_patient_left_goes_back_to_scheduled(world: FakeWorld) -> None:
    live, appointment, token = invite_and_connect(world)
    live.connect("pat-1", {"token": token})
    send(live, "ada-1", type="take", appointment_id=appointment.id)
    live.disconnect("pat-1")
    assert status_of(world, appointment) is Status.IN_SESSION  # a reload must not end the session
    send(live, "ada-1", type="hangup", appointment_id=appointment.id, mode="exit")
    assert status_of(world, appointment) is Status.SCHEDULED


def test_chat_between_the_session_clinician_and_the_patient_only(world: FakeWorld) -> None:
    live, appointment, token = invite_and_connect(world)
    live.connect("pat-1", {"token": token})
    (early,) = send(live, "pat-1", type="chat", appointment_id=appointment.id, text="hello?")
    assert early["code"] == "conflict"
    send(live, "ada-1", type="take", appointment_id=appointment.id)
    send(live, "pat-1", type="chat", appointment_id=appointment.id, text="Hello doctor <b>")
    send(live, "ada-1", type="chat", appointment_id=appointment.id, text="Hello Pat")
    for connection in ("pat-1", "ada-1"):
        assert [(m["from"], m["text"]) for m in pushed(world, connection, "chat")] == [
            ("patient", "Hello doctor <b>"),
            ("clinician", "Hello Pat"),
        ]
    assert not pushed(world, "ben-1", "chat")
    (error,) = send(live, "ben-1", type="chat", appointment_id=appointment.id, text="me too")
    assert error["code"] == "forbidden"
    (error,) = send(live, "cyd-1", type="chat", appointment_id=appointment.id, text="me too")
    assert error["code"] == "not_found"
    history = world.chat_store.page(appointment.id, 100, None).items
    assert [m.text for m in history] == ["Hello doctor <b>", "Hello Pat"]
    chat_audit = [e for e in world.audit_log.trail(appointment.id) if e.action == "chat"]
    assert len(chat_audit) == 2 and "Hello" not in repr(chat_audit)


def test_another_appointments_id_from_a_patient_is_not_found(world: FakeWorld) -> None:
    live, appointment, token = invite_and_connect(world)
    assert token
    other = world.service().invite(ADA, bodies.invite(invite_body(patient_email="other@example.com")))
    live.connect("pat-1", {"token": token})
    (error,) = send(live, "pat-1", type="chat", appointment_id=other.id, text="hi")
    assert error["code"] == "not_found"
    (error,) = send(live, "pat-1", type="take", appointment_id=appointment.id)
    assert error["code"] == "validation_error" and error["field"] == "type"


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        "[1, 2]",
        '{"no": "type"}',
        '{"type": 5}',
        '{"type": "dance"}',
        '{"type": "take"}',
        '{"type": "hangup", "appointment_id": "x", "mode": "sideways"}',
        '{"type": "chat", "appointment_id": "x", "text": ""}',
        json.dumps({"type": "chat", "appointment_id": "x", "text": "y" * 2001}),
        json.dumps({"type": "ping", "padding": "z" * (33 * 1024)}),
    ],
)
def test_bad_messages_get_an_error_and_change_nothing(world: FakeWorld, raw: str) -> None:
    live, appointment, _ = invite_and_connect(world)
    before = world.appointment_store.get(appointment.id)
    (error,) = live.handle("ada-1", raw)
    assert error["type"] == "error" and error["code"] in ("validation_error", "not_found")
    assert error["message"]
    assert world.appointment_store.get(appointment.id) == before
    assert send(live, "ada-1", type="ping") == [{"type": "pong"}]  # still usable


def test_ping_pong_and_unknown_connection(world: FakeWorld) -> None:
    live, _, _ = invite_and_connect(world)
    assert send(live, "ada-1", type="ping") == [{"type": "pong"}]
    (error,) = send(live, "nobody", type="ping")
    assert error["code"] == "unauthorized" and error["ref"] == "ping"


def test_cancel_while_online_tells_and_disconnects_the_patient(world: FakeWorld) -> None:
    live, appointment, token = invite_and_connect(world)
    live.connect("pat-1", {"token": token})
    world.service().cancel(BEN, appointment.id)
    assert pushed(world, "pat-1", "cancelled")[-1]["message"]
    assert "pat-1" in world.management.closed
    assert world.registry.get("pat-1") is None


def test_gone_connections_are_pruned_and_the_fan_out_carries_on(world: FakeWorld) -> None:
    live, _appointment, token = invite_and_connect(world)
    world.management.gone.add("ada-1")
    live.connect("pat-1", {"token": token})
    assert world.registry.get("ada-1") is None
    assert pushed(world, "ben-1", "appointment")[-1]["appointment"]["status"] == "waiting"


def test_a_silent_patient_stops_counting_and_is_swept(world: FakeWorld) -> None:
    live, appointment, token = invite_and_connect(world)
    live.connect("pat-1", {"token": token})
    world.clock.advance(HEARTBEAT_TIMEOUT - timedelta(seconds=1))
    assert live.sweep() == 0
    send(live, "pat-1", type="ping")  # the heartbeat moves last_seen
    world.clock.advance(HEARTBEAT_TIMEOUT - timedelta(seconds=1))
    assert live.sweep() == 0 and status_of(world, appointment) is Status.WAITING
    world.clock.advance(timedelta(seconds=2))
    assert live.sweep() == 1
    assert status_of(world, appointment) is Status.SCHEDULED
    assert "pat-1" in world.management.closed and world.registry.get("pat-1") is None


def test_a_clinician_connection_ends_with_its_token(world: FakeWorld) -> None:
    world.token_expires_at = world.clock() + timedelta(minutes=5)
    live, appointment, token = invite_and_connect(world)
    live.connect("pat-1", {"token": token})
    assert send(live, "ada-1", type="ping") == [{"type": "pong"}]
    world.clock.advance(timedelta(minutes=5))
    # A push to the group skips (and closes) the expired connections: nothing of the patient.
    pushed_before = len(world.management.to("ada-1"))
    world.service().cancel(BEN, appointment.id)
    assert len(world.management.to("ada-1")) == pushed_before
    assert "ada-1" in world.management.closed and world.registry.get("ada-1") is None

    live.connect("ada-2", {"id_token": ADA.email})  # reconnected, with a token that is expired too
    assert send(live, "ada-2", type="ping") == []  # refused: told, then closed
    (told,) = world.management.to("ada-2")
    assert (told["type"], told["code"]) == ("error", "unauthorized")
    assert world.registry.get("ada-2") is None


def test_each_connection_may_send_twenty_messages_in_ten_seconds(world: FakeWorld) -> None:
    live, appointment, token = invite_and_connect(world)
    live.connect("pat-1", {"token": token})
    for _ in range(20):
        (reply,) = send(live, "ada-1", type="take", appointment_id="nope")
        assert reply["code"] == "not_found"
    (limited,) = send(live, "ada-1", type="take", appointment_id=appointment.id)
    assert (limited["code"], limited["ref"]) == ("rate_limited", "take")
    assert status_of(world, appointment) is Status.WAITING  # nothing changed
    assert send(live, "ada-1", type="ping") == [{"type": "pong"}]  # pings are not counted, still open
    assert send(live, "ben-1", type="take", appointment_id=appointment.id) == []  # others unaffected
    world.clock.advance(timedelta(seconds=10))
    assert send(live, "ada-1", type="take", appointment_id="nope")[0]["code"] == "not_found"


def test_a_link_that_reconnects_in_a_loop_is_collapsed_in_the_audit_then_refused(world: FakeWorld) -> None:
    from chalicelib.errors import RateLimited
    from chalicelib.realtime.connections import AUDITED_CONNECTS, CONNECT_WINDOW, CONNECTS_PER_LINK

    live, appointment, token = invite_and_connect(world)
    before = len(world.audit_log.trail(appointment.id))
    for n in range(CONNECTS_PER_LINK):
        live.connect(f"pat-{n}", {"token": token})
        assert status_of(world, appointment) is Status.WAITING  # presence stays live
        live.disconnect(f"pat-{n}")
    with pytest.raises(RateLimited):
        live.connect("pat-over", {"token": token})
    assert world.registry.get("pat-over") is None
    actions = [e.action for e in world.audit_log.trail(appointment.id)[before:]]
    assert actions.count("patient_connected") == AUDITED_CONNECTS
    assert actions.count("patient_disconnected") == AUDITED_CONNECTS
    assert actions.count("patient_connects_collapsed") == 1
    # Each connect and disconnect still moves the appointment (scheduled <-> waiting), audited.
    assert len(actions) == 2 * AUDITED_CONNECTS + 1 + 2 * CONNECTS_PER_LINK

    world.clock.advance(CONNECT_WINDOW)
    live.connect("pat-later", {"token": token})
    assert status_of(world, appointment) is Status.WAITING
    assert world.audit_log.trail(appointment.id)[-2].action == "patient_connected"


def test_the_patients_device_check_reaches_the_groups_clinicians(world: FakeWorld) -> None:
    live, appointment, token = invite_and_connect(world)
    live.connect("pat-1", {"token": token})
    before = world.appointment_store.get(appointment.id)
    assert before is not None and before.device_check is None
    world.clock.advance(timedelta(seconds=5))
    check = {"type": "device_check", "appointment_id": appointment.id}
    assert send(live, "pat-1", **check, camera="denied", microphone="ok") == []
    stored = world.appointment_store.get(appointment.id)
    assert stored is not None and stored.status is Status.WAITING  # presence is not the camera
    assert stored.device_check is not None and stored.version == before.version + 1
    assert (stored.device_check.camera, stored.device_check.microphone) == ("denied", "ok")
    row = pushed(world, "ben-1", "appointment")[-1]["appointment"]
    assert row["device_check"] == {"camera": "denied", "microphone": "ok", "at": "2026-11-26T09:00:05Z"}
    assert pushed(world, "ada-1", "appointment")[-1]["appointment"]["device_check"] == row["device_check"]
    assert not world.management.to("cyd-1")  # another group hears nothing of it
    assert not pushed(world, "pat-1", "appointment")
    # The same result again (a reconnect) writes and pushes nothing; a new one replaces it.
    count = len(pushed(world, "ben-1", "appointment"))
    send(live, "pat-1", **check, camera="denied", microphone="ok")
    assert len(pushed(world, "ben-1", "appointment")) == count
    send(live, "pat-1", **check, camera="ok", microphone="silent")
    assert pushed(world, "ben-1", "appointment")[-1]["appointment"]["device_check"]["microphone"] == "silent"
    assert not [e for e in world.audit_log.trail(appointment.id) if "device" in e.action]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"camera": "broken", "microphone": "ok"}, "camera"),
        ({"camera": "ok", "microphone": "loud"}, "microphone"),
        ({"camera": "silent", "microphone": "ok"}, "camera"),  # a camera is never "silent"
        ({"camera": "OK", "microphone": "ok"}, "camera"),
        ({"camera": True, "microphone": "ok"}, "camera"),
        ({"camera": ["ok"], "microphone": "ok"}, "camera"),
        ({"microphone": "ok"}, "camera"),
        ({"camera": "ok"}, "microphone"),
        ({"camera": "ok", "microphone": None}, "microphone"),
    ],
)
def test_a_device_check_with_unknown_values_is_refused_and_changes_nothing(
    world: FakeWorld, fields: dict[str, Any], field: str
) -> None:
    live, appointment, token = invite_and_connect(world)
    live.connect("pat-1", {"token": token})
    before = world.appointment_store.get(appointment.id)
    pushes = len(world.management.to("ada-1"))
    (error,) = send(live, "pat-1", type="device_check", appointment_id=appointment.id, **fields)
    assert (error["type"], error["code"], error["ref"], error["field"]) == (
        "error",
        "validation_error",
        "device_check",
        field,
    )
    assert error["message"]
    assert world.appointment_store.get(appointment.id) == before
    assert len(world.management.to("ada-1")) == pushes


def test_only_the_patients_own_page_reports_a_device_check(world: FakeWorld) -> None:
    live, appointment, token = invite_and_connect(world)
    other = world.service().invite(ADA, bodies.invite(invite_body(patient_email="other@example.com")))
    live.connect("pat-1", {"token": token})
    live.connect("other-1", {"token": world.token_of(other)})
    check = {"type": "device_check", "camera": "ok", "microphone": "ok"}
    # another appointment's patient: not found, and neither appointment changes
    (error,) = send(live, "other-1", **check, appointment_id=appointment.id)
    assert (error["code"], error["ref"]) == ("not_found", "device_check")
    (error,) = send(live, "pat-1", **check, appointment_id="no-such-appointment")
    assert error["code"] == "not_found"
    # a clinician cannot speak for the patient, not even in their own group
    (error,) = send(live, "ada-1", **check, appointment_id=appointment.id)
    assert (error["code"], error["field"]) == ("validation_error", "type")
    for a in (appointment, other):
        found = world.appointment_store.get(a.id)
        assert found is not None and found.device_check is None


def test_a_device_check_keeps_through_the_session_and_an_ended_one_takes_none(world: FakeWorld) -> None:
    from chalicelib.domain.appointment import Move

    live, appointment, token = invite_and_connect(world)
    live.connect("pat-1", {"token": token})
    send(live, "pat-1", type="device_check", appointment_id=appointment.id, camera="none", microphone="ok")
    send(live, "ada-1", type="take", appointment_id=appointment.id)
    row = pushed(world, "ben-1", "appointment")[-1]["appointment"]
    assert row["status"] == "in_session" and row["device_check"]["camera"] == "none"
    stored = world.appointment_store.get(appointment.id)
    assert stored is not None
    done, _ = stored.apply(Move.COMPLETE, ADA, world.clock())
    world.appointment_store.save(done, stored.version, None)
    (error,) = send(
        live, "pat-1", type="device_check", appointment_id=appointment.id, camera="ok", microphone="ok"
    )
    assert error["code"] == "conflict"
    found = world.appointment_store.get(appointment.id)
    assert found is not None and found.device_check is not None and found.device_check.camera == "none"
