"""The audit trail on DynamoDB: an event on its own is one conditional put (the stack lets the
functions only put and read this table); an event that goes with a record is written in that
record's transaction (`Transactions.write_with_audit`, and the appointments' own writes)."""

from __future__ import annotations

from chalicelib.domain.appointment import AuditEvent, Status
from chalicelib.domain.timeutil import parse_instant
from chalicelib.paging import Page
from chalicelib.store.dynamo import audit_item, query_page
from chalicelib.store.models import AuditEventModel


class DynamoAuditLog:
    def append(self, event: AuditEvent) -> None:
        audit_item(event).save(condition=AuditEventModel.event_key.does_not_exist())

    def page(self, appointment_id: str, limit: int, after: str | None) -> Page[AuditEvent]:
        return query_page(AuditEventModel, "event_key", appointment_id, limit, after, _audit_event)


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
