"""An in-memory repository with the same conditional-write rules, for unit tests."""

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
from chalicelib.domain.screenshot import Screenshot, ScreenshotStatus
from chalicelib.domain.task import Task
from chalicelib.errors import ValidationFailed
from chalicelib.paging import Page
from chalicelib.store.repository import ConcurrentUpdate, ScheduleResult, schedule_position

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


class InMemoryAppointmentRepository:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.appointments: dict[str, Appointment] = {}
        self.audit: list[AuditEvent] = []
        self.tasks: list[Task] = []
        self.chat: list[ChatMessage] = []
        self.shots: dict[tuple[str, str], Screenshot] = {}
        self.docs: list[Document] = []

    def add(self, appointment: Appointment, audit: AuditEvent) -> None:
        with self._lock:
            if appointment.id in self.appointments:
                raise ConcurrentUpdate(appointment.id)
            self.appointments[appointment.id] = appointment
            self.audit.append(audit)

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
                self.audit.append(audit)
            return stored

    def audit_trail(self, appointment_id: str) -> Sequence[AuditEvent]:
        return [e for e in self.audit if e.appointment_id == appointment_id]

    def audit_page(self, appointment_id: str, limit: int, after: str | None) -> Page[AuditEvent]:
        return _page(self.audit_trail(appointment_id), limit, after)

    def add_task(self, task: Task, audit: AuditEvent) -> None:
        with self._lock:
            self.tasks.append(task)
            self.audit.append(audit)

    def record(self, audit: AuditEvent) -> None:
        with self._lock:
            self.audit.append(audit)

    def add_chat(self, message: ChatMessage, audit: AuditEvent) -> None:
        with self._lock:
            self.chat.append(message)
            self.audit.append(audit)

    def chat_history(self, appointment_id: str) -> Sequence[ChatMessage]:
        return [m for m in self.chat if m.appointment_id == appointment_id]

    def chat_page(self, appointment_id: str, limit: int, after: str | None) -> Page[ChatMessage]:
        return _page(self.chat_history(appointment_id), limit, after)

    def appointments_on_worker(self, worker_id: str) -> list[str]:
        return [a.id for a in self.appointments.values() if a.media_worker_id == worker_id]

    def add_screenshot(self, screenshot: Screenshot, audit: AuditEvent) -> None:
        with self._lock:
            self.shots[(screenshot.appointment_id, screenshot.id)] = screenshot
            self.audit.append(audit)

    def get_screenshot(self, appointment_id: str, screenshot_id: str) -> Screenshot | None:
        return self.shots.get((appointment_id, screenshot_id))

    def save_screenshot(self, screenshot: Screenshot, expected: ScreenshotStatus, audit: AuditEvent) -> None:
        with self._lock:
            key = (screenshot.appointment_id, screenshot.id)
            current = self.shots.get(key)
            if current is None or current.status is not expected:
                raise ConcurrentUpdate(screenshot.id)
            self.shots[key] = screenshot
            self.audit.append(audit)

    def screenshots(self, appointment_id: str) -> Sequence[Screenshot]:
        found = [s for (a, _), s in self.shots.items() if a == appointment_id]
        return sorted(found, key=lambda s: (s.requested_at, s.id))

    def add_document(self, document: Document, audit: AuditEvent) -> None:
        with self._lock:
            self.docs.append(document)
            self.audit.append(audit)

    def documents(self, appointment_id: str) -> Sequence[Document]:
        return [d for d in self.docs if d.appointment_id == appointment_id]

    def documents_page(self, appointment_id: str, limit: int, after: str | None) -> Page[Document]:
        return _page(self.documents(appointment_id), limit, after)
