"""In-memory stores with the same conditional-write rules as the DynamoDB ones, for unit tests.

One `InMemoryAuditLog` is shared by the others, as the audit table is: a record and the audit
event that goes with it are stored together, under the record's lock. The public lists and
dicts are what the tests inspect.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TypeVar

from chalicelib import paging
from chalicelib.domain.appointment import Appointment, AuditEvent
from chalicelib.domain.chat import ChatMessage
from chalicelib.domain.document import Document
from chalicelib.domain.guest import Guest
from chalicelib.domain.screenshot import Screenshot, ScreenshotStatus
from chalicelib.domain.task import Task
from chalicelib.errors import ValidationFailed
from chalicelib.paging import Page
from chalicelib.store.ports import ConcurrentUpdate, ScheduleResult, schedule_position

T = TypeVar("T")


def _page(items: Sequence[T], limit: int, after: str | None) -> Page[T]:
    """Pages a list; a position is the index of the last item answered, like a sort key."""
    start = 0
    if after is not None:
        if not after.isdigit():
            raise ValidationFailed("The cursor is not valid.", "cursor")
        start = int(after) + 1
    chunk = list(items[start : start + limit])
    more = start + limit < len(items)
    return Page(items=chunk, after=str(start + limit - 1) if more else None)


class InMemoryAuditLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.events: list[AuditEvent] = []

    def append(self, event: AuditEvent) -> None:
        with self._lock:
            self.events.append(event)

    def page(self, appointment_id: str, limit: int, after: str | None) -> Page[AuditEvent]:
        return _page(self.trail(appointment_id), limit, after)

    def trail(self, appointment_id: str) -> list[AuditEvent]:
        """The appointment's events, oldest first (what a test checks)."""
        return [e for e in self.events if e.appointment_id == appointment_id]


class InMemoryAppointments:
    def __init__(self, audit: InMemoryAuditLog) -> None:
        self._lock = threading.Lock()
        self._audit = audit
        self.appointments: dict[str, Appointment] = {}

    def add(self, appointment: Appointment, audit: AuditEvent) -> None:
        with self._lock:
            if appointment.id in self.appointments:
                raise ConcurrentUpdate(appointment.id)
            self.appointments[appointment.id] = appointment
            self._audit.append(audit)

    def get(self, appointment_id: str) -> Appointment | None:
        return self.appointments.get(appointment_id)

    def by_link_hash(self, token_hash: str) -> Appointment | None:
        return next((a for a in self.appointments.values() if a.link_token_hash == token_hash), None)

    def schedule(
        self,
        groups: Iterable[str],
        start: datetime,
        end: datetime,
        limit: int | None = None,
        after: str | None = None,
    ) -> ScheduleResult:
        wanted = set(groups)
        found = sorted(
            (a for a in self.appointments.values() if a.group in wanted and start <= a.starts_at <= end),
            key=schedule_position,
        )
        page = paging.cut(found, schedule_position, limit or len(found) or 1, after)
        return ScheduleResult(appointments=list(page.items), items_read=len(found), after=page.after)

    def save(self, appointment: Appointment, expected_version: int, audit: AuditEvent | None) -> Appointment:
        with self._lock:
            current = self.appointments.get(appointment.id)
            if current is None or current.version != expected_version:
                raise ConcurrentUpdate(appointment.id)
            stored = replace(appointment, version=expected_version + 1)
            self.appointments[appointment.id] = stored
            if audit is not None:
                self._audit.append(audit)
            return stored

    def ids_on_worker(self, worker_id: str) -> list[str]:
        return [a.id for a in self.appointments.values() if a.media_worker_id == worker_id]


class InMemoryChat:
    def __init__(self, audit: InMemoryAuditLog) -> None:
        self._lock = threading.Lock()
        self._audit = audit
        self.messages: list[ChatMessage] = []

    def add(self, message: ChatMessage, audit: AuditEvent) -> None:
        with self._lock:
            self.messages.append(message)
            self._audit.append(audit)

    def page(self, appointment_id: str, limit: int, after: str | None) -> Page[ChatMessage]:
        return _page([m for m in self.messages if m.appointment_id == appointment_id], limit, after)


