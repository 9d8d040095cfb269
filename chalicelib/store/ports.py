"""The storage ports: what the use cases need from storage, one small port per kind of record,
and nothing about DynamoDB.

Every write that changes an appointment names the version it read; storage refuses it with
ConcurrentUpdate when somebody else wrote in between. A record written because of an action
(a task, a chat line, a screenshot, a document) goes with that action's audit event, and
either both are stored or neither is, so the audit trail always matches what is stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from chalicelib.domain.appointment import Appointment, AuditEvent
from chalicelib.domain.chat import ChatMessage
from chalicelib.domain.document import Document
from chalicelib.domain.guest import Guest
from chalicelib.domain.screenshot import Screenshot, ScreenshotStatus
from chalicelib.domain.task import Task
from chalicelib.domain.timeutil import iso_utc
from chalicelib.paging import Page


class ConcurrentUpdate(Exception):
    """The record changed since it was read (or already exists, on add)."""


@dataclass(frozen=True)
class ScheduleResult:
    appointments: list[Appointment]
    items_read: int  # what storage examined to answer: equals len(appointments) for a Query
    after: str | None = None  # the last one's `schedule_position`, when a limit left more


def schedule_position(appointment: Appointment) -> str:
    """Where an appointment stands in a schedule: its start (as stored, whole seconds) and id."""
    return f"{iso_utc(appointment.starts_at)}#{appointment.id}"


class AppointmentStore(Protocol):
    """The appointments; each write carries the audit event of the change it stores."""

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

    def ids_on_worker(self, worker_id: str) -> list[str]:
        """The ids of the appointments whose call that media worker relays."""
        ...


class AuditLog(Protocol):
    """The appointments' audit trail, which is only ever appended to."""

    def append(self, event: AuditEvent) -> None:
        """Stores an audit event for an action that changed no stored record."""
        ...

    def page(self, appointment_id: str, limit: int, after: str | None) -> Page[AuditEvent]:
        """At most `limit` events, oldest first, after the position `after` of an earlier page."""
        ...


class ChatStore(Protocol):
    """The chat lines of each appointment's session."""

    def add(self, message: ChatMessage, audit: AuditEvent) -> None: ...

    def page(self, appointment_id: str, limit: int, after: str | None) -> Page[ChatMessage]:
        """At most `limit` lines, oldest first, after the position `after` of an earlier page."""
        ...


class TaskStore(Protocol):
    """The follow-up tasks clinicians create for an appointment."""

    def add(self, task: Task, audit: AuditEvent) -> None: ...


class DocumentStore(Protocol):
    """What a clinician sent the patient (the record; the file itself is in the file store)."""

    def add(self, document: Document, audit: AuditEvent) -> None: ...

    def for_appointment(self, appointment_id: str) -> Sequence[Document]:
        """The appointment's documents, oldest first."""
        ...

    def page(self, appointment_id: str, limit: int, after: str | None) -> Page[Document]: ...


class ScreenshotStore(Protocol):
    """Screenshot requests and their consent, picture or failure."""

    def add(self, screenshot: Screenshot, audit: AuditEvent) -> None: ...

    def get(self, appointment_id: str, screenshot_id: str) -> Screenshot | None: ...

    def save(self, screenshot: Screenshot, expected: ScreenshotStatus, audit: AuditEvent) -> None:
        """Stores the screenshot if its stored status is still `expected` (ConcurrentUpdate if not)."""
        ...

    def for_appointment(self, appointment_id: str) -> Sequence[Screenshot]:
        """The appointment's screenshots by request time, then id."""
        ...


class GuestStore(Protocol):
    """A visit's guests. A guest is written together with its appointment (whose `guests` lists
    the guests not removed and their seats), conditional on the appointment's version read,
    and with the audit event: all of it lands or none (ConcurrentUpdate)."""

    def add(
        self, guest: Guest, appointment: Appointment, expected_version: int, audit: AuditEvent
    ) -> Appointment:
        """Stores the new guest and `appointment` (returned with its new version)."""
        ...

    def save(
        self, guest: Guest, appointment: Appointment, expected_version: int, audit: AuditEvent | None
    ) -> Appointment:
        """Stores a guest that exists, changed, and `appointment` (returned with its new version)."""
        ...

    def get(self, appointment_id: str, guest_id: str) -> Guest | None: ...

    def for_appointment(self, appointment_id: str) -> Sequence[Guest]:
        """Every guest of the appointment, removed ones too, by when they were added."""
        ...

    def by_link_hash(self, token_hash: str) -> Guest | None: ...
