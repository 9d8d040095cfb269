"""Issue 11 against in-memory fakes: `waiting_since` on the appointment, and the clinician's
`notice` to a waiting patient (only waiting, only own groups, length, audited without text)."""

from __future__ import annotations

import itertools
import json
from datetime import timedelta
from typing import Any

import pytest

from chalicelib import representations
from chalicelib.api import bodies
from chalicelib.domain.appointment import TRANSITIONS, Appointment, Move, Status
from chalicelib.domain.notice import NOTICE_MAX
from chalicelib.usecases.live import LiveService
from tests.unit.factories import ADA, BEN, NOW, FakeWorld, appointment, invite_and_connect, invite_body, send


@pytest.fixture
def world() -> FakeWorld:
    return FakeWorld()


def stored(world: FakeWorld, a: Appointment) -> Appointment:
    found = world.appointment_store.get(a.id)
    assert found is not None
    return found


def pushed(world: FakeWorld, connection_id: str, kind: str) -> list[dict[str, Any]]:
    return [m for m in world.management.to(connection_id) if m["type"] == kind]


# -- waiting_since ---------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "move"), [k for k in itertools.product(Status, Move) if k in TRANSITIONS])
def test_every_move_into_waiting_starts_the_wait_and_every_other_ends_it(status: Status, move: Move) -> None:
    earlier = NOW - timedelta(minutes=7)
    start = appointment(status=status, waiting_since=earlier if status is Status.WAITING else None)
    moved, _ = start.apply(move, ADA, NOW)
    assert moved.waiting_since == (NOW if moved.status is Status.WAITING else None)


def test_waiting_since_follows_the_patient_through_the_day(world: FakeWorld) -> None:
    live, created, token = invite_and_connect(world)
    assert stored(world, created).waiting_since is None
    assert representations.appointment(stored(world, created))["waiting_since"] is None

    world.clock.advance(timedelta(seconds=30))
    came = world.clock()
    live.connect("pat-1", {"token": token})
    assert stored(world, created).waiting_since == came
    row = pushed(world, "ben-1", "appointment")[-1]["appointment"]
    assert (row["status"], row["waiting_since"]) == ("waiting", "2026-11-26T09:00:30Z")

    # kept while waiting: a second tab, a device check
    world.clock.advance(timedelta(minutes=1))
    live.connect("pat-2", {"token": token})
    send(live, "pat-1", type="ping")
    send(live, "pat-1", type="device_check", appointment_id=created.id, camera="ok", microphone="ok")
    assert stored(world, created).waiting_since == came
    assert representations.visit(stored(world, created), "Cardiology")["appointment"]["waiting_since"] == (
        "2026-11-26T09:00:30Z"
    )

    # taken: no wait; exit without ending: waiting again, since the exit
    send(live, "ada-1", type="take", appointment_id=created.id)
    assert stored(world, created).waiting_since is None
    assert pushed(world, "ben-1", "appointment")[-1]["appointment"]["waiting_since"] is None
    world.clock.advance(timedelta(minutes=5))
    for tab in ("pat-1", "pat-2"):
        send(live, tab, type="ping")  # the pages' heartbeat: still online
    exited = world.clock()
    send(live, "ada-1", type="hangup", appointment_id=created.id, mode="exit")
    assert stored(world, created).status is Status.WAITING
    assert stored(world, created).waiting_since == exited
    status = pushed(world, "pat-1", "status")[-1]
    assert (status["status"], status["waiting_since"]) == ("waiting", "2026-11-26T09:06:30Z")

    # gone: no wait
    live.disconnect("pat-1")
    live.disconnect("pat-2")
    assert stored(world, created).status is Status.SCHEDULED
    assert stored(world, created).waiting_since is None
    assert pushed(world, "ben-1", "appointment")[-1]["appointment"]["waiting_since"] is None


def test_a_completed_or_cancelled_appointment_has_no_wait(world: FakeWorld) -> None:
    live, created, token = invite_and_connect(world)
    other = world.service().invite(ADA, bodies.invite(invite_body(patient_email="other@example.com")))
    live.connect("pat-1", {"token": token})
    live.connect("other-1", {"token": world.token_of(other)})
    assert stored(world, created).waiting_since is not None
    world.service().complete(BEN, created.id)
    world.service().cancel(BEN, other.id)
    assert stored(world, created).waiting_since is None and stored(world, other).waiting_since is None


def test_exit_after_the_patient_left_has_no_wait(world: FakeWorld) -> None:
    live, created, token = invite_and_connect(world)
    live.connect("pat-1", {"token": token})
    send(live, "ada-1", type="take", appointment_id=created.id)
    live.disconnect("pat-1")
    send(live, "ada-1", type="hangup", appointment_id=created.id, mode="exit")
    assert stored(world, created).status is Status.SCHEDULED
    assert stored(world, created).waiting_since is None


# -- notice ----------------------------------------------------------------------------------


def waiting(world: FakeWorld) -> tuple[LiveService, Appointment]:
    live, created, token = invite_and_connect(world)
    live.connect("pat-1", {"token": token})
    live.connect("pat-2", {"token": token})  # a second tab hears it too
    return live, created


def notices(world: FakeWorld, connection_id: str) -> list[dict[str, Any]]:
    return pushed(world, connection_id, "notice")


def audited(world: FakeWorld, a: Appointment) -> list[Any]:
    return [e for e in world.audit_log.trail(a.id) if e.action == "notice_sent"]


