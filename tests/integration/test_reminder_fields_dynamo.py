"""The fields texts, reminders and reschedules added, through the PynamoDB stores on moto:
stored and read back as they were, and an audit event's detail with them."""

from __future__ import annotations

import uuid
from dataclasses import replace

from chalicelib.domain.appointment import Invite, InviteStatus, TextStatus
from chalicelib.wiring import DynamoStores
from tests.unit.factories import ADA, NOW, appointment


def test_phone_opt_out_sequence_and_claims_round_trip(stores: DynamoStores) -> None:
    repo = stores.appointments
    a = appointment(id=str(uuid.uuid4()), link_token_hash=uuid.uuid4().hex)
    repo.add(a, a.audit_event("created", ADA, NOW))
    plain = repo.get(a.id)
    assert (
        plain == a
        and plain is not None
        and plain.patient_phone is None
        and plain.reminders_sent == frozenset()
    )

    changed = replace(
        a,
        patient_phone="+4930123456",
        patient_phone_opted_out=True,
        calendar_sequence=2,
        reminders_sent=frozenset({"1h@2026-11-26T10:00:00Z", "24h@2026-11-26T10:00:00Z"}),
        invite=Invite(InviteStatus.SENT, 1, NOW, TextStatus.OPTED_OUT),
    )
    moved, audit = a.rescheduled(NOW.replace(hour=12), 30, "UTC", ADA, NOW)
    assert audit is not None
    stored = repo.save(changed, a.version, audit)
    assert repo.get(a.id) == stored
    (event,) = [e for e in stores.audit.page(a.id, 100, None).items if e.action == "rescheduled"]
    assert event.detail == audit.detail and event.detail is not None
    assert event.detail["to_starts_at"] == "2026-11-26T12:00:00Z"
    assert moved.calendar_sequence == 1
