"""The media workers: their credential, their hello and heartbeats, which one relays a visit,
and telling a worker to let go of a visit it no longer relays."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from chalicelib import metrics
from chalicelib.domain.appointment import Appointment, Status
from chalicelib.errors import NotFound, ServiceUnavailable
from chalicelib.logs import logger
from chalicelib.realtime.broadcast import Broadcaster
from chalicelib.realtime.connections import Connection, ConnectionRegistry, live_workers, worker_connection
from chalicelib.store.ports import AppointmentStore
from eclinic_protocol import from_worker, to_worker

Reply = dict[str, Any]
NO_WORKER_FREE = "No video server is free right now. Please try again in a minute."


class MediaWorkers:
    """The pool of media workers as the server sees it. Workers are long-lived websocket
    clients that come, report their load and go; this keeps their figures in the connection
    registry and picks the worker for a call, so that no other service needs to know how a
    worker is chosen or when one counts as live."""

    def __init__(
        self,
        appointment_store: AppointmentStore,
        registry: ConnectionRegistry,
        broadcaster: Broadcaster,
        worker_secret: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._appointment_store = appointment_store
        self._registry = registry
        self._broadcaster = broadcaster
        self._worker_secret = worker_secret
        self._clock = clock

    def is_worker_credential(self, offered: str) -> bool:
        return bool(self._worker_secret) and hmac.compare_digest(
            offered.encode(), self._worker_secret.encode()
        )

    def worker_hello(self, connection: Connection, hello: from_worker.WorkerHello) -> list[Reply]:
        worker_id = hello.worker_id
        updated = replace(
            connection,
            worker_id=worker_id,
            capacity=hello.capacity,
            load=hello.load,
            draining=hello.draining,
            last_seen=self._clock(),
        )
        self._registry.update(updated)
        logger().info("media worker registered", worker_id=worker_id, capacity=updated.capacity)
        return [to_worker.WorkerWelcome(worker_id=worker_id).to_json()]

    def heartbeat(self, connection: Connection, status: from_worker.WorkerStatus) -> list[Appointment]:
        """Keeps a worker's reported figures; answers the running visits to move elsewhere
        when this report is the one in which the worker starts draining."""
        updated = replace(
            connection,
            capacity=status.capacity,
            load=status.load,
            draining=status.draining,
            last_seen=self._clock(),
        )
        self._registry.update(updated)
        if not updated.draining or connection.draining:
            return []
        store = self._appointment_store
        visits = (store.get(i) for i in store.ids_on_worker(updated.worker_id or ""))
        return [a for a in visits if a is not None and a.status is Status.IN_SESSION]

    def pick(self, appointment: Appointment, exclude: str | None = None) -> str:
        """The worker for the appointment's call: its own if still live (and not draining),
        else the least loaded one with room, whose load counts the visit at once (so that calls
        arriving before its next report spread out). Raises ServiceUnavailable when none is free."""
        workers = [w for w in live_workers(self._registry, self._clock()) if w.worker_id != exclude]
        if appointment.media_worker_id and any(
            w.worker_id == appointment.media_worker_id and not w.draining for w in workers
        ):
            return appointment.media_worker_id
        free = [w for w in workers if not w.draining and w.capacity > w.load]
        if not free:
            metrics.count("CallSetupFailures")
            raise ServiceUnavailable(NO_WORKER_FREE)
        chosen = max(free, key=lambda w: (w.free_share(), -w.load))
        self._registry.update(replace(chosen, load=chosen.load + 1))
        assert chosen.worker_id  # live_workers lists only workers that said hello
        return chosen.worker_id

    def connection_of(self, worker_id: str | None) -> Connection | None:
        """The live connection of that worker, if it has one."""
        if not worker_id:
            return None
        return worker_connection(self._registry, worker_id, self._clock())

    def visit_of(self, connection: Connection, appointment_id: str) -> Appointment:
        """The appointment a worker's message is about, if it is this worker's to relay."""
        appointment = self._appointment_store.get(appointment_id)
        if (
            appointment is None
            or connection.worker_id is None
            or appointment.media_worker_id != connection.worker_id
        ):
            raise NotFound("That visit is not assigned to this worker.")
        return appointment

    def end_call(self, before: Appointment, after: Appointment) -> None:
        """The worker that relayed `before`'s call lets go of it when `after` has no call (the
        session is over) or another worker's (the visit moved)."""
        if not before.media_worker_id or before.media_worker_id == after.media_worker_id:
            return
        worker = self.connection_of(before.media_worker_id)
        if worker is not None:
            self._broadcaster.to_connection(worker.id, to_worker.End(appointment_id=after.id).to_json())
