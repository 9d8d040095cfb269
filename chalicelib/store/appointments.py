"""The appointments on DynamoDB through PynamoDB.

Every write is conditional: `add` on the id being new, `save` on the version that was read.
With an audit event the write is a transaction of the appointment and the event (new), so
either both land or neither does; a transaction that loses a race is a ConcurrentUpdate.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime

from pynamodb.exceptions import PutError, TransactWriteError

from chalicelib.domain.appointment import Appointment, AuditEvent, Invite, InviteStatus, Status, TextStatus
from chalicelib.domain.device_check import DeviceCheck
from chalicelib.domain.guest import GuestRole, GuestStatus, GuestSummary
from chalicelib.domain.timeutil import iso_utc, iso_utc_precise, parse_instant
from chalicelib.store.dynamo import Transactions, audit_item, optional_time
from chalicelib.store.models import AppointmentModel, AuditEventModel, GuestSummaryMap
from chalicelib.store.ports import ConcurrentUpdate, ScheduleResult, schedule_position

# Real DynamoDB also cancels a transaction that races another on the same item.
_RETRYABLE_REASONS = frozenset({"ConditionalCheckFailed", "TransactionConflict"})


class DynamoAppointments:
    """Reads and writes through the model, which `bind_models` has pointed at the table."""

    def __init__(self, transactions: Transactions) -> None:
        self._transactions = transactions

    def add(self, appointment: Appointment, audit: AuditEvent) -> None:
        self._write(to_model(appointment), AppointmentModel.id.does_not_exist(), audit)

    def get(self, appointment_id: str) -> Appointment | None:
        try:
            return _from_model(AppointmentModel.get(appointment_id, consistent_read=True))
        except AppointmentModel.DoesNotExist:
            return None

    def by_link_hash(self, token_hash: str) -> Appointment | None:
        for key in AppointmentModel.link_index.query(token_hash, limit=1):
            return self.get(key.id)
        return None

    def schedule(
        self,
        groups: Iterable[str],
        start: datetime,
        end: datetime,
        limit: int | None = None,
        after: str | None = None,
    ) -> ScheduleResult:
        # Each group's Query starts at the page's first possible start and stops one item past
        # the page (and past any ties at its last start), so a page reads about `limit` items per
        # group, not the window.
        lower = iso_utc(start) if after is None else max(iso_utc(start), after.partition("#")[0])
        # A later page's Query starts at the last one's start, so it reads that one again first.
        page_size = None if limit is None else limit + (1 if after is None else 2)
        per_group: list[list[Appointment]] = []
        items_read = 0
        for group in sorted(set(groups)):
            results = AppointmentModel.schedule_index.query(
                group, AppointmentModel.starts_at.between(lower, iso_utc(end)), page_size=page_size
            )
            found: list[Appointment] = []
            for item in results:
                appointment = _from_model(item)
                if after is not None and schedule_position(appointment) <= after:
                    continue
                found.append(appointment)
                if limit is not None and _past_the_page(found, limit):
                    break
            found.sort(key=schedule_position)  # the index orders by start only, not ties by id
            per_group.append(found)
            items_read += results.page_iter.total_scanned_count
        merged = list(heapq.merge(*per_group, key=schedule_position))
        return _schedule_page(merged, items_read, limit)

    def save(self, appointment: Appointment, expected_version: int, audit: AuditEvent | None) -> Appointment:
        stored = replace(appointment, version=expected_version + 1)
        self._write(to_model(stored), AppointmentModel.version == expected_version, audit)
        return stored

    def ids_on_worker(self, worker_id: str) -> list[str]:
        return [item.id for item in AppointmentModel.worker_index.query(worker_id)]

    def _write(self, item: AppointmentModel, condition: object, audit: AuditEvent | None) -> None:
        try:
            if audit is None:
                item.save(condition=condition)  # type: ignore[arg-type]
                return
            with self._transactions.transaction() as tx:
                tx.save(item, condition=condition)  # type: ignore[arg-type]
                tx.save(audit_item(audit), condition=AuditEventModel.event_key.does_not_exist())
        except TransactWriteError as exc:
            reasons = {r.code for r in exc.cancellation_reasons if r is not None}
            if reasons & _RETRYABLE_REASONS:
                raise ConcurrentUpdate(item.id) from exc
            raise
        except PutError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                raise ConcurrentUpdate(item.id) from exc
            raise


def _past_the_page(found: Sequence[Appointment], limit: int) -> bool:
    """Whether one group's read (in index order) may stop: it holds more than `limit` and its
    last start is past the `limit`-th one's. The index sorts by start only, and DynamoDB does
    not promise an order among appointments sharing a start, so every tie the page can reach
    is read before they are put in id order; without ties this is one item past the page."""
    return len(found) > limit and found[-1].starts_at > found[limit - 1].starts_at


def _schedule_page(merged: list[Appointment], items_read: int, limit: int | None) -> ScheduleResult:
    if limit is None or len(merged) <= limit:
        return ScheduleResult(appointments=merged, items_read=items_read)
    page = merged[:limit]
    return ScheduleResult(appointments=page, items_read=items_read, after=schedule_position(page[-1]))


def to_model(a: Appointment) -> AppointmentModel:
    """The stored form of an appointment (the benchmark loads its table with it)."""
    return AppointmentModel(
        a.id,
        group=a.group,
        starts_at=iso_utc(a.starts_at),
        duration_minutes=a.duration_minutes,
        timezone=a.timezone,
        patient_name=a.patient_name,
        patient_email=a.patient_email,
        status=a.status.value,
        taken_by=a.taken_by,
        taken_by_name=a.taken_by_name,
        taken_by_id=a.taken_by_id,
        media_worker_id=a.media_worker_id,
        invited_by=a.invited_by,
        invite_status=a.invite.status.value,
        invite_count=a.invite.count,
        invite_last_sent_at=iso_utc_precise(a.invite.last_sent_at) if a.invite.last_sent_at else None,
        created_at=iso_utc_precise(a.created_at),
        updated_at=iso_utc_precise(a.updated_at),
        link_nonce=a.link_nonce,
        link_token_hash=a.link_token_hash,
        version=a.version,
        device_camera=a.device_check.camera if a.device_check else None,
        device_microphone=a.device_check.microphone if a.device_check else None,
        device_checked_at=iso_utc_precise(a.device_check.at) if a.device_check else None,
        waiting_since=optional_time(a.waiting_since),
        patient_phone=a.patient_phone,
        patient_phone_opted_out=a.patient_phone_opted_out or None,
        invite_text_status=a.invite.text_status.value if a.invite.text_status else None,
        calendar_sequence=a.calendar_sequence,
        reminders_sent=sorted(a.reminders_sent) or None,
        guests=[_guest_entry(g) for g in a.guests] or None,
    )


def _guest_entry(g: GuestSummary) -> GuestSummaryMap:
    return GuestSummaryMap(  # type: ignore[no-untyped-call]
        id=g.id, name=g.name, role=g.role.value, seat=g.seat, status=g.status.value
    )


def _from_model(m: AppointmentModel) -> Appointment:
    return Appointment(
        id=m.id,
        group=m.group,
        starts_at=parse_instant(m.starts_at),
        duration_minutes=int(m.duration_minutes),
        timezone=m.timezone,
        patient_name=m.patient_name,
        patient_email=m.patient_email,
        status=Status(m.status),
        taken_by=m.taken_by,
        taken_by_name=m.taken_by_name,
        taken_by_id=m.taken_by_id,
        media_worker_id=m.media_worker_id,
        invited_by=m.invited_by,
        invite=Invite(
            status=InviteStatus(m.invite_status),
            count=int(m.invite_count),
            last_sent_at=parse_instant(m.invite_last_sent_at) if m.invite_last_sent_at else None,
            text_status=TextStatus(m.invite_text_status) if m.invite_text_status else None,
        ),
        created_at=parse_instant(m.created_at),
        updated_at=parse_instant(m.updated_at),
        link_nonce=m.link_nonce,
        link_token_hash=m.link_token_hash,
        version=int(m.version),
        device_check=_device_check(m),
        waiting_since=parse_instant(m.waiting_since) if m.waiting_since else None,
        patient_phone=m.patient_phone,
        patient_phone_opted_out=bool(m.patient_phone_opted_out),
        calendar_sequence=int(m.calendar_sequence or 0),
        reminders_sent=frozenset(str(key) for key in m.reminders_sent or ()),
        guests=tuple(
            GuestSummary(
                id=g.id, name=g.name, role=GuestRole(g.role), seat=g.seat, status=GuestStatus(g.status)
            )
            for g in m.guests or ()
        ),
    )


def _device_check(m: AppointmentModel) -> DeviceCheck | None:
    if m.device_camera is None or m.device_microphone is None or m.device_checked_at is None:
        return None
    return DeviceCheck(m.device_camera, m.device_microphone, parse_instant(m.device_checked_at))
