"""The repository on DynamoDB through PynamoDB.

Each appointment write is a transaction of two parts: the appointment, conditional on the
version that was read, and its audit event, conditional on being new. Either both land or
neither does.
"""

from __future__ import annotations

import heapq
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar

from pynamodb.attributes import MapAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import PutError, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib import paging
from chalicelib.domain.appointment import Appointment, AuditEvent, Invite, InviteStatus, Status, TextStatus
from chalicelib.domain.chat import ChatMessage
from chalicelib.domain.device_check import DeviceCheck
from chalicelib.domain.document import Document
from chalicelib.domain.screenshot import Screenshot, ScreenshotStatus
from chalicelib.domain.task import Task
from chalicelib.domain.timeutil import iso_utc, iso_utc_precise, parse_instant
from chalicelib.paging import Page
from chalicelib.store.models import (
    MAX_POOL_CONNECTIONS,
    AppointmentModel,
    AuditEventModel,
    ChatMessageModel,
    DocumentModel,
    ScreenshotModel,
    TaskModel,
)
from chalicelib.store.repository import ConcurrentUpdate, ScheduleResult, schedule_position

T = TypeVar("T")

# Real DynamoDB also cancels a transaction that races another on the same item.
_RETRYABLE_REASONS = frozenset({"ConditionalCheckFailed", "TransactionConflict"})


class DynamoAppointmentRepository:
    """Reads and writes through the models, which `bind_models` has pointed at the tables."""

    def __init__(self, region: str, endpoint_url: str | None) -> None:
        self._region = region
        self._endpoint_url = endpoint_url
        self._connection: Connection | None = None

    def _transaction(self) -> TransactWrite:
        if self._connection is None:
            self._connection = Connection(
                region=self._region, host=self._endpoint_url, max_pool_connections=MAX_POOL_CONNECTIONS
            )
        return TransactWrite(connection=self._connection)

    def add(self, appointment: Appointment, audit: AuditEvent) -> None:
        self._write(_to_model(appointment), AppointmentModel.id.does_not_exist(), audit)

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
        self._write(_to_model(stored), AppointmentModel.version == expected_version, audit)
        return stored

    def audit_trail(self, appointment_id: str) -> Sequence[AuditEvent]:
        return [_audit_event(item) for item in AuditEventModel.query(appointment_id, consistent_read=True)]

    def audit_page(self, appointment_id: str, limit: int, after: str | None) -> Page[AuditEvent]:
        return _page(AuditEventModel, "event_key", appointment_id, limit, after, _audit_event)

    def add_task(self, task: Task, audit: AuditEvent) -> None:
        item = TaskModel(
            task.appointment_id,
            task.id,
            title=task.title,
            note=task.note,
            created_by=task.created_by,
            created_at=iso_utc_precise(task.created_at),
        )
        self._write_with_audit(item, TaskModel.id.does_not_exist(), audit)

    def add_chat(self, message: ChatMessage, audit: AuditEvent) -> None:
        at = iso_utc_precise(message.at)
        item = ChatMessageModel(
            message.appointment_id,
            f"{at}#{message.id}",
            id=message.id,
            sender_role=message.sender_role,
            sender_name=message.sender_name,
            text=message.text,
            at=at,
        )
        self._write_with_audit(item, ChatMessageModel.message_key.does_not_exist(), audit)

    def chat_history(self, appointment_id: str) -> Sequence[ChatMessage]:
        return [_chat(item) for item in ChatMessageModel.query(appointment_id, consistent_read=True)]

    def chat_page(self, appointment_id: str, limit: int, after: str | None) -> Page[ChatMessage]:
        return _page(ChatMessageModel, "message_key", appointment_id, limit, after, _chat)

    def appointments_on_worker(self, worker_id: str) -> list[str]:
        return [item.id for item in AppointmentModel.worker_index.query(worker_id)]

    def add_screenshot(self, screenshot: Screenshot, audit: AuditEvent) -> None:
        self._write_with_audit(_screenshot_model(screenshot), ScreenshotModel.id.does_not_exist(), audit)

    def get_screenshot(self, appointment_id: str, screenshot_id: str) -> Screenshot | None:
        try:
            return _screenshot(ScreenshotModel.get(appointment_id, screenshot_id, consistent_read=True))
        except ScreenshotModel.DoesNotExist:
            return None

    def save_screenshot(self, screenshot: Screenshot, expected: ScreenshotStatus, audit: AuditEvent) -> None:
        self._write_with_audit(_screenshot_model(screenshot), ScreenshotModel.status == expected.value, audit)

    def screenshots(self, appointment_id: str) -> Sequence[Screenshot]:
        found = [_screenshot(m) for m in ScreenshotModel.query(appointment_id, consistent_read=True)]
        return sorted(found, key=lambda s: (s.requested_at, s.id))

    def add_document(self, document: Document, audit: AuditEvent) -> None:
        item = DocumentModel(
            document.appointment_id,
            document.id,
            title=document.title,
            filename=document.filename,
            content_type=document.content_type,
            size=document.size,
            created_by=document.created_by,
            created_at=iso_utc_precise(document.created_at),
        )
        self._write_with_audit(item, DocumentModel.id.does_not_exist(), audit)

    def documents(self, appointment_id: str) -> Sequence[Document]:
        found = [
            Document(
                id=m.id,
                appointment_id=m.appointment_id,
                title=m.title,
                filename=m.filename,
                content_type=m.content_type,
                size=int(m.size),
                created_by=m.created_by,
                created_at=parse_instant(m.created_at),
            )
            for m in DocumentModel.query(appointment_id, consistent_read=True)
        ]
        return sorted(found, key=lambda d: (d.created_at, d.id))

    def documents_page(self, appointment_id: str, limit: int, after: str | None) -> Page[Document]:
        # The table's sort key is the document id, not its time: the page is cut from the
        # sorted list, and a position is `created_at#id` of the last document answered.
        return paging.cut(self.documents(appointment_id), _document_position, limit, after)

    def _write_with_audit(self, item: Any, condition: Any, audit: AuditEvent) -> None:
        try:
            with self._transaction() as tx:
                tx.save(item, condition=condition)
                tx.save(_audit_model(audit), condition=AuditEventModel.event_key.does_not_exist())
        except TransactWriteError as exc:
            raise ConcurrentUpdate(str(exc)) from exc

    def record(self, audit: AuditEvent) -> None:
        _audit_model(audit).save(condition=AuditEventModel.event_key.does_not_exist())

    def _write(self, item: AppointmentModel, condition: object, audit: AuditEvent | None) -> None:
        try:
            if audit is None:
                item.save(condition=condition)  # type: ignore[arg-type]
                return
            with self._transaction() as tx:
                tx.save(item, condition=condition)  # type: ignore[arg-type]
                tx.save(_audit_model(audit), condition=AuditEventModel.event_key.does_not_exist())
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


