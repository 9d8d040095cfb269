"""Reschedule against in-memory fakes: the new time, the invitation again (same link, the .ics
with its UID and a higher SEQUENCE), reminders following, the audit, and every refusal
changing nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from chalicelib.api import bodies
from chalicelib.domain.appointment import Appointment, Move, Status
from chalicelib.errors import Conflict, NotFound, ValidationFailed
from chalicelib.store.memory import InMemoryAppointments, InMemoryAuditLog
from tests.mail_parts import body_text, calendar_event, sequence_of
from tests.unit.factories import ADA, BEN, CYD, NOW, FakeWorld, invite_body

IN_TWO_DAYS = NOW + timedelta(days=2)
IN_THREE_DAYS = NOW + timedelta(days=3)


@pytest.fixture
def world() -> FakeWorld:
    return FakeWorld()


def invited(world: FakeWorld, **changes: Any) -> Appointment:
    return world.service().invite(
        ADA, bodies.invite(invite_body(starts_at=IN_TWO_DAYS.isoformat(), **changes))
    )


def snapshot(world: FakeWorld, appointment_id: str) -> tuple[Any, ...]:
    return (
        world.appointment_store.get(appointment_id),
        len(world.audit_log.events),
        len(world.mailer.sent),
        len(world.texts.sent),
        dict(world.scheduler.planned),
    )


def test_reschedule_moves_mails_texts_and_audits(world: FakeWorld) -> None:
    created = invited(world, patient_phone="+4930123456")
    world.clock.advance(timedelta(minutes=5))
    moved = world.service().reschedule(
        BEN, created.id, bodies.reschedule({"starts_at": "2026-11-29T14:30:00+01:00", "duration_minutes": 30})
    )
    assert moved.starts_at == IN_THREE_DAYS.replace(hour=13, minute=30)
    assert (moved.duration_minutes, moved.timezone, moved.status) == (30, "Europe/Berlin", Status.SCHEDULED)
    assert moved.calendar_sequence == 1 and moved.invite.count == 2
    first, second = world.mailer.sent
    assert second["Subject"].startswith("New time: Your video appointment with Cardiology on Sun 29 Nov")
    link = f"https://eclinic.test/visit/{world.token_of(created)}"
    assert link in body_text(second, "plain")  # the same link
    before, after = calendar_event(first), calendar_event(second)
    assert str(before["UID"]) == str(after["UID"]) == f"{created.id}@eclinic"
    assert (sequence_of(before), sequence_of(after)) == (0, 1)
    assert after.decoded("DTSTART") == moved.starts_at
    assert (
        world.texts.sent[-1][1].startswith("New time for your video appointment")
        and link in world.texts.sent[-1][1]
    )
    trail = world.audit_log.trail(created.id)
    (event,) = [e for e in trail if e.action == "rescheduled"]
    assert (event.actor, event.from_status, event.to_status) == (BEN.id, Status.SCHEDULED, Status.SCHEDULED)
    assert event.detail == {
        "from_starts_at": "2026-11-28T09:00:00Z",
        "to_starts_at": "2026-11-29T13:30:00Z",
        "from_duration_minutes": "20",
        "to_duration_minutes": "30",
        "from_timezone": "Europe/Berlin",
        "to_timezone": "Europe/Berlin",
    }
    assert [e.action for e in trail][-3:] == ["rescheduled", "invitation_sent", "invitation_texted"]


def test_reminders_follow_the_new_time(world: FakeWorld) -> None:
    created = invited(world)
    service = world.service()
    service.reschedule(ADA, created.id, bodies.reschedule({"starts_at": IN_THREE_DAYS.isoformat()}))
    plan = world.scheduler.planned
    assert {name: r.starts_at for name, r in plan.items()} == {
        f"{created.id}-24h": IN_THREE_DAYS,
        f"{created.id}-1h": IN_THREE_DAYS,
    }
    # Moved to 2 hours from now: the 24h reminder is no longer ahead, and its schedule goes.
    service.reschedule(
        ADA, created.id, bodies.reschedule({"starts_at": (NOW + timedelta(hours=2)).isoformat()})
    )
    assert sorted(plan) == [f"{created.id}-1h"] and plan[f"{created.id}-1h"].due_at == NOW + timedelta(
        hours=1
    )


def test_a_waiting_patient_may_be_rescheduled(world: FakeWorld) -> None:
    created = invited(world)
    world.service().mutate(created.id, lambda a: a.apply(Move.PATIENT_ONLINE, "patient", NOW))
    moved = world.service().reschedule(
        ADA, created.id, bodies.reschedule({"starts_at": IN_THREE_DAYS.isoformat()})
    )
    assert moved.status is Status.WAITING and moved.starts_at == IN_THREE_DAYS


def test_duration_and_zone_stay_unless_given(world: FakeWorld) -> None:
    created = invited(world)
    moved = world.service().reschedule(
        ADA,
        created.id,
        bodies.reschedule({"starts_at": IN_THREE_DAYS.isoformat(), "timezone": "America/New_York"}),
    )
    assert (moved.duration_minutes, moved.timezone) == (20, "America/New_York")
    assert "America/New_York" in body_text(world.mailer.sent[-1], "plain")


def test_the_same_time_again_changes_nothing(world: FakeWorld) -> None:
    created = invited(world)
    before = snapshot(world, created.id)
    again = world.service().reschedule(
        ADA, created.id, bodies.reschedule({"starts_at": IN_TWO_DAYS.isoformat()})
    )
    assert again == created and snapshot(world, created.id) == before


@pytest.mark.parametrize("status", [Status.IN_SESSION, Status.COMPLETED, Status.CANCELLED])
def test_only_before_the_session_is_409_with_a_sentence(world: FakeWorld, status: Status) -> None:
    service = world.service()
    created = invited(world)
    if status is Status.CANCELLED:
        service.cancel(ADA, created.id)
    elif status is Status.COMPLETED:
        service.complete(ADA, created.id)
    else:
        service.mutate(created.id, lambda a: a.apply(Move.PATIENT_ONLINE, "patient", NOW))
        service.mutate(created.id, lambda a: a.apply(Move.TAKE, ADA, NOW))
    before = snapshot(world, created.id)
    with pytest.raises(Conflict) as raised:
        service.reschedule(ADA, created.id, bodies.reschedule({"starts_at": IN_THREE_DAYS.isoformat()}))
    assert "rescheduled" in raised.value.message and raised.value.message.endswith(".")
    assert snapshot(world, created.id) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "starts_at"),
        ({"starts_at": "tomorrow"}, "starts_at"),
        ({"starts_at": "2026-11-29T09:00:00"}, "starts_at"),  # no offset
        ({"starts_at": (NOW - timedelta(minutes=11)).isoformat()}, "starts_at"),
        ({"starts_at": (NOW + timedelta(days=367)).isoformat()}, "starts_at"),
        ({"starts_at": IN_THREE_DAYS.isoformat(), "duration_minutes": 4}, "duration_minutes"),
        ({"starts_at": IN_THREE_DAYS.isoformat(), "duration_minutes": 241}, "duration_minutes"),
        ({"starts_at": IN_THREE_DAYS.isoformat(), "duration_minutes": "30"}, "duration_minutes"),
        ({"starts_at": IN_THREE_DAYS.isoformat(), "duration_minutes": True}, "duration_minutes"),
        ({"starts_at": IN_THREE_DAYS.isoformat(), "timezone": "Mars/Olympus"}, "timezone"),
        ({"starts_at": IN_THREE_DAYS.isoformat(), "timezone": 5}, "timezone"),
        (["2026-11-29T09:00:00Z"], None),
        ("2026-11-29T09:00:00Z", None),
    ],
)
def test_bad_input_is_400_and_changes_nothing(world: FakeWorld, body: Any, field: str | None) -> None:
    created = invited(world)
    before = snapshot(world, created.id)
    with pytest.raises(ValidationFailed) as raised:
        world.service().reschedule(ADA, created.id, bodies.reschedule(body))
    assert raised.value.field == field
    assert snapshot(world, created.id) == before


def test_another_groups_or_an_unknown_appointment_is_404(world: FakeWorld) -> None:
    created = invited(world)
    before = snapshot(world, created.id)
    for actor, appointment_id in (
        (CYD, created.id),
        (ADA, "0b7c4c1e-8a7e-4f4e-9d55-2f4f3c1b6a99"),
        (ADA, "x"),
    ):
        with pytest.raises(NotFound):
            world.service().reschedule(
                actor, appointment_id, bodies.reschedule({"starts_at": IN_THREE_DAYS.isoformat()})
            )
    assert snapshot(world, created.id) == before


class MovedByAColleague(InMemoryAppointments):
    """After the caller's first read, a colleague reschedules the appointment."""

    def __init__(self, audit: InMemoryAuditLog) -> None:
        super().__init__(audit)
        self.colleague: Any = None

    def get(self, appointment_id: str) -> Appointment | None:
        found = super().get(appointment_id)
        if self.colleague is not None:
            colleague, self.colleague = self.colleague, None
            colleague()
        return found


