"""Screenshot requests on DynamoDB: each step (requested, consent, picture, failure) is stored
with its audit event, conditional on the request being new or on the status that was read,
so two answers to one request cannot both land."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from chalicelib.domain.appointment import AuditEvent
from chalicelib.domain.screenshot import Screenshot, ScreenshotStatus
from chalicelib.domain.timeutil import iso_utc_precise, parse_instant
from chalicelib.store.dynamo import Transactions, optional_time
from chalicelib.store.models import ScreenshotModel


class DynamoScreenshots:
    def __init__(self, transactions: Transactions) -> None:
        self._transactions = transactions

    def add(self, screenshot: Screenshot, audit: AuditEvent) -> None:
        self._transactions.write_with_audit(
            _screenshot_model(screenshot), ScreenshotModel.id.does_not_exist(), audit
        )

    def get(self, appointment_id: str, screenshot_id: str) -> Screenshot | None:
        try:
            return _screenshot(ScreenshotModel.get(appointment_id, screenshot_id, consistent_read=True))
        except ScreenshotModel.DoesNotExist:
            return None

    def save(self, screenshot: Screenshot, expected: ScreenshotStatus, audit: AuditEvent) -> None:
        self._transactions.write_with_audit(
            _screenshot_model(screenshot), ScreenshotModel.status == expected.value, audit
        )

    def for_appointment(self, appointment_id: str) -> Sequence[Screenshot]:
        found = [_screenshot(m) for m in ScreenshotModel.query(appointment_id, consistent_read=True)]
        return sorted(found, key=lambda s: (s.requested_at, s.id))


def _screenshot_model(s: Screenshot) -> ScreenshotModel:
    return ScreenshotModel(
        s.appointment_id,
        s.id,
        requested_by=s.requested_by,
        requested_at=iso_utc_precise(s.requested_at),
        status=s.status.value,
        decided_at=optional_time(s.decided_at),
        consent_until=optional_time(s.consent_until),
        key=s.key,
        filename=s.filename,
        width=s.width,
        height=s.height,
        taken_at=optional_time(s.taken_at),
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
