"""Builders for domain objects and a service wired to in-memory fakes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.api import bodies
from chalicelib.auth import patient_links
from chalicelib.auth.tokens import Session
from chalicelib.auth.turn_credentials import TurnCredentials
from chalicelib.domain.appointment import Appointment, Invite, Status
from chalicelib.domain.clinician import Clinician
from chalicelib.events.publisher import InMemoryEventPublisher
from chalicelib.files.storage import InMemoryFileStore
from chalicelib.mail.mailer import InMemoryMailer
from chalicelib.realtime.broadcast import Broadcaster
from chalicelib.realtime.connections import InMemoryConnectionRegistry
from chalicelib.realtime.management import RecordingManagementApi
from chalicelib.realtime.updates import LiveUpdates
from chalicelib.reminders.scheduler import InMemoryReminderScheduler
from chalicelib.store.memory import (
    InMemoryAppointments,
    InMemoryAuditLog,
    InMemoryChat,
    InMemoryDocuments,
    InMemoryGuests,
    InMemoryScreenshots,
    InMemoryTasks,
)
from chalicelib.texts.sender import InMemoryTextSender
from chalicelib.usecases.appointments import AppointmentService, LinkPolicy
from chalicelib.usecases.documents import Documents
from chalicelib.usecases.guests import GuestService
from chalicelib.usecases.live import LiveService
from chalicelib.usecases.media_workers import MediaWorkers
from chalicelib.usecases.ports import GuestRemovedListener
from chalicelib.usecases.reminders import ReminderService
from chalicelib.usecases.screenshots import Screenshots
from chalicelib.usecases.signalling import Signalling

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
SECRET = b"s" * 32
WORKER_SECRET = "worker-secret-for-tests"
ADA = Clinician(
    "0d1a5f3e-ada0-4c1e-9a00-00000000a0a0", "ada@clinic.example", "Ada Lovelace", frozenset({"cardiology"})
)
BEN = Clinician(
    "0d1a5f3e-be40-4c1e-9a00-00000000be40", "ben@clinic.example", "Ben Okafor", frozenset({"cardiology"})
)
CYD = Clinician(
    "0d1a5f3e-c7d0-4c1e-9a00-00000000c7d0", "cyd@clinic.example", "Cyd Charisse", frozenset({"dermatology"})
)
GROUP_NAMES = {"cardiology": "Cardiology", "dermatology": "Dermatology"}


def appointment(**changes: Any) -> Appointment:
    values: dict[str, Any] = {
        "id": "0b7c4c1e-8a7e-4f4e-9d55-2f4f3c1b6a10",
        "group": "cardiology",
        "starts_at": NOW + timedelta(hours=1),
        "duration_minutes": 15,
        "timezone": "Europe/Berlin",
        "patient_name": "Pat Doe",
        "patient_email": "pat@example.com",
        "status": Status.SCHEDULED,
        "taken_by": None,
        "invited_by": "ada@clinic.example",
        "invite": Invite(),
        "created_at": NOW,
        "updated_at": NOW,
        "link_nonce": "nonce",
        "link_token_hash": "hash",
    }
    values.update(changes)
    return Appointment(**values)


def invite_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "starts_at": "2026-11-26T10:30:00+01:00",
        "duration_minutes": 20,
        "patient_name": "Pat Doe",
        "patient_email": "pat@example.com",
        "group": "cardiology",
        "timezone": "Europe/Berlin",
    }
    body.update(changes)
    return body


@dataclass
class Clock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@dataclass
class FakeTokens:
    """Stands in for the Cognito verifier: a token is the clinician's email."""

    expires_at: datetime

    def verify(self, token: str) -> Clinician:
        return self.session(token).clinician

    def session(self, token: str) -> Session:
        from chalicelib.errors import Unauthorized

        for clinician in (ADA, BEN, CYD):
            if token == clinician.email:
                return Session(clinician, self.expires_at)
        raise Unauthorized("bad token")


