"""Incoming websocket messages: one JSON object with a `type`, at most 32 KiB, read into the
typed message of `eclinic_protocol` that its handler takes.

Anything else is refused with a ValidationFailed that the handler turns into the contract's
`{"type": "error", ...}` reply (`error`); nothing is changed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from chalicelib import json_input
from chalicelib.errors import EclinicError, ValidationFailed
from chalicelib.realtime.connections import Connection
from eclinic_protocol.envelope import MAX_MESSAGE_BYTES, Error, Message
from eclinic_protocol.errors import ProtocolError

Reply = dict[str, Any]
M = TypeVar("M", bound=Message)


@dataclass(frozen=True)
class Incoming:
    """A message as received: its `type` (to find the handler) and the whole JSON object."""

    type: str
    body: Mapping[str, Any]


def parse(raw: str | bytes | None) -> Incoming:
    if raw is None:
        raise ValidationFailed("Send one JSON object with a `type`.")
    data = raw.encode() if isinstance(raw, str) else raw
    if len(data) > MAX_MESSAGE_BYTES:
        raise ValidationFailed(f"A message may be at most {MAX_MESSAGE_BYTES // 1024} KiB.")
    body = json_input.loads(data, "The message")
    if not isinstance(body, dict) or not isinstance(body.get("type"), str):
        raise ValidationFailed("Send one JSON object with a `type`.")
    return Incoming(type=body["type"], body=body)


@dataclass(frozen=True)
class Route(Generic[M]):
    """One row of a handler table: the message type, read from the body, and its handler."""

    message: type[M]
    handle: Callable[[Connection, M], list[Reply]]

    def __call__(self, connection: Connection, incoming: Incoming) -> list[Reply]:
        try:
            message = self.message.parse(incoming.body)
        except ProtocolError as exc:
            raise ValidationFailed(exc.message, exc.field) from exc
        return self.handle(connection, message)


def routes(*table: Route[Any]) -> dict[str, Route[Any]]:
    """A handler table by wire `type`."""
    return {route.message.TYPE: route for route in table}


def error(exc: EclinicError, ref: str | None) -> Reply:
    return Error(code=exc.code, message=exc.message, ref=ref or None, field=exc.field or None).to_json()