def test_a_notice_reaches_the_waiting_patients_pages_and_is_audited_without_its_text(
    world: FakeWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    live, created = waiting(world)
    world.clock.advance(timedelta(seconds=12))
    before = stored(world, created)
    (reply,) = send(
        live, "ada-1", type="notice", appointment_id=created.id, text="  Running about 10 minutes late "
    )
    assert reply == {
        "type": "notice_sent",
        "appointment_id": created.id,
        "at": "2026-11-26T09:00:12Z",
        "delivered": 2,
    }
    for tab in ("pat-1", "pat-2"):
        assert notices(world, tab) == [
            {
                "type": "notice",
                "appointment_id": created.id,
                "text": "Running about 10 minutes late",
                "from_name": "Ada Lovelace",
                "at": "2026-11-26T09:00:12Z",
            }
        ]
    # nobody else hears it, and the appointment does not change
    for clinician in ("ada-1", "ben-1", "cyd-1"):
        assert not notices(world, clinician)
    assert stored(world, created) == before
    (event,) = audited(world, created)
    assert (event.actor, event.actor_email, event.from_status, event.to_status, event.at) == (
        ADA.id,
        ADA.email,
        Status.WAITING,
        Status.WAITING,
        world.clock(),
    )
    assert "Running" not in repr(world.audit_log.trail(created.id))
    assert "Running" not in capsys.readouterr().out  # nor in the logs

    # a colleague of the group may send one too; the patient's page shows the latest
    send(
        live,
        "ben-1",
        type="notice",
        appointment_id=created.id,
        text="Your clinician will be with you shortly",
    )
    assert notices(world, "pat-1")[-1]["from_name"] == "Ben Okafor"
    assert len(audited(world, created)) == 2


def test_a_notice_may_hold_line_breaks_and_up_to_500_characters_after_trimming(world: FakeWorld) -> None:
    live, created = waiting(world)
    longest = "x" * NOTICE_MAX
    (reply,) = send(live, "ada-1", type="notice", appointment_id=created.id, text=f"\n {longest} \t")
    assert reply["type"] == "notice_sent"
    assert notices(world, "pat-1")[-1]["text"] == longest
    send(live, "ada-1", type="notice", appointment_id=created.id, text="Line one\nLine two")
    assert notices(world, "pat-1")[-1]["text"] == "Line one\nLine two"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"text": ""}, "text"),
        ({"text": "   \n "}, "text"),
        ({"text": "y" * (NOTICE_MAX + 1)}, "text"),
        ({}, "text"),
        ({"text": None}, "text"),
        ({"text": 42}, "text"),
        ({"text": ["Running late"]}, "text"),
        ({"text": "Running\u0007 late"}, "text"),
        ({"text": "Running late\u202e"}, "text"),
        ({"appointment_id": None, "text": "Running late"}, "appointment_id"),
        ({"appointment_id": "", "text": "Running late"}, "appointment_id"),
    ],
)
def test_a_bad_notice_is_refused_and_changes_nothing(
    world: FakeWorld, fields: dict[str, Any], field: str
) -> None:
    live, created = waiting(world)
    before = stored(world, created)
    message = {"type": "notice", "appointment_id": created.id, **fields}
    (error,) = live.handle("ada-1", json.dumps(message))
    assert (error["type"], error["code"], error["ref"], error["field"]) == (
        "error",
        "validation_error",
        "notice",
        field,
    )
    assert error["message"]
    assert not notices(world, "pat-1") and not audited(world, created)
    assert stored(world, created) == before


def test_a_notice_to_another_groups_appointment_is_not_found(world: FakeWorld) -> None:
    live, created = waiting(world)
    (error,) = send(live, "cyd-1", type="notice", appointment_id=created.id, text="Running late")
    (taken,) = send(live, "cyd-1", type="take", appointment_id=created.id)
    assert (error["code"], error["ref"]) == ("not_found", "notice")
    assert error["message"] == taken["message"]  # the same answer as any other group's appointment
    (unknown,) = send(live, "ada-1", type="notice", appointment_id="no-such-appointment", text="Running late")
    assert unknown["code"] == "not_found"
    assert not notices(world, "pat-1") and not audited(world, created)


def test_a_notice_reaches_only_a_waiting_patient(world: FakeWorld) -> None:
    live, created, token = invite_and_connect(world)
    # scheduled: the patient is not there
    (error,) = send(live, "ada-1", type="notice", appointment_id=created.id, text="Running late")
    assert (error["code"], error["ref"]) == ("conflict", "notice")
    assert "not in the waiting room" in error["message"]
    # in session: the chat is the way
    live.connect("pat-1", {"token": token})
    send(live, "ada-1", type="take", appointment_id=created.id)
    (error,) = send(live, "ben-1", type="notice", appointment_id=created.id, text="Running late")
    assert error["code"] == "conflict" and "chat" in error["message"]
    # completed
    world.service().complete(ADA, created.id)
    (error,) = send(live, "ada-1", type="notice", appointment_id=created.id, text="Running late")
    assert error["code"] == "conflict" and "completed" in error["message"]
    assert not notices(world, "pat-1") and not audited(world, created)


def test_a_patient_cannot_send_a_notice(world: FakeWorld) -> None:
    live, created = waiting(world)
    (error,) = send(live, "pat-1", type="notice", appointment_id=created.id, text="Anyone there?")
    assert (error["code"], error["field"], error["ref"]) == ("validation_error", "type", "notice")
    assert not notices(world, "pat-2") and not audited(world, created)


def test_notices_count_against_the_message_limit(world: FakeWorld) -> None:
    live, created = waiting(world)
    for _ in range(20):
        assert send(live, "ada-1", type="notice", appointment_id=created.id, text="Running late")[0][
            "type"
        ] == ("notice_sent")
    (limited,) = send(live, "ada-1", type="notice", appointment_id=created.id, text="Running late")
    assert (limited["code"], limited["ref"]) == ("rate_limited", "notice")
    assert len(notices(world, "pat-1")) == 20 and len(audited(world, created)) == 20
