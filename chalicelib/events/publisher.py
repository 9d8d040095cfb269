"""The event publisher port, its EventBridge adapter and an in-memory fake."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

from chalicelib.errors import ServiceUnavailable


class EventPublisher(Protocol):
    def publish(self, detail_type: str, detail: Mapping[str, Any]) -> None: ...


class EventBridgePublisher:
    def __init__(self, events_client: Any, bus: str, source: str) -> None:
        self._events = events_client
        self._bus = bus
        self._source = source

    def publish(self, detail_type: str, detail: Mapping[str, Any]) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        entry = {
            "Source": self._source,
            "DetailType": detail_type,
            "Detail": json.dumps(detail),
            "EventBusName": self._bus,
        }
        try:
            answer = self._events.put_events(Entries=[entry])
        except (BotoCoreError, ClientError) as exc:
            raise ServiceUnavailable("The document workflow could not be reached; try again.") from exc
        if answer.get("FailedEntryCount"):
            raise ServiceUnavailable("The document workflow refused the task; try again.")


class InMemoryEventPublisher:
    def __init__(self) -> None:
        self.published: list[tuple[str, dict[str, Any]]] = []

    def publish(self, detail_type: str, detail: Mapping[str, Any]) -> None:
        self.published.append((detail_type, dict(detail)))
