"""A screenshot of the patient's camera, taken only with the patient's consent.

requested --patient allows--> granted --worker stored the file--> stored
requested --patient denies--> denied
A request unanswered for REQUEST_TTL is dead. A consent is good for that one request, once,
and only for CONSENT_TTL: a capture that arrives later is refused and nothing is kept.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from chalicelib.errors import Conflict, Gone

CONSENT_TTL = timedelta(seconds=60)
REQUEST_TTL = timedelta(minutes=5)


class ScreenshotStatus(enum.StrEnum):
    REQUESTED = "requested"
    GRANTED = "granted"
    DENIED = "denied"
    STORED = "stored"
    FAILED = "failed"


@dataclass(frozen=True)
class Screenshot:
    id: str
    appointment_id: str
    requested_by: str
    requested_at: datetime
    status: ScreenshotStatus = ScreenshotStatus.REQUESTED
    decided_at: datetime | None = None
    consent_until: datetime | None = None
    key: str | None = None
    filename: str | None = None
    width: int | None = None
    height: int | None = None
    taken_at: datetime | None = None

    def decide(self, granted: bool, now: datetime) -> Screenshot:
        if self.status is not ScreenshotStatus.REQUESTED:
            raise Conflict("This screenshot request has already been answered.")
        if now > self.requested_at + REQUEST_TTL:
            raise Gone("This screenshot request has expired.")
        if not granted:
            return replace(self, status=ScreenshotStatus.DENIED, decided_at=now)
        return replace(self, status=ScreenshotStatus.GRANTED, decided_at=now, consent_until=now + CONSENT_TTL)

    def consent_valid(self, now: datetime) -> bool:
        return (
            self.status is ScreenshotStatus.GRANTED
            and self.consent_until is not None
            and now <= self.consent_until
        )

    def stored(self, key: str, width: int, height: int, now: datetime) -> Screenshot:
        if not self.consent_valid(now):
            raise Conflict("The consent for this screenshot is spent or has expired.")
        stamp = now.strftime("%Y%m%d-%H%M%S")
        return replace(
            self,
            status=ScreenshotStatus.STORED,
            key=key,
            filename=f"screenshot-{stamp}.jpg",
            width=width,
            height=height,
            taken_at=now,
        )

    def failed(self) -> Screenshot:
        return replace(self, status=ScreenshotStatus.FAILED)

    def storage_key(self) -> str:
        return f"screenshots/{self.appointment_id}/{self.id}.jpg"
