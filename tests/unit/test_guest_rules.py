"""The guests' domain rules (chalicelib/domain/guests.py): seats, the limit, removal, presence
and a guest link's validity, with no I/O."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from chalicelib.domain.appointment import Appointment, AuditEvent, Status
from chalicelib.domain.guest import Guest, GuestRole, GuestStatus
from chalicelib.domain.guests import NewGuest, add_guest, check_link, remove_guest, with_presence
from chalicelib.errors import Conflict, Gone, ValidationFailed
from tests.unit.factories import ADA, NOW, appointment

GRACE = timedelta(hours=2)
INTERPRETER = NewGuest(name="Ines Tolk", role=GuestRole.INTERPRETER, email="ines@example.com")


def add(
    a: Appointment, guest_id: str = "g1", wanted: NewGuest = INTERPRETER, at: datetime = NOW
) -> tuple[Appointment, Guest, AuditEvent]:
    return add_guest(
        a, wanted, guest_id=guest_id, link_token_hash=f"hash-{guest_id}", actor=ADA, at=at, grace=GRACE
    )


def test_adding_takes_the_lowest_free_seat_and_audits_id_and_role_only() -> None:
    a = appointment()
    changed, guest, audit = add(a)
    assert guest.seat == "guest-1" and guest.status is GuestStatus.INVITED and guest.invited_by == ADA.id
    assert [g.id for g in changed.guests] == ["g1"] and changed.guests[0] == guest.summary()
    assert audit.action == "guest_added" and audit.actor == ADA.id
    assert audit.detail == {"guest_id": "g1", "role": "interpreter"}
    assert "Ines" not in repr(audit) and "ines@" not in repr(audit)
    second, other, _ = add(changed, "g2")
    assert other.seat == "guest-2"
    # The first seat freed is the next one taken.
    freed, _, _ = remove_guest(second, guest, ADA, NOW)
    _, third, _ = add(freed, "g3")
    assert third.seat == "guest-1"


def test_a_third_active_guest_is_a_conflict() -> None:
    a, _, _ = add(appointment(), "g1")
    a, _, _ = add(a, "g2")
    with pytest.raises(Conflict, match="At most 2 guests at a time"):
        add(a, "g3")


@pytest.mark.parametrize("status", [Status.COMPLETED, Status.CANCELLED])
def test_no_guest_for_a_final_appointment(status: Status) -> None:
    with pytest.raises(Conflict):
        add(appointment(status=status))


def test_no_guest_past_the_window() -> None:
    a = appointment()
    with pytest.raises(Conflict):
        add(a, at=a.link_expires_at(GRACE) + timedelta(seconds=1))


def test_a_guest_can_be_added_during_the_session() -> None:
    _, guest, _ = add(appointment(status=Status.IN_SESSION))
    assert guest.seat == "guest-1"


def test_a_guest_needs_an_email_or_a_phone() -> None:
    with pytest.raises(ValidationFailed) as raised:
        add(appointment(), wanted=NewGuest(name="Fay", role=GuestRole.FAMILY))
    assert raised.value.field == "email"
    _, guest, _ = add(appointment(), wanted=NewGuest(name="Fay", role=GuestRole.FAMILY, phone="+4930123456"))
    assert guest.email is None and guest.phone == "+4930123456"


def test_removing_keeps_the_seat_and_is_idempotent() -> None:
    a, guest, _ = add(appointment())
    later = NOW + timedelta(minutes=5)
    changed, removed, audit = remove_guest(a, guest, ADA, later)
    assert removed.status is GuestStatus.REMOVED and removed.removed_at == later and removed.seat == "guest-1"
    assert changed.guests == ()
    assert audit is not None and audit.action == "guest_removed"
    assert audit.detail == {"guest_id": guest.id, "role": "interpreter"}
    again = remove_guest(changed, removed, ADA, later + timedelta(minutes=1))
    assert again == (changed, removed, None)


def test_presence_moves_the_summary_too() -> None:
    a, guest, _ = add(appointment())
    online_a, online = with_presence(a, guest, True)
    assert online.status is GuestStatus.ONLINE and online_a.guests[0].status is GuestStatus.ONLINE
    back_a, back = with_presence(online_a, online, False)
    assert back.status is GuestStatus.INVITED and back_a.guests[0].status is GuestStatus.INVITED
    removed_a, removed, _ = remove_guest(a, guest, ADA, NOW)
    assert with_presence(removed_a, removed, True) == (removed_a, removed)


def _linked() -> tuple[Appointment, Guest]:
    a, guest, _ = add(appointment())
    return a, guest


def test_a_guest_link_opens_until_the_window_ends() -> None:
    a, guest = _linked()
    check_link(a, guest, NOW, GRACE)
    check_link(replace(a, status=Status.IN_SESSION), guest, NOW, GRACE)
    check_link(a, guest, a.link_expires_at(GRACE), GRACE)
    with pytest.raises(Gone):
        check_link(a, guest, a.link_expires_at(GRACE) + timedelta(seconds=1), GRACE)


@pytest.mark.parametrize("status", [Status.CANCELLED, Status.COMPLETED])
def test_a_guest_link_is_gone_once_the_appointment_ended(status: Status) -> None:
    a, guest = _linked()
    with pytest.raises(Gone):
        check_link(replace(a, status=status), guest, NOW, GRACE)


def test_a_removed_guests_link_is_gone() -> None:
    a, guest = _linked()
    changed, removed, _ = remove_guest(a, guest, ADA, NOW)
    with pytest.raises(Gone):
        check_link(changed, removed, NOW, GRACE)
