"""Pushing to websocket connections through the API Gateway management API.

The endpoint comes from configuration, so REST handlers can push as well as websocket
handlers. A connection API Gateway no longer knows answers 410 (GoneException): callers
prune it and carry on.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any, Protocol


class ConnectionGone(Exception):
    """The connection no longer exists at API Gateway (410)."""


class ManagementApi(Protocol):
    def post(self, connection_id: str, message: Mapping[str, Any]) -> None:
        """Raises ConnectionGone when the connection is gone."""
        ...

    def close(self, connection_id: str) -> None: ...


class ApiGatewayManagementApi:
    def __init__(self, client: Any) -> None:
        self._client = client

    def post(self, connection_id: str, message: Mapping[str, Any]) -> None:
        from botocore.exceptions import ClientError

        data = json.dumps(message, separators=(",", ":")).encode()
        try:
            self._client.post_to_connection(ConnectionId=connection_id, Data=data)
        except ClientError as exc:
            if _is_gone(exc):
                raise ConnectionGone(connection_id) from exc
            raise

    def close(self, connection_id: str) -> None:
        from botocore.exceptions import ClientError

        try:
            self._client.delete_connection(ConnectionId=connection_id)
        except ClientError as exc:
            if not _is_gone(exc):
                raise


def _is_gone(exc: Any) -> bool:
    error = exc.response.get("Error", {})
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return bool(error.get("Code") == "GoneException" or status == 410)


class RecordingManagementApi:
    """A fake for unit tests: remembers pushes; connections in `gone` answer 410."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.closed: list[str] = []
        self.gone: set[str] = set()

    def post(self, connection_id: str, message: Mapping[str, Any]) -> None:
        if connection_id in self.gone:
            raise ConnectionGone(connection_id)
        with self._lock:
            self.sent.append((connection_id, json.loads(json.dumps(message))))

    def close(self, connection_id: str) -> None:
        with self._lock:
            self.closed.append(connection_id)

    def to(self, connection_id: str) -> list[dict[str, Any]]:
        return [m for c, m in self.sent if c == connection_id]
