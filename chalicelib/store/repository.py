"""The repository port: what the use cases need from storage, and nothing about DynamoDB.

Every write that changes an appointment names the version it read; storage refuses it with
ConcurrentUpdate when somebody else wrote in between, and writes the audit event in the same
transaction, so the audit trail always matches the appointment.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from chalicelib.domain.appointment import Appointment, AuditEvent
from chalicelib.domain.chat import ChatMessage
from chalicelib.domain.document import Document
from chalicelib.domain.screenshot import Screenshot, ScreenshotStatus
from chalicelib.domain.task import Task
from chalicelib.domain.timeutil import iso_utc
from chalicelib.paging import Page


class ConcurrentUpdate(Exception):
    """The appointment changed since it was read (or already exists, on add)."""


@dataclass(frozen=True)
class ScheduleResult:
    appointments: list[Appointment]
    items_read: int  # what storage examined to answer: equals len(appointments) for a Query
    after: str | None = None  # the last one's `schedule_position`, when a limit left more


def schedule_position(appointment: Appointment) -> str:
    """Where an appointment stands in a schedule: its start (as stored, whole seconds) and id."""
    return f"{iso_utc(appointment.starts_at)}#{appointment.id}"


class AppointmentRepository(Protocol):
    def add(self, appointment: Appointment, audit: AuditEvent) -> None: ...

    def get(self, appointment_id: str) -> Appointment | None: ...

    def by_link_hash(self, token_hash: str) -> Appointment | None: ...

    def schedule(
        self,
        groups: Iterable[str],
        start: datetime,
        end: datetime,
        limit: int | None = None,
        after: str | None = None,
    ) -> ScheduleResult:
        """The groups' appointments from `start` to `end` by `schedule_position`; with `limit`,
        at most that many, after the position `after` of an earlier page."""
        ...

    def save(self, appointment: Appointment, expected_version: int, audit: AuditEvent | None) -> Appointment:
        """Store `appointment` if its stored version is still `expected_version`; returns it
        with the new version."""
        ...

    def audit_trail(self, appointment_id: str) -> Sequence[AuditEvent]: ...

    def audit_page(self, appointment_id: str, limit: int, after: str | None) -> Page[AuditEvent]:
        """At most `limit` events, oldest first, after the position `after` of an earlier page."""
        ...

    def add_task(self, task: Task, audit: AuditEvent) -> None: ...

    def record(self, audit: AuditEvent) -> None:
        """Appends an audit event for an action that changed no appointment field."""
        ...

    def add_chat(self, message: ChatMessage, audit: AuditEvent) -> None: ...

    def chat_history(self, appointment_id: str) -> Sequence[ChatMessage]: ...

    def chat_page(self, appointment_id: str, limit: int, after: str | None) -> Page[ChatMessage]: ...

    def appointments_on_worker(self, worker_id: str) -> list[str]: ...

    def add_screenshot(self, screenshot: Screenshot, audit: AuditEvent) -> None: ...

    def get_screenshot(self, appointment_id: str, screenshot_id: str) -> Screenshot | None: ...

    def save_screenshot(self, screenshot: Screenshot, expected: ScreenshotStatus, audit: AuditEvent) -> None:
        """Stores the screenshot if its stored status is still `expected` (ConcurrentUpdate if not)."""
        ...

    def screenshots(self, appointment_id: str) -> Sequence[Screenshot]: ...

    def add_document(self, document: Document, audit: AuditEvent) -> None: ...

    def documents(self, appointment_id: str) -> Sequence[Document]: ...

    def documents_page(self, appointment_id: str, limit: int, after: str | None) -> Page[Document]: ...