class InMemoryTasks:
    def __init__(self, audit: InMemoryAuditLog) -> None:
        self._lock = threading.Lock()
        self._audit = audit
        self.tasks: list[Task] = []

    def add(self, task: Task, audit: AuditEvent) -> None:
        with self._lock:
            self.tasks.append(task)
            self._audit.append(audit)


class InMemoryDocuments:
    def __init__(self, audit: InMemoryAuditLog) -> None:
        self._lock = threading.Lock()
        self._audit = audit
        self.documents: list[Document] = []

    def add(self, document: Document, audit: AuditEvent) -> None:
        with self._lock:
            self.documents.append(document)
            self._audit.append(audit)

    def for_appointment(self, appointment_id: str) -> Sequence[Document]:
        return [d for d in self.documents if d.appointment_id == appointment_id]

    def page(self, appointment_id: str, limit: int, after: str | None) -> Page[Document]:
        return _page(self.for_appointment(appointment_id), limit, after)


class InMemoryScreenshots:
    def __init__(self, audit: InMemoryAuditLog) -> None:
        self._lock = threading.Lock()
        self._audit = audit
        self.screenshots: dict[tuple[str, str], Screenshot] = {}

    def add(self, screenshot: Screenshot, audit: AuditEvent) -> None:
        with self._lock:
            self.screenshots[(screenshot.appointment_id, screenshot.id)] = screenshot
            self._audit.append(audit)

    def get(self, appointment_id: str, screenshot_id: str) -> Screenshot | None:
        return self.screenshots.get((appointment_id, screenshot_id))

    def save(self, screenshot: Screenshot, expected: ScreenshotStatus, audit: AuditEvent) -> None:
        with self._lock:
            key = (screenshot.appointment_id, screenshot.id)
            current = self.screenshots.get(key)
            if current is None or current.status is not expected:
                raise ConcurrentUpdate(screenshot.id)
            self.screenshots[key] = screenshot
            self._audit.append(audit)

    def for_appointment(self, appointment_id: str) -> Sequence[Screenshot]:
        found = [s for (a, _), s in self.screenshots.items() if a == appointment_id]
        return sorted(found, key=lambda s: (s.requested_at, s.id))


class InMemoryGuests:
    """Guests with their appointment: the appointment's conditional save decides, so a guest
    lands only with the appointment version it was computed from."""

    def __init__(self, appointments: InMemoryAppointments) -> None:
        self._lock = threading.Lock()
        self._appointments = appointments
        self.guests: dict[tuple[str, str], Guest] = {}

    def add(
        self, guest: Guest, appointment: Appointment, expected_version: int, audit: AuditEvent
    ) -> Appointment:
        with self._lock:
            if (guest.appointment_id, guest.id) in self.guests:
                raise ConcurrentUpdate(guest.id)
            stored = self._appointments.save(appointment, expected_version, audit)
            self.guests[(guest.appointment_id, guest.id)] = guest
            return stored

    def save(
        self, guest: Guest, appointment: Appointment, expected_version: int, audit: AuditEvent | None
    ) -> Appointment:
        with self._lock:
            if (guest.appointment_id, guest.id) not in self.guests:
                raise ConcurrentUpdate(guest.id)
            stored = self._appointments.save(appointment, expected_version, audit)
            self.guests[(guest.appointment_id, guest.id)] = guest
            return stored

    def get(self, appointment_id: str, guest_id: str) -> Guest | None:
        return self.guests.get((appointment_id, guest_id))

    def for_appointment(self, appointment_id: str) -> Sequence[Guest]:
        found = [g for (a, _), g in self.guests.items() if a == appointment_id]
        return sorted(found, key=lambda g: (g.created_at, g.id))

    def by_link_hash(self, token_hash: str) -> Guest | None:
        return next((g for g in self.guests.values() if g.link_token_hash == token_hash), None)