def _document_position(document: Document) -> str:
    return f"{iso_utc_precise(document.created_at)}#{document.id}"


def _page(
    model: Any,
    range_key: str,
    appointment_id: str,
    limit: int,
    after: str | None,
    convert: Callable[[Any], T],
) -> Page[T]:
    """One page of an appointment's items, in range-key order, from just after `after`."""
    start = None if after is None else {"appointment_id": {"S": appointment_id}, range_key: {"S": after}}
    # One more than asked tells whether another page exists, so the last page has no `next`.
    items = list(model.query(appointment_id, consistent_read=True, limit=limit + 1, last_evaluated_key=start))
    more = len(items) > limit
    return Page(
        items=[convert(i) for i in items[:limit]],
        after=getattr(items[limit - 1], range_key) if more else None,
    )


def _audit_event(item: AuditEventModel) -> AuditEvent:
    return AuditEvent(
        appointment_id=item.appointment_id,
        at=parse_instant(item.at),
        actor=item.actor,
        action=item.action,
        from_status=Status(item.from_status),
        to_status=Status(item.to_status),
        actor_email=item.actor_email,
        detail=_detail(item),
    )


def _detail(item: AuditEventModel) -> dict[str, str] | None:
    if item.detail is None:
        return None
    return {str(k): str(v) for k, v in item.detail.as_dict().items()}  # type: ignore[no-untyped-call]


def _chat(item: ChatMessageModel) -> ChatMessage:
    return ChatMessage(
        id=item.id,
        appointment_id=item.appointment_id,
        sender_role=item.sender_role,
        sender_name=item.sender_name,
        text=item.text,
        at=parse_instant(item.at),
    )


def _optional_time(value: datetime | None) -> str | None:
    return iso_utc_precise(value) if value else None


def _screenshot_model(s: Screenshot) -> ScreenshotModel:
    return ScreenshotModel(
        s.appointment_id,
        s.id,
        requested_by=s.requested_by,
        requested_at=iso_utc_precise(s.requested_at),
        status=s.status.value,
        decided_at=_optional_time(s.decided_at),
        consent_until=_optional_time(s.consent_until),
        key=s.key,
        filename=s.filename,
        width=s.width,
        height=s.height,
        taken_at=_optional_time(s.taken_at),
    )


def _screenshot(m: ScreenshotModel) -> Screenshot:
    def when(value: str | None) -> datetime | None:
        return parse_instant(value) if value else None

    return Screenshot(
        id=m.id,
        appointment_id=m.appointment_id,
        requested_by=m.requested_by,
        requested_at=parse_instant(m.requested_at),
        status=ScreenshotStatus(m.status),
        decided_at=when(m.decided_at),
        consent_until=when(m.consent_until),
        key=m.key,
        filename=m.filename,
        width=int(m.width) if m.width is not None else None,
        height=int(m.height) if m.height is not None else None,
        taken_at=when(m.taken_at),
    )


def _audit_model(event: AuditEvent) -> AuditEventModel:
    at = iso_utc_precise(event.at)
    return AuditEventModel(
        event.appointment_id,
        f"{at}#{uuid.uuid4().hex[:8]}",
        at=at,
        actor=event.actor,
        action=event.action,
        from_status=event.from_status.value,
        to_status=event.to_status.value,
        actor_email=event.actor_email,
        detail=MapAttribute(**event.detail) if event.detail else None,  # type: ignore[no-untyped-call]
    )


def _to_model(a: Appointment) -> AppointmentModel:
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
        waiting_since=_optional_time(a.waiting_since),
        patient_phone=a.patient_phone,
        patient_phone_opted_out=a.patient_phone_opted_out or None,
        invite_text_status=a.invite.text_status.value if a.invite.text_status else None,
        calendar_sequence=a.calendar_sequence,
        reminders_sent=sorted(a.reminders_sent) or None,
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
    )


def _device_check(m: AppointmentModel) -> DeviceCheck | None:
    if m.device_camera is None or m.device_microphone is None or m.device_checked_at is None:
        return None
    return DeviceCheck(m.device_camera, m.device_microphone, parse_instant(m.device_checked_at))
