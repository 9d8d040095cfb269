"""Fan-out: one message to every connection of some channels, in parallel.

A connection that answers 410 is removed from the registry and the fan-out carries on; one
whose $connect still runs is skipped (API Gateway answers 410 for it too, yet it is about to
open); any other failure of one connection is logged and does not stop the others. A
clinician whose ID token has expired gets nothing more: its connection is closed instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from chalicelib.logs import logger
from chalicelib.realtime.connections import Connection, ConnectionRegistry, subscribers
from chalicelib.realtime.management import ConnectionGone, ManagementApi

PARALLEL_PUSHES = 16


class Broadcaster:
    def __init__(
        self,
        registry: ConnectionRegistry,
        management: ManagementApi,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._registry = registry
        self._management = management
        self._clock = clock
        self._pool = ThreadPoolExecutor(max_workers=PARALLEL_PUSHES, thread_name_prefix="push")

    def to_channels(self, channels: Iterable[str], message: Mapping[str, Any]) -> int:
        """Pushes `message` to every live subscriber; returns how many received it."""
        return self.to_connections(subscribers(self._registry, channels), message)

    def to_connections(self, connections: Iterable[Connection], message: Mapping[str, Any]) -> int:
        now = self._clock()
        targets, over = [], []
        for connection in connections:
            if connection.session_over(now):
                over.append(connection)  # its token expired: it hears nothing more, and closes
            elif not connection.connecting:  # API Gateway would answer 410: it is not open yet
                targets.append(connection)
        if over:
            self.close(over)
        if len(targets) <= 1:
            return sum(self._push(c.id, message) for c in targets)
        return sum(self._pool.map(lambda c: self._push(c.id, message), targets))

    def to_connection(self, connection_id: str, message: Mapping[str, Any]) -> bool:
        return self._push(connection_id, message)

    def close(self, connections: Iterable[Connection]) -> None:
        for connection in connections:
            self._management.close(connection.id)
            self._registry.remove(connection.id)

    def _push(self, connection_id: str, message: Mapping[str, Any]) -> bool:
        try:
            self._management.post(connection_id, message)
            return True
        except ConnectionGone:
            self._registry.remove(connection_id)
            logger().info("pruned gone connection", connection_id=connection_id)
        except Exception as exc:
            logger().warning("push failed", connection_id=connection_id, error=type(exc).__name__)
        return False
