"""What every message is, and the `error` reply that pages and workers alike get.

A message is one JSON object with a string `type`. Each message type is a frozen dataclass
whose fields are `Annotated` with their spec (`fields`): the one definition from which the
sender builds it (`to_json`) and the receiver reads it (`parse`, which raises ProtocolError
naming the first missing or wrong field).
"""

from __future__ import annotations

import typing
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from eclinic_protocol.errors import ProtocolError
from eclinic_protocol.fields import Body, OptionalText, Spec, Text, Wire

MAX_MESSAGE_BYTES = 32 * 1024  # what the server accepts from a page or a worker


@dataclass(frozen=True)
class FieldDefinition:
    name: str  # the Python attribute
    wire: str  # the key in the JSON object
    spec: Spec


_DEFINITIONS: dict[type[Message], tuple[FieldDefinition, ...]] = {}


def definition(cls: type[Message]) -> tuple[FieldDefinition, ...]:
    """The message class's fields, in declaration order, with their specs (read once)."""
    if cls in _DEFINITIONS:
        return _DEFINITIONS[cls]
    found = []
    for name, hint in typing.get_type_hints(cls, include_extras=True).items():
        if typing.get_origin(hint) is not typing.Annotated:
            continue  # TYPE, a ClassVar
        extras = hint.__metadata__
        spec = next(e for e in extras if isinstance(e, Spec))
        wire = next((e.name for e in extras if isinstance(e, Wire)), name)
        found.append(FieldDefinition(name, wire, spec))
    _DEFINITIONS[cls] = tuple(found)
    return _DEFINITIONS[cls]


@dataclass(frozen=True, kw_only=True)
class Message:
    """Base of every message type; `TYPE` is its `type` on the wire."""

    TYPE: ClassVar[str]

    def to_json(self) -> dict[str, Any]:
        """The message as sent: optional fields that are None are left out."""
        message: dict[str, Any] = {"type": self.TYPE}
        for f in definition(type(self)):
            value = getattr(self, f.name)
            if value is None and f.spec.optional:
                continue
            message[f.wire] = value
        return message

    @classmethod
    def parse(cls, body: Body) -> Self:
        """The message read from a received JSON object of this type."""
        return cls(**{f.name: f.spec.read(body, f.wire) for f in definition(cls)})

    @classmethod
    def wire_fields(cls) -> list[str]:
        return [f.wire for f in definition(cls)]


class Registry:
    """The message types of one direction, by `type`: what its receiver parses."""

    def __init__(self, name: str, messages: Iterable[type[Message]]) -> None:
        self.name = name
        self.messages = tuple(messages)
        self.by_type = {m.TYPE: m for m in self.messages}
        assert len(self.by_type) == len(self.messages), f"{name}: a type is defined twice"

    @property
    def types(self) -> set[str]:
        return set(self.by_type)

    def parse(self, body: Body) -> Message:
        """Any message of this direction; ProtocolError for an unknown type or a wrong field."""
        kind = body.get("type")
        message = self.by_type.get(kind) if isinstance(kind, str) else None
        if message is None:
            raise ProtocolError(f"Unknown message type `{kind}`.", "type")
        return message.parse(body)


@dataclass(frozen=True, kw_only=True)
class Error(Message):
    """The server's reply to a message it refused: `ref` is that message's type, `field` the
    field that was wrong; `code` is one of the REST error codes (docs/api.md)."""

    TYPE = "error"
    code: typing.Annotated[str, Text()]
    message: typing.Annotated[str, Text()]
    ref: typing.Annotated[str | None, OptionalText()] = None
    field: typing.Annotated[str | None, OptionalText()] = None
