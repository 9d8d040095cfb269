"""A visit's guests on DynamoDB (table `guests`: `appointment_id`, `id`; a keys-only index on
`link_token_hash`).

How two adds racing for the last guest seat cannot both win: the appointment item itself lists
the guests not removed with their seats (`AppointmentModel.guests`), and every guest write is
one transaction of three parts: the appointment, conditional on the version that was read; the
guest, conditional on being new (add) or on existing (a change); and the audit event, new.
Both racers read the same version, so the second transaction is cancelled
(ConditionalCheckFailed or TransactionConflict: ConcurrentUpdate), and its retry reads the
appointment with both seats held and gets the domain's 409. A per-seat claim item would also
serialise the seats, but would need cleaning up on removal and would leave the schedule a
query per appointment to show its guests; the list on the appointment does both in one item.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from pynamodb.exceptions import TransactWriteError

from chalicelib.domain.appointment import Appointment, AuditEvent
from chalicelib.domain.guest import Guest, GuestRole, GuestStatus
from chalicelib.domain.timeutil import parse_instant
from chalicelib.store.appointments import to_model
from chalicelib.store.dynamo import Transactions, audit_item, optional_time
from chalicelib.store.models import AppointmentModel, AuditEventModel, GuestModel
from chalicelib.store.ports import ConcurrentUpdate

# Real DynamoDB also cancels a transaction that races another on the same item.
_RETRYABLE_REASONS = frozenset({"ConditionalCheckFailed", "TransactionConflict"})


class DynamoGuests:
    def __init__(self, transactions: Transactions) -> None:
        self._transactions = transactions

    def add(
        self, guest: Guest, appointment: Appointment, expected_version: int, audit: AuditEvent
    ) -> Appointment:
        return self._write(guest, GuestModel.id.does_not_exist(), appointment, expected_version, audit)

    def save(
        self, guest: Guest, appointment: Appointment, expected_version: int, audit: AuditEvent | None
    ) -> Appointment:
        return self._write(guest, GuestModel.id.exists(), appointment, expected_version, audit)

    def get(self, appointment_id: str, guest_id: str) -> Guest | None:
        try:
            return _guest(GuestModel.get(appointment_id, guest_id, consistent_read=True))
        except GuestModel.DoesNotExist:
            return None

    def for_appointment(self, appointment_id: str) -> Sequence[Guest]:
        found = [_guest(item) for item in GuestModel.query(appointment_id, consistent_read=True)]
        return sorted(found, key=lambda g: (g.created_at, g.id))

    def by_link_hash(self, token_hash: str) -> Guest | None:
        for key in GuestModel.link_index.query(token_hash, limit=1):
            return self.get(key.appointment_id, key.id)
        return None

    def _write(
        self,
        guest: Guest,
        guest_condition: Any,
        appointment: Appointment,
        expected_version: int,
        audit: AuditEvent | None,
    ) -> Appointment:
        stored = replace(appointment, version=expected_version + 1)
        try:
            with self._transactions.transaction() as tx:
                tx.save(to_model(stored), condition=AppointmentModel.version == expected_version)
                tx.save(_item(guest), condition=guest_condition)
                if audit is not None:
                    tx.save(audit_item(audit), condition=AuditEventModel.event_key.does_not_exist())
        except TransactWriteError as exc:
            reasons = {r.code for r in exc.cancellation_reasons if r is not None}
            if reasons & _RETRYABLE_REASONS:
                raise ConcurrentUpdate(guest.id) from exc
            raise
        return stored


def _item(g: Guest) -> GuestModel:
    return GuestModel(
        g.appointment_id,
        g.id,
        name=g.name,
        role=g.role.value,
        email=g.email,
        phone=g.phone,
        seat=g.seat,
        status=g.status.value,
        link_token_hash=g.link_token_hash,
        invited_by=g.invited_by,
        created_at=optional_time(g.created_at),
        removed_at=optional_time(g.removed_at),
    )


def _guest(m: GuestModel) -> Guest:
    return Guest(
        id=m.id,
        appointment_id=m.appointment_id,
        name=m.name,
        role=GuestRole(m.role),
        email=m.email,
        phone=m.phone,
        seat=m.seat,
        status=GuestStatus(m.status),
        link_token_hash=m.link_token_hash,
        invited_by=m.invited_by,
        created_at=parse_instant(m.created_at),
        removed_at=parse_instant(m.removed_at) if m.removed_at else None,
    )
