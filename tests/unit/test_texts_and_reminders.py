"""Texts and reminders against in-memory fakes: what is texted, planned, dropped and sent once."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.api import bodies
from chalicelib.domain.appointment import Appointment, Move, Status, TextStatus
from chalicelib.domain.reminders import Reminder
from chalicelib.errors import ValidationFailed
from chalicelib.usecases.reminders import ReminderNotSent
from tests.mail_parts import body_text, calendar_event, sequence_of
from tests.unit.factories import ADA, BEN, CYD, NOW, FakeWorld, invite_body

IN_TWO_DAYS = (NOW + timedelta(days=2)).isoformat()


@pytest.fixture
def world() -> FakeWorld:
    return FakeWorld()


def actions(world: FakeWorld, appointment_id: str) -> list[str]:
    return [e.action for e in world.audit_log.trail(appointment_id)]


def invited(world: FakeWorld, **changes: Any) -> Appointment:
    return world.service().invite(ADA, bodies.invite(invite_body(starts_at=IN_TWO_DAYS, **changes)))


def planned(world: FakeWorld, appointment_id: str) -> dict[str, Reminder]:
    return {
        name.removeprefix(f"{appointment_id}-"): r
        for name, r in world.scheduler.planned.items()
        if name.startswith(appointment_id)
    }


# -- texts --------------------------------------------------------------------------------


def test_a_phone_is_stored_in_e164_and_the_invitation_is_texted(world: FakeWorld) -> None:
    created = invited(world, patient_phone="+49 30 1234567")
    assert created.patient_phone == "+49301234567"
    assert created.invite.text_status is TextStatus.SENT and not created.patient_phone_opted_out
    ((to, text),) = world.texts.sent
    assert to == "+49301234567"
    assert f"https://eclinic.test/visit/{world.token_of(created)}" in text
    assert "Cardiology" in text and "Sat 28 Nov 2026, 10:00 CET" in text
    # nothing about the patient beyond the link: no name, no email
    assert "Pat" not in text and "pat@example.com" not in text and len(text) < 320
    assert actions(world, created.id) == ["created", "invitation_sent", "invitation_texted"]
    event = world.audit_log.trail(created.id)[-1]
    assert event.detail == {"kind": "invitation"}
    assert "+49" not in repr(world.audit_log.events)


def test_without_a_phone_nothing_is_texted(world: FakeWorld) -> None:
    for phone in (None, "", "   "):
        created = invited(world, patient_phone=phone)
        assert created.patient_phone is None and created.invite.text_status is None
    assert world.texts.sent == []


@pytest.mark.parametrize(
    "phone",
    ["030 1234567", "+49 30", "+1 555 0100 999999", "not a number", 4930123, ["+4930123456"], "+" * 40],
)
def test_an_invalid_phone_is_400_and_changes_nothing(world: FakeWorld, phone: Any) -> None:
    with pytest.raises(ValidationFailed) as raised:
        invited(world, patient_phone=phone)
    assert raised.value.field == "patient_phone"
    assert not world.appointment_store.appointments and not world.mailer.sent and not world.texts.sent
    assert not world.scheduler.planned and not world.audit_log.events


def test_a_refused_text_leaves_the_invitation_sent(world: FakeWorld) -> None:
    world.texts.refuse = True
    created = invited(world, patient_phone="+4930123456")
    assert created.invite.status.value == "sent" and created.invite.text_status is TextStatus.FAILED
    assert actions(world, created.id)[-1] == "invitation_text_failed"
    assert not created.patient_phone_opted_out


def test_an_opted_out_number_is_marked_and_audited(world: FakeWorld) -> None:
    world.texts.opted_out.add("+4930123499")
    created = invited(world, patient_phone="+4930123499")
    assert created.patient_phone_opted_out and created.invite.text_status is TextStatus.OPTED_OUT
    assert world.texts.sent == [] and len(world.mailer.sent) == 1
    assert actions(world, created.id)[-1] == "invitation_text_opted_out"
    # The patient opts in again (START): the next text clears the mark.
    world.texts.opted_out.clear()
    again = world.service().reinvite(ADA, created.id)
    assert not again.patient_phone_opted_out and again.invite.text_status is TextStatus.SENT


def test_reinvite_texts_the_same_link_again(world: FakeWorld) -> None:
    created = invited(world, patient_phone="+4930123456")
    world.service().reinvite(BEN, created.id)
    first, second = (text for _, text in world.texts.sent)
    assert first == second and world.token_of(created) in second


# -- planning -----------------------------------------------------------------------------


def test_an_invitation_plans_the_reminders_still_ahead(world: FakeWorld) -> None:
    created = invited(world)
    reminders = planned(world, created.id)
    assert sorted(reminders) == ["1h", "24h"]
    assert reminders["24h"].due_at == created.starts_at - timedelta(hours=24)
    assert reminders["1h"].starts_at == created.starts_at
    soon = world.service().invite(
        ADA, bodies.invite(invite_body(starts_at=(NOW + timedelta(hours=3)).isoformat()))
    )
    assert sorted(planned(world, soon.id)) == ["1h"]
    now_ish = world.service().invite(
        ADA, bodies.invite(invite_body(starts_at=(NOW + timedelta(minutes=30)).isoformat()))
    )
    assert planned(world, now_ish.id) == {}


def test_offsets_come_from_the_setting(world: FakeWorld) -> None:
    world.reminder_offsets = {"2m": timedelta(minutes=2)}
    created = world.service().invite(
        ADA, bodies.invite(invite_body(starts_at=(NOW + timedelta(minutes=5)).isoformat()))
    )
    assert planned(world, created.id)["2m"].due_at == NOW + timedelta(minutes=3)


def test_a_planning_failure_loses_no_appointment(world: FakeWorld) -> None:
    world.scheduler.refuse = True
    created = invited(world)
    assert world.appointment_store.get(created.id) is not None
    assert created.invite.status.value == "sent" and len(world.mailer.sent) == 1
    assert "reminder_planning_failed" in actions(world, created.id)
    # Reinvite user plans them again once the scheduler works (README: what an operator does).
    world.scheduler.refuse = False
    world.service().reinvite(ADA, created.id)
    assert sorted(planned(world, created.id)) == ["1h", "24h"]


@pytest.mark.parametrize("end", ["cancel", "complete", "leave"])
def test_reminders_are_dropped_when_the_appointment_ends(world: FakeWorld, end: str) -> None:
    service = world.service()
    created = invited(world)
    assert planned(world, created.id)
    if end == "leave":
        service.mutate(created.id, lambda a: a.apply(Move.PATIENT_ONLINE, "patient", NOW))
        service.mutate(created.id, lambda a: a.apply(Move.TAKE, ADA, NOW))
        service.mutate(created.id, lambda a: a.apply(Move.LEAVE, ADA, NOW))
    else:
        getattr(service, end)(ADA, created.id)
    assert planned(world, created.id) == {}


def test_a_patient_coming_online_changes_no_schedule(world: FakeWorld) -> None:
    created = invited(world)
    before = dict(world.scheduler.planned)
    world.scheduler.refuse = True  # any call would fail loudly in the audit
    world.service().mutate(created.id, lambda a: a.apply(Move.PATIENT_ONLINE, "patient", NOW))
    assert world.scheduler.planned == before and "reminder_planning_failed" not in actions(world, created.id)


# -- sending ------------------------------------------------------------------------------


def fire(world: FakeWorld, appointment: Appointment, kind: str = "1h") -> str:
    reminder = planned(world, appointment.id)[kind]
    world.clock.now = reminder.due_at
    return world.reminders().send(Reminder.from_input(reminder.to_input()))


def test_a_due_reminder_mails_and_texts_once_and_is_audited(world: FakeWorld) -> None:
    created = invited(world, patient_phone="+4930123456")
    world.mailer.sent.clear()
    world.texts.sent.clear()
    assert fire(world, created) == "sent"
    (mail,) = world.mailer.sent
    assert mail["Subject"].startswith("Reminder: your video appointment with Cardiology")
    link = f"https://eclinic.test/visit/{world.token_of(created)}"
    assert link in body_text(mail, "plain") and link in body_text(mail, "html")
    event = calendar_event(mail)
    assert str(event["UID"]) == f"{created.id}@eclinic" and sequence_of(event) == 0
    ((to, text),) = world.texts.sent
    assert to == "+4930123456" and link in text and text.startswith("Reminder:")
    sent = world.audit_log.trail(created.id)[-1]
    assert sent.action == "reminder_sent" and sent.detail == {"kind": "1h", "text_status": "sent"}
    # A retried invocation (or the same schedule again) sends nothing.
    assert fire(world, created) == "not_due"
    assert len(world.mailer.sent) == 1 and len(world.texts.sent) == 1
    assert actions(world, created.id).count("reminder_sent") == 1


def test_the_24h_and_the_1h_reminders_are_two_reminders(world: FakeWorld) -> None:
    created = invited(world)
    assert fire(world, created, "24h") == "sent" and fire(world, created, "1h") == "sent"
    assert [
        e.detail["kind"]
        for e in world.audit_log.trail(created.id)
        if e.detail and e.action == "reminder_sent"
    ] == ["24h", "1h"]


def test_two_invocations_at_once_send_one_reminder(world: FakeWorld) -> None:
    created = invited(world)
    world.mailer.sent.clear()
    reminder = planned(world, created.id)["1h"]
    world.clock.now = reminder.due_at
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def invoke() -> None:
        barrier.wait()
        outcomes.append(world.reminders().send(Reminder.from_input(reminder.to_input())))

    threads = [threading.Thread(target=invoke) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["not_due"] * 7 + ["sent"]
    assert len(world.mailer.sent) == 1


@pytest.mark.parametrize("end", ["cancel", "complete"])
def test_an_ended_appointment_sends_no_reminder(world: FakeWorld, end: str) -> None:
    created = invited(world, patient_phone="+4930123456")
    reminder = planned(world, created.id)["1h"]
    getattr(world.service(), end)(ADA, created.id)
    sent_before = (len(world.mailer.sent), len(world.texts.sent))
    world.clock.now = reminder.due_at
    assert (
        world.reminders().send(Reminder.from_input(reminder.to_input())) == "not_due"
    )  # a schedule left behind
    assert (len(world.mailer.sent), len(world.texts.sent)) == sent_before


def test_a_stale_schedule_of_a_moved_appointment_sends_nothing(world: FakeWorld) -> None:
    created = invited(world)
    stale = planned(world, created.id)["1h"]
    world.service().reschedule(
        ADA, created.id, bodies.reschedule({"starts_at": (NOW + timedelta(days=3)).isoformat()})
    )
    mails = len(world.mailer.sent)
    world.clock.now = stale.due_at
    assert world.reminders().send(Reminder.from_input(stale.to_input())) == "not_due"
    assert len(world.mailer.sent) == mails


def test_an_opted_out_patient_gets_the_mail_and_no_text(world: FakeWorld) -> None:
    world.texts.opted_out.add("+4930123499")
    created = invited(world, patient_phone="+4930123499")
    assert created.patient_phone_opted_out
    world.texts.opted_out.clear()  # even so: a number marked opted out is not texted by a reminder
    assert fire(world, created) == "sent"
    assert world.texts.sent == []
    assert world.audit_log.trail(created.id)[-1].detail == {"kind": "1h", "text_status": "none"}


def test_a_number_found_on_the_opt_out_list_at_reminder_time_is_marked(world: FakeWorld) -> None:
    created = invited(world, patient_phone="+4930123456")
    world.texts.opted_out.add("+4930123456")
    assert fire(world, created) == "sent"
    stored = world.appointment_store.get(created.id)
    assert stored is not None and stored.patient_phone_opted_out
    assert world.audit_log.trail(created.id)[-1].detail == {"kind": "1h", "text_status": "opted_out"}


def test_a_refused_reminder_mail_is_released_for_the_retry(world: FakeWorld) -> None:
    created = invited(world, patient_phone="+4930123456")
    world.texts.sent.clear()
    world.mailer.refuse = True
    with pytest.raises(ReminderNotSent):
        fire(world, created)
    stored = world.appointment_store.get(created.id)
    assert stored is not None and stored.reminders_sent == frozenset()
    assert world.texts.sent == [] and actions(world, created.id)[-1] == "reminder_failed"
    world.mailer.refuse = False
    assert fire(world, created) == "sent"  # the retry
    assert actions(world, created.id).count("reminder_sent") == 1


@pytest.mark.parametrize(
    "body",
    [
        None,
        "reminder",
        {},
        {
            "appointment_id": "not-a-uuid",
            "kind": "1h",
            "starts_at": "2026-11-28T09:00:00Z",
            "due_at": "2026-11-28T08:00:00Z",
        },
        {
            "appointment_id": "0b7c4c1e-8a7e-4f4e-9d55-2f4f3c1b6a10",
            "kind": "1h",
            "starts_at": "tomorrow",
            "due_at": "2026-11-28T08:00:00Z",
        },
    ],
)
def test_a_malformed_reminder_is_refused_and_changes_nothing(world: FakeWorld, body: Any) -> None:
    created = invited(world)
    before = (world.appointment_store.get(created.id), len(world.audit_log.events), len(world.mailer.sent))
    with pytest.raises(ValidationFailed):
        world.reminders().send(Reminder.from_input(body))
    assert (
        world.appointment_store.get(created.id),
        len(world.audit_log.events),
        len(world.mailer.sent),
    ) == before


def test_a_reminder_of_an_unknown_appointment_sends_nothing(world: FakeWorld) -> None:
    reminder = Reminder("0b7c4c1e-8a7e-4f4e-9d55-2f4f3c1b6a99", "1h", NOW, NOW - timedelta(hours=1))
    assert world.reminders().send(Reminder.from_input(reminder.to_input())) == "unknown"
    assert world.mailer.sent == []


def test_a_reminder_while_the_patient_waits_still_goes_out(world: FakeWorld) -> None:
    created = invited(world)
    world.service().mutate(created.id, lambda a: a.apply(Move.PATIENT_ONLINE, "patient", NOW))
    assert fire(world, created) == "sent"
    stored = world.appointment_store.get(created.id)
    assert stored is not None and stored.status is Status.WAITING


def test_another_groups_clinician_cannot_reach_reminders(world: FakeWorld) -> None:
    from chalicelib.errors import NotFound

    created = invited(world)
    with pytest.raises(NotFound):
        world.service().reschedule(CYD, created.id, bodies.reschedule({"starts_at": IN_TWO_DAYS}))
    assert len(planned(world, created.id)) == 2
