"""The guests' use cases against in-memory fakes: what is stored, mailed, texted, audited and
told to the live side, and what a guest's link opens."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.api import bodies
from chalicelib.auth import patient_links
from chalicelib.domain.appointment import Appointment, Status
from chalicelib.domain.guest import Guest, GuestStatus
from chalicelib.errors import Conflict, Gone, NotFound, ValidationFailed
from chalicelib.usecases.guests import GuestService
from tests.mail_parts import body_text, calendar_event
from tests.unit.factories import ADA, BEN, CYD, FakeWorld, invite_body


class RecordingListener:
    """The seam the live side implements: what it was told, in order."""

    def __init__(self) -> None:
        self.removed: list[tuple[Appointment, Guest]] = []

    def guest_removed(self, appointment: Appointment, guest: Guest) -> None:
        self.removed.append((appointment, guest))


@pytest.fixture
def world() -> FakeWorld:
    return FakeWorld()


@pytest.fixture
def listener() -> RecordingListener:
    return RecordingListener()


@pytest.fixture
def guests(world: FakeWorld, listener: RecordingListener) -> GuestService:
    return world.guests(removed_listener=listener)


@pytest.fixture
def booked(world: FakeWorld) -> Appointment:
    created = world.service().invite(ADA, bodies.invite(invite_body(patient_phone="+4930123456")))
    world.mailer.sent.clear()
    world.texts.sent.clear()
    return created


def guest_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "Ines Tolk", "email": "ines@example.com", "role": "interpreter"}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def add(guests: GuestService, a: Appointment, **changes: Any) -> Guest:
    return guests.add(BEN, a.id, bodies.add_guest(guest_body(**changes))).guest


def link_of(world: FakeWorld, n: int = -1) -> str:
    found = re.search(r"/visit/([A-Za-z0-9_-]{43})", body_text(world.mailer.sent[n], "plain"))
    assert found is not None
    return found.group(1)


def test_adding_stores_the_guest_with_the_appointment_mails_and_audits(
    world: FakeWorld, guests: GuestService, booked: Appointment
) -> None:
    world.live().connect("ada-1", {"id_token": ADA.email})
    invited = guests.add(BEN, booked.id, bodies.add_guest(guest_body()))
    guest = invited.guest
    assert invited.mailed is True
    assert (guest.name, guest.role.value, guest.status, guest.seat) == (
        "Ines Tolk",
        "interpreter",
        GuestStatus.INVITED,
        "guest-1",
    )
    stored = world.appointment_store.get(booked.id)
    assert (
        stored is not None
        and [g.id for g in stored.guests] == [guest.id]
        and stored.version == booked.version + 1
    )
    assert world.guest_store.get(booked.id, guest.id) == guest
    trail = world.audit_log.trail(booked.id)
    assert [e.action for e in trail][-2:] == ["guest_added", "guest_invitation_sent"]
    assert trail[-2].detail == {"guest_id": guest.id, "role": "interpreter"}
    assert trail[-1].detail == {"guest_id": guest.id}
    # The appointment's row moves live, with its guests.
    pushed = [m for m in world.management.to("ada-1") if m.get("type") == "appointment"]
    assert pushed and pushed[-1]["appointment"]["guests"] == [
        {"id": guest.id, "name": "Ines Tolk", "role": "interpreter", "status": "invited"}
    ]


def test_the_invitation_names_clinic_time_and_role_never_the_patient(
    world: FakeWorld, guests: GuestService, booked: Appointment
) -> None:
    guest = add(guests, booked, phone="+4915112345678")
    (mail,) = world.mailer.sent
    assert mail["To"].addresses[0].addr_spec == "ines@example.com"
    token = link_of(world)
    assert patient_links.hash_token(token) == guest.link_token_hash
    assert token not in repr(world.guest_store.guests) and token not in repr(world.audit_log.events)
    text = body_text(mail, "plain")
    local = booked.local_start()
    assert "You are invited to join a video appointment with Cardiology as an interpreter on" in text
    assert local.strftime("%H:%M") in text and f"https://eclinic.test/visit/{token}" in text
    html = body_text(mail, "html")
    event = calendar_event(mail)
    assert str(event["UID"]) == f"{booked.id}-{guest.id}@eclinic"
    everything = str(mail) + text + html
    for secret in ("Pat", "Doe", "pat@example.com", "+4930123456", world.token_of(booked)):
        assert secret not in everything
    ((to, sms),) = world.texts.sent
    assert to == "+4915112345678" and token in sms and "Cardiology" in sms and "an interpreter" in sms
    assert "Pat" not in sms
    assert world.audit_log.trail(booked.id)[-1].action == "guest_invitation_texted"


def test_a_guest_with_a_phone_only_is_texted_not_mailed(
    world: FakeWorld, guests: GuestService, booked: Appointment
) -> None:
    invited = guests.add(BEN, booked.id, bodies.add_guest(guest_body(email=None, phone="+49 151 12345678")))
    assert invited.mailed is None and invited.guest.phone == "+4915112345678"
    assert not world.mailer.sent and len(world.texts.sent) == 1


def test_a_refused_mail_leaves_the_guest_stored_and_audited(
    world: FakeWorld, guests: GuestService, booked: Appointment
) -> None:
    world.mailer.refuse = True
    invited = guests.add(BEN, booked.id, bodies.add_guest(guest_body()))
    assert invited.mailed is False
    assert world.guest_store.get(booked.id, invited.guest.id) is not None
    assert world.audit_log.trail(booked.id)[-1].action == "guest_invitation_failed"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"email": None}, "email"),
        ({"email": ""}, "email"),
        ({"email": "not-an-address"}, "email"),
        ({"phone": "0301234"}, "phone"),
        ({"phone": "+49 12"}, "phone"),
        ({"role": "doctor"}, "role"),
        ({"role": None}, "role"),
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "Ines\u0000Tolk"}, "name"),
        ({"name": None}, "name"),
    ],
)
def test_invalid_guests_are_refused_at_the_edge(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        bodies.add_guest(guest_body(**changes))
    assert raised.value.field == field


def test_a_third_guest_is_a_conflict_and_stores_nothing(
    world: FakeWorld, guests: GuestService, booked: Appointment
) -> None:
    add(guests, booked)
    add(guests, booked, name="Fay Doe", role="family")
    before = (dict(world.guest_store.guests), len(world.audit_log.events), len(world.mailer.sent))
    with pytest.raises(Conflict, match="At most 2 guests"):
        add(guests, booked, name="Col League", role="colleague")
    assert (dict(world.guest_store.guests), len(world.audit_log.events), len(world.mailer.sent)) == before


def test_another_groups_appointment_and_an_unknown_guest_are_not_found(
    world: FakeWorld, guests: GuestService, booked: Appointment
) -> None:
    with pytest.raises(NotFound):
        guests.add(CYD, booked.id, bodies.add_guest(guest_body()))
    with pytest.raises(NotFound):
        guests.guests(CYD, booked.id)
    guest = add(guests, booked)
    with pytest.raises(NotFound):
        guests.remove(CYD, booked.id, guest.id)
    with pytest.raises(NotFound):
        guests.remove(ADA, booked.id, "no-such-guest")
    with pytest.raises(NotFound):
        guests.add(ADA, "not-a-uuid", bodies.add_guest(guest_body()))
    assert len(world.guest_store.guests) == 1


@pytest.mark.parametrize("end", ["cancel", "complete"])
def test_no_guest_for_an_appointment_that_ended(
    world: FakeWorld, guests: GuestService, booked: Appointment, end: str
) -> None:
    getattr(world.service(), end)(ADA, booked.id)
    with pytest.raises(Conflict):
        add(guests, booked)
    assert not world.guest_store.guests


def test_removing_tells_the_live_side_and_lists_the_removed_guest(
    world: FakeWorld, guests: GuestService, listener: RecordingListener, booked: Appointment
) -> None:
    first = add(guests, booked)
    world.clock.advance(timedelta(seconds=1))
    second = add(guests, booked, name="Fay Doe", role="family", email="fay@example.com")
    world.clock.advance(timedelta(minutes=3))
    removal = guests.remove(ADA, booked.id, first.id)
    assert removal.guest.status is GuestStatus.REMOVED and removal.guest.seat == "guest-1"
    assert removal.guest.removed_at == world.clock.now
    assert [g.id for g in removal.appointment.guests] == [second.id]
    assert listener.removed == [(removal.appointment, removal.guest)]
    assert [(g.id, g.status) for g in guests.guests(BEN, booked.id)] == [
        (first.id, GuestStatus.REMOVED),
        (second.id, GuestStatus.INVITED),
    ]
    removed_events = [e for e in world.audit_log.trail(booked.id) if e.action == "guest_removed"]
    assert [e.detail for e in removed_events] == [{"guest_id": first.id, "role": "interpreter"}]
    # Again: the same answer, no second event, the live side told once more (it is idempotent).
    again = guests.remove(ADA, booked.id, first.id)
    assert again.guest == removal.guest and len(listener.removed) == 2
    assert len([e for e in world.audit_log.trail(booked.id) if e.action == "guest_removed"]) == 1
    # The seat is free again.
    assert add(guests, booked, name="Col League", role="colleague").seat == "guest-1"


def test_a_guest_link_opens_its_appointment_as_that_guest(
    world: FakeWorld, guests: GuestService, booked: Appointment
) -> None:
    guest = add(guests, booked)
    token = link_of(world)
    appointment, found = guests.resolve_guest_link(token)
    assert appointment.id == booked.id and found == guest
    assert guests.open_link(token) == (appointment, guest)
    patient_view, nobody = guests.open_link(world.token_of(booked))
    assert patient_view.id == booked.id and nobody is None
    # A guest's link is never the patient's.
    with pytest.raises(NotFound):
        world.service().visit(token)
    with pytest.raises(NotFound):
        guests.resolve_guest_link(world.token_of(booked))
    for junk in ("", "short", "x" * 43, patient_links.random_token()):
        with pytest.raises(NotFound):
            guests.resolve_guest_link(junk)


def test_a_removed_guests_link_is_gone(world: FakeWorld, guests: GuestService, booked: Appointment) -> None:
    guest = add(guests, booked)
    token = link_of(world)
    guests.remove(ADA, booked.id, guest.id)
    with pytest.raises(Gone):
        guests.resolve_guest_link(token)
    with pytest.raises(Gone):
        guests.open_link(token)


@pytest.mark.parametrize("end", ["cancel", "complete"])
def test_a_guest_link_is_gone_once_the_appointment_ended(
    world: FakeWorld, guests: GuestService, booked: Appointment, end: str
) -> None:
    add(guests, booked)
    token = link_of(world)
    getattr(world.service(), end)(ADA, booked.id)
    with pytest.raises(Gone):
        guests.resolve_guest_link(token)


def test_a_guest_link_expires_with_the_window(
    world: FakeWorld, guests: GuestService, booked: Appointment
) -> None:
    add(guests, booked)
    token = link_of(world)
    world.clock.now = booked.link_expires_at(timedelta(hours=2))
    guests.resolve_guest_link(token)
    world.clock.advance(timedelta(seconds=1))
    with pytest.raises(Gone):
        guests.resolve_guest_link(token)


def test_presence_is_stored_with_the_appointment_unaudited(
    world: FakeWorld, guests: GuestService, booked: Appointment
) -> None:
    guest = add(guests, booked)
    events = len(world.audit_log.events)
    appointment, online = guests.set_presence(booked.id, guest.id, True)
    assert online.status is GuestStatus.ONLINE and appointment.guests[0].status is GuestStatus.ONLINE
    assert world.guest_store.get(booked.id, guest.id) == online
    same = guests.set_presence(booked.id, guest.id, True)
    assert same == (appointment, online)  # nothing to do: nothing written
    guests.set_presence(booked.id, guest.id, False)
    assert len(world.audit_log.events) == events
    stored = world.appointment_store.get(booked.id)
    assert stored is not None and stored.status is Status.SCHEDULED