def test_a_reschedule_racing_another_one_is_409_and_the_first_one_stands() -> None:
    world = FakeWorld()
    world.appointment_store = MovedByAColleague(world.audit_log)
    created = invited(world)
    store = world.appointment_store
    assert isinstance(store, MovedByAColleague)
    colleague_time = (NOW + timedelta(days=4)).isoformat()
    store.colleague = lambda: world.service().reschedule(
        BEN, created.id, bodies.reschedule({"starts_at": colleague_time})
    )
    with pytest.raises(Conflict) as raised:
        world.service().reschedule(
            ADA, created.id, bodies.reschedule({"starts_at": IN_THREE_DAYS.isoformat()})
        )
    assert "someone else" in raised.value.message.lower()
    stored = store.get(created.id)
    assert (
        stored is not None and stored.starts_at == NOW + timedelta(days=4) and stored.calendar_sequence == 1
    )
    assert [e.actor for e in world.audit_log.trail(created.id) if e.action == "rescheduled"] == [BEN.id]


def test_a_cancellation_after_a_reschedule_outranks_its_invitation(world: FakeWorld) -> None:
    created = invited(world)
    service = world.service()
    service.reschedule(ADA, created.id, bodies.reschedule({"starts_at": IN_THREE_DAYS.isoformat()}))
    service.reschedule(
        ADA, created.id, bodies.reschedule({"starts_at": (NOW + timedelta(days=4)).isoformat()})
    )
    service.cancel(ADA, created.id)
    sequences = [sequence_of(calendar_event(m)) for m in world.mailer.sent]
    assert sequences == [0, 1, 2, 3]
    assert {str(calendar_event(m)["UID"]) for m in world.mailer.sent} == {f"{created.id}@eclinic"}
    assert calendar_event(world.mailer.sent[-1])["STATUS"] == "CANCELLED"
