"""Who is connected, and to which channels.

A channel is a set of connections that receive the same pushes: the clinicians of a group,
one clinician's tabs, one appointment's patient tabs, one guest seat's tabs, all patients and
all guests (for the stale sweep) and the media workers. A connection subscribes to its
channels at connect and leaves them all at disconnect.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

# API Gateway closes a websocket after 2 hours at most; nothing may outlive that.
CONNECTION_TTL = timedelta(hours=2)
# Pages ping every 30 s. A patient connection silent for longer than this no longer counts
# as "online", whether or not its disconnect ever arrived.
HEARTBEAT_TIMEOUT = timedelta(seconds=90)
# What one browser connection may send (pings excluded), as the contract says.
MESSAGES_PER_WINDOW = 20
MESSAGE_WINDOW = timedelta(seconds=10)
# A patient link may open this many websockets in one window: enough for reloads and a flaky
# phone network, while a loop of connects and disconnects is refused instead of flooding the
# audit and every clinician's schedule.
CONNECTS_PER_LINK = 30
CONNECT_WINDOW = timedelta(minutes=10)
# Of a window's connects, this many are audited one by one (`patient_connected`,
# `patient_disconnected`); past it, one `patient_connects_collapsed` says that the link keeps
# reconnecting, and the rest are only counted. Moves between scheduled and waiting stay audited.
AUDITED_CONNECTS = 5


def connect_window(now: datetime) -> int:
    """The number of the fixed CONNECT_WINDOW that `now` falls into."""
    return int(now.timestamp() // CONNECT_WINDOW.total_seconds())


class Role(enum.StrEnum):
    CLINICIAN = "clinician"
    PATIENT = "patient"
    GUEST = "guest"
    WORKER = "worker"


@dataclass(frozen=True)
class Connection:
    id: str
    role: Role
    name: str
    connected_at: datetime
    last_seen: datetime
    # Who connected, one field per role: a clinician's Cognito `sub`, the appointment a
    # patient's or a guest's link opens (and the guest's id and seat), a worker's id (from its
    # hello; None until then).
    clinician_id: str | None = None
    appointment_id: str | None = None
    worker_id: str | None = None
    guest_id: str | None = None
    guest_seat: str | None = None
    guest_role: str | None = None  # interpreter, family, colleague
    # clinicians: the appointment whose call this page offered into (told to the worker when it goes)
    call_appointment_id: str | None = None
    groups: frozenset[str] = frozenset()
    # media workers only: how many visits they can relay, how many they relay, and whether
    # they are shutting down
    capacity: int = 0
    load: int = 0
    draining: bool = False
    email: str | None = None  # clinicians: for display and the audit, never to decide
    session_expires_at: datetime | None = None  # clinicians: their ID token's expiry
    # While its $connect runs, API Gateway answers 410 for a connection that is about to open:
    # a fan-out from another invocation then must not prune it (a reloaded patient page would
    # stay "online" after it closed, its disconnect finding nothing to remove).
    connecting: bool = False
    # Pages in a call: the microphone and camera as their last media_state said.
    audio: bool = True
    video: bool = True

    @property
    def seat(self) -> str:
        """Which participant of a call this page is (eclinic_protocol.mlines.SEATS)."""
        if self.role is Role.GUEST:
            return _who(self.guest_seat)
        return self.role.value

    def session_over(self, now: datetime) -> bool:
        return self.session_expires_at is not None and now >= self.session_expires_at

    def alive(self, now: datetime) -> bool:
        return now - self.last_seen <= HEARTBEAT_TIMEOUT

    def free_share(self) -> float:
        return (self.capacity - self.load) / self.capacity if self.capacity else 0.0


def group_channel(group: str) -> str:
    return f"group#{group}"


def clinician_channel(clinician_id: str) -> str:
    return f"clinician#{clinician_id}"


def patient_channel(appointment_id: str) -> str:
    return f"patient#{appointment_id}"


def guest_channel(appointment_id: str, seat: str) -> str:
    return f"guest#{appointment_id}#{seat}"


ALL_PATIENTS = "patients"
ALL_GUESTS = "guests"
WORKERS = "workers"


def channels_of(connection: Connection) -> list[str]:
    if connection.role is Role.CLINICIAN:
        return [
            clinician_channel(_who(connection.clinician_id)),
            *map(group_channel, sorted(connection.groups)),
        ]
    if connection.role is Role.PATIENT:
        return [patient_channel(_who(connection.appointment_id)), ALL_PATIENTS]
    if connection.role is Role.GUEST:
        return [guest_channel(_who(connection.appointment_id), connection.seat), ALL_GUESTS]
    return [WORKERS]


def _who(identity: str | None) -> str:
    if not identity:
        raise ValueError("A clinician, patient or guest connection names who connected.")
    return identity


class ConnectionRegistry(Protocol):
    def add(self, connection: Connection) -> None: ...

    def get(self, connection_id: str) -> Connection | None: ...

    def remove(self, connection_id: str) -> Connection | None:
        """Leaves every channel; returns what was connected, or None if nothing was."""
        ...

    def in_channel(self, channel: str) -> list[Connection]: ...

    def touch(self, connection: Connection, at: datetime) -> None: ...

    def update(self, connection: Connection) -> None:
        """Rewrites a connection's fields (a worker's name, capacity and load) in every channel."""
        ...

    def allow_message(self, connection: Connection, now: datetime) -> bool:
        """Counts one message of the connection; False (and not counted) past the contract's
        MESSAGES_PER_WINDOW in any MESSAGE_WINDOW."""
        ...

    def count_connect(self, appointment_id: str, now: datetime) -> int | None:
        """Counts a patient connect of the link in its CONNECT_WINDOW; returns which one it is
        (1, 2, ...), or None (and not counted) past CONNECTS_PER_LINK."""
        ...

    def connects_in_window(self, appointment_id: str, now: datetime) -> int: ...


class InMemoryConnectionRegistry:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.connections: dict[str, Connection] = {}
        self._sent: dict[str, list[datetime]] = {}
        self._connects: dict[tuple[str, int], int] = {}

    def count_connect(self, appointment_id: str, now: datetime) -> int | None:
        key = (appointment_id, connect_window(now))
        with self._lock:
            if self._connects.get(key, 0) >= CONNECTS_PER_LINK:
                return None
            self._connects[key] = self._connects.get(key, 0) + 1
            return self._connects[key]

    def connects_in_window(self, appointment_id: str, now: datetime) -> int:
        return self._connects.get((appointment_id, connect_window(now)), 0)

    def allow_message(self, connection: Connection, now: datetime) -> bool:
        with self._lock:
            recent = [t for t in self._sent.get(connection.id, []) if now - t < MESSAGE_WINDOW]
            allowed = len(recent) < MESSAGES_PER_WINDOW
            self._sent[connection.id] = [*recent, now] if allowed else recent
            return allowed

    def add(self, connection: Connection) -> None:
        with self._lock:
            self.connections[connection.id] = connection

    def get(self, connection_id: str) -> Connection | None:
        return self.connections.get(connection_id)

    def remove(self, connection_id: str) -> Connection | None:
        with self._lock:
            return self.connections.pop(connection_id, None)

    def in_channel(self, channel: str) -> list[Connection]:
        return [c for c in list(self.connections.values()) if channel in channels_of(c)]

    def touch(self, connection: Connection, at: datetime) -> None:
        with self._lock:
            if connection.id in self.connections:
                self.connections[connection.id] = replace(connection, last_seen=at)

    def update(self, connection: Connection) -> None:
        with self._lock:
            if connection.id in self.connections:
                self.connections[connection.id] = connection


def subscribers(registry: ConnectionRegistry, channels: Iterable[str]) -> list[Connection]:
    seen: dict[str, Connection] = {}
    for channel in channels:
        for connection in registry.in_channel(channel):
            seen.setdefault(connection.id, connection)
    return list(seen.values())


def live_workers(registry: ConnectionRegistry, now: datetime) -> list[Connection]:
    """Workers that said hello and whose heartbeat is recent, newest connection first."""
    workers = [c for c in registry.in_channel(WORKERS) if c.worker_id and c.alive(now)]
    return sorted(workers, key=lambda c: c.connected_at, reverse=True)


def worker_connection(registry: ConnectionRegistry, worker_id: str, now: datetime) -> Connection | None:
    """The live connection of the worker with this id (after a reconnect, the newest)."""
    return next((c for c in live_workers(registry, now) if c.worker_id == worker_id), None)
