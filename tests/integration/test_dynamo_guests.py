"""The guest store on PynamoDB and moto: a guest is written with its appointment (conditional on
the version read) and its audit event in one transaction, so a lost race stores none of the
three, and two adds racing for the last seat cannot both win."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.api import bodies
from chalicelib.domain.appointment import Appointment, AuditEvent
from chalicelib.domain.guest import Guest, GuestRole, GuestStatus
from chalicelib.domain.guests import NewGuest, add_guest, remove_guest, with_presence
from chalicelib.errors import Conflict
from chalicelib.store.ports import ConcurrentUpdate
from chalicelib.wiring import DynamoStores
from tests.conftest import AwsStack
from tests.integration.test_dynamo_appointments import fresh, trail
from tests.unit.factories import ADA, NOW

GRACE = timedelta(hours=2)


@pytest.fixture
def booked(stores: DynamoStores) -> Appointment:
    a = fresh()
    stores.appointments.add(a, a.audit_event("created", "ada", NOW - timedelta(minutes=1)))
    stored = stores.appointments.get(a.id)
    assert stored is not None
    return stored


def adding(a: Appointment, name: str = "Ines Tolk", **contact: str) -> tuple[Appointment, Guest, AuditEvent]:
    wanted = NewGuest(name=name, role=GuestRole.INTERPRETER, **(contact or {"email": "ines@example.com"}))
    guest_id = str(uuid.uuid4())
    return add_guest(
        a, wanted, guest_id=guest_id, link_token_hash=uuid.uuid4().hex, actor=ADA, at=NOW, grace=GRACE
    )


def test_round_trip_link_lookup_and_the_appointments_guest_list(
    stores: DynamoStores, booked: Appointment
) -> None:
    changed, guest, audit = adding(booked, phone="+4930123456")
    stored = stores.guests.add(guest, changed, booked.version, audit)
    assert stored.version == booked.version + 1
    assert stores.appointments.get(booked.id) == stored
    assert stored.guests == (guest.summary(),)
    assert stores.guests.get(booked.id, guest.id) == guest
    assert stores.guests.by_link_hash(guest.link_token_hash) == guest
    assert stores.guests.by_link_hash("0" * 64) is None
    assert stores.guests.get(booked.id, "nope") is None
    # Removed: off the appointment's list, kept in the guests' table with the seat it held.
    later = NOW + timedelta(minutes=2)
    without, removed, removal = remove_guest(stored, guest, ADA, later)
    after = stores.guests.save(removed, without, stored.version, removal)
    assert after.guests == () and stores.guests.get(booked.id, guest.id) == removed
    assert removed.seat == "guest-1" and removed.removed_at == later
    assert list(stores.guests.for_appointment(booked.id)) == [removed]
    actions = [e.action for e in trail(stores.audit, booked.id)]
    assert actions == ["created", "guest_added", "guest_removed"]


def test_presence_is_saved_without_an_audit_event(stores: DynamoStores, booked: Appointment) -> None:
    changed, guest, audit = adding(booked)
    stored = stores.guests.add(guest, changed, booked.version, audit)
    online_a, online = with_presence(stored, guest, True)
    after = stores.guests.save(online, online_a, stored.version, None)
    assert after.guests[0].status is GuestStatus.ONLINE
    assert stores.guests.get(booked.id, guest.id) == online
    assert [e.action for e in trail(stores.audit, booked.id)] == ["created", "guest_added"]


def test_a_stale_version_stores_neither_guest_nor_appointment_nor_event(
    stores: DynamoStores, booked: Appointment
) -> None:
    changed, guest, audit = adding(booked)
    with pytest.raises(ConcurrentUpdate):
        stores.guests.add(guest, changed, booked.version + 7, audit)
    assert stores.guests.get(booked.id, guest.id) is None
    assert stores.appointments.get(booked.id) == booked
    assert [e.action for e in trail(stores.audit, booked.id)] == ["created"]
    # An unknown guest cannot be saved (only added).
    with pytest.raises(ConcurrentUpdate):
        stores.guests.save(guest, changed, booked.version, None)


def test_two_adds_from_one_read_cannot_both_take_the_last_seat(
    stores: DynamoStores, booked: Appointment
) -> None:
    a, first, audit = adding(booked)
    a = stores.guests.add(first, a, booked.version, audit)
    one, guest_one, audit_one = adding(a, "Fay Doe")
    two, guest_two, audit_two = adding(a, "Col League")
    assert guest_one.seat == guest_two.seat == "guest-2"
    stores.guests.add(guest_one, one, a.version, audit_one)
    with pytest.raises(ConcurrentUpdate):
        stores.guests.add(guest_two, two, a.version, audit_two)
    assert stores.guests.get(booked.id, guest_two.id) is None


def test_concurrent_adds_for_the_last_seat_through_the_use_case(aws: AwsStack) -> None:
    """Eight threads (eight Lambda invocations, on the real wiring) race for the one seat left:
    one wins, the others get the domain's 409 once their retry reads both seats held."""
    from chalicelib.wiring import services

    svc = services()
    booked = svc.appointments.invite(
        ADA,
        bodies.invite(
            {
                "starts_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
                "patient_name": "Pat Guests",
                "patient_email": "pat.guests@example.com",
                "group": "cardiology",
            }
        ),
    )
    svc.guests.add(
        ADA, booked.id, bodies.add_guest({"name": "Ines", "email": "i@example.com", "role": "interpreter"})
    )
    barrier = threading.Barrier(8)
    outcomes: list[str] = []
    lock = threading.Lock()

    def race(n: int) -> None:
        command = bodies.add_guest({"name": f"Guest {n}", "email": f"g{n}@example.com", "role": "family"})
        barrier.wait()
        try:
            svc.guests.add(ADA, booked.id, command)
            outcome = "added"
        except Conflict as exc:
            outcome = "conflict" if "At most 2" in exc.message else exc.message
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=race, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["added"] + ["conflict"] * 7
    final = svc.appointments.get(ADA, booked.id)
    assert [g.seat for g in final.guests] == ["guest-1", "guest-2"]
    assert len(svc.guests.guests(ADA, booked.id)) == 2
    events = svc.appointments.audit_page(ADA, booked.id, None)[0].items
    assert len([e for e in events if e.action == "guest_added"]) == 2
