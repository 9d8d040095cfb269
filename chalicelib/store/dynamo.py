"""What the DynamoDB adapters of this package share: the transaction that stores a record with
its audit event, the audit item itself, and one page of an appointment's items.

A record written because of an action is a transaction of two parts: the record, conditional
(on being new, or on the version or status that was read), and its audit event, conditional
on being new. Either both land or neither does.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from pynamodb.attributes import MapAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.domain.appointment import AuditEvent
from chalicelib.domain.timeutil import iso_utc_precise
from chalicelib.paging import Page
from chalicelib.store.models import MAX_POOL_CONNECTIONS, AuditEventModel
from chalicelib.store.ports import ConcurrentUpdate

T = TypeVar("T")


class Transactions:
    """Transactions on one connection, made on first use and shared by every adapter (the
    models, which `bind_models` has pointed at the tables, read and put on their own)."""

    def __init__(self, region: str, endpoint_url: str | None) -> None:
        self._region = region
        self._endpoint_url = endpoint_url
        self._connection: Connection | None = None

    def transaction(self) -> TransactWrite:
        if self._connection is None:
            self._connection = Connection(
                region=self._region, host=self._endpoint_url, max_pool_connections=MAX_POOL_CONNECTIONS
            )
        return TransactWrite(connection=self._connection)

    def write_with_audit(self, item: Any, condition: Any, audit: AuditEvent) -> None:
        """Stores `item` on `condition` and `audit` as a new event, or neither (ConcurrentUpdate)."""
        try:
            with self.transaction() as tx:
                tx.save(item, condition=condition)
                tx.save(audit_item(audit), condition=AuditEventModel.event_key.does_not_exist())
        except TransactWriteError as exc:
            raise ConcurrentUpdate(str(exc)) from exc


def audit_item(event: AuditEvent) -> AuditEventModel:
    """The stored form of an audit event; the sort key's suffix keeps events of one instant apart."""
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


def query_page(
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


def optional_time(value: datetime | None) -> str | None:
    return iso_utc_precise(value) if value else None