@dataclass
class FakeWorld:
    audit_log: InMemoryAuditLog = field(default_factory=InMemoryAuditLog)
    mailer: InMemoryMailer = field(default_factory=InMemoryMailer)
    events: InMemoryEventPublisher = field(default_factory=InMemoryEventPublisher)
    clock: Clock = field(default_factory=Clock)
    registry: InMemoryConnectionRegistry = field(default_factory=InMemoryConnectionRegistry)
    management: RecordingManagementApi = field(default_factory=RecordingManagementApi)
    files: InMemoryFileStore = field(default_factory=InMemoryFileStore)
    texts: InMemoryTextSender = field(default_factory=InMemoryTextSender)
    scheduler: InMemoryReminderScheduler = field(default_factory=InMemoryReminderScheduler)
    reminder_offsets: dict[str, timedelta] = field(
        default_factory=lambda: {"24h": timedelta(hours=24), "1h": timedelta(hours=1)}
    )
    turn: TurnCredentials | None = None
    ice_transport_policy: str = "all"
    token_expires_at: datetime = NOW + timedelta(hours=1)
    appointment_store: InMemoryAppointments = field(init=False)
    chat_store: InMemoryChat = field(init=False)
    task_store: InMemoryTasks = field(init=False)
    document_store: InMemoryDocuments = field(init=False)
    screenshot_store: InMemoryScreenshots = field(init=False)
    guest_store: InMemoryGuests = field(init=False)

    def __post_init__(self) -> None:
        # Every store writes its audit events to the one log, as the audit table is shared.
        self.appointment_store = InMemoryAppointments(self.audit_log)
        self.chat_store = InMemoryChat(self.audit_log)
        self.task_store = InMemoryTasks(self.audit_log)
        self.document_store = InMemoryDocuments(self.audit_log)
        self.screenshot_store = InMemoryScreenshots(self.audit_log)
        self.guest_store = InMemoryGuests(self.appointment_store)

    @property
    def broadcaster(self) -> Broadcaster:
        if not hasattr(self, "_broadcaster"):
            self._broadcaster = Broadcaster(self.registry, self.management, self.clock)
        return self._broadcaster

    def workers(self) -> MediaWorkers:
        return MediaWorkers(
            self.appointment_store, self.registry, self.broadcaster, WORKER_SECRET, self.clock
        )

    def signalling(self) -> Signalling:
        return Signalling(
            self.service(),
            self.appointment_store,
            self.registry,
            self.broadcaster,
            self.workers(),
            [{"urls": ["stun:stun.test:3478"]}],
            self.turn,
            clock=self.clock,
            ice_transport_policy=self.ice_transport_policy,
        )

    def screenshots(self) -> Screenshots:
        return Screenshots(
            self.service(),
            self.appointment_store,
            self.audit_log,
            self.screenshot_store,
            self.broadcaster,
            self.files,
            self.workers(),
            self.signalling(),
        )

    def documents(self) -> Documents:
        return Documents(self.service(), self.document_store, self.broadcaster, self.files)

    def live(self) -> LiveService:
        return self.live_and_guests()[0]

    def live_and_guests(self) -> tuple[LiveService, GuestService]:
        """The websocket side and the guests' use cases, wired to each other as in production."""
        guests = self.guests()
        live = LiveService(
            self.service(),
            self.appointment_store,
            self.audit_log,
            self.chat_store,
            self.registry,
            self.broadcaster,
            FakeTokens(self.token_expires_at),
            self.workers(),
            self.signalling(),
            self.screenshots(),
            guests=guests,
        )
        guests.removed_listener = live
        return live, guests

    def service(self, link_secret: bytes = SECRET) -> AppointmentService:
        return AppointmentService(
            appointment_store=self.appointment_store,
            audit_log=self.audit_log,
            chat_store=self.chat_store,
            task_store=self.task_store,
            mailer=self.mailer,
            events=self.events,
            group_names=lambda: GROUP_NAMES,
            links=LinkPolicy(secret=link_secret, grace=timedelta(hours=2), base_url="https://eclinic.test"),
            mail_sender="eClinic <no-reply@clinic.example>",
            texts=self.texts,
            reminder_scheduler=self.scheduler,
            reminder_offsets=self.reminder_offsets,
            notifier=LiveUpdates(self.broadcaster, self.registry),
            clock=self.clock,
            calls=self.workers(),
        )

    def guests(self, removed_listener: GuestRemovedListener | None = None) -> GuestService:
        return GuestService(
            self.service(),
            self.appointment_store,
            self.guest_store,
            self.audit_log,
            self.mailer,
            self.texts,
            LinkPolicy(secret=SECRET, grace=timedelta(hours=2), base_url="https://eclinic.test"),
            notifier=LiveUpdates(self.broadcaster, self.registry),
            removed_listener=removed_listener,
            clock=self.clock,
        )

    def reminders(self) -> ReminderService:
        return ReminderService(
            self.service(), self.appointment_store, self.audit_log, self.mailer, clock=self.clock
        )

    def token_of(self, a: Appointment) -> str:
        return patient_links.token_for(SECRET, a.id, a.link_nonce)


def send(live: LiveService, connection_id: str, **message: Any) -> list[dict[str, Any]]:
    """One websocket message from a connection, as the gateway hands it over: the replies."""
    return live.handle(connection_id, json.dumps(message))


def invite_and_connect(world: FakeWorld) -> tuple[LiveService, Appointment, str]:
    """Ada invites a patient; Ada, Ben (her group) and Cyd (another group) are connected.
    Returns the live service, the appointment and the patient's link token."""
    live = world.live()
    invited = world.service().invite(ADA, bodies.invite(invite_body()))
    live.connect("ada-1", {"id_token": ADA.email})
    live.connect("ben-1", {"id_token": BEN.email})
    live.connect("cyd-1", {"id_token": CYD.email})
    return live, invited, world.token_of(invited)
