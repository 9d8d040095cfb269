"""How a field of a message is read, and what it is: one spec per kind of field.

A message declares each field as `name: Annotated[<type>, <spec>]`; `envelope.Message.parse`
reads the fields in declaration order with their specs, so the first wrong field is the one
named in the error. The error sentences are the server's replies (docs/protocol.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eclinic_protocol.errors import ProtocolError
from eclinic_protocol.mlines import SEATS

Body = Mapping[str, Any]
SDP_MAX = 24 * 1024
ROLES = ("patient", "clinician", "guest")  # who a page in a call is


@dataclass(frozen=True)
class Wire:
    """The field's name on the wire, when it cannot be the Python name (`from`)."""

    name: str


class Spec:
    """Reads one field from a received message (raising ProtocolError), and describes it."""

    optional = False  # may be absent; absent (None) is then left out when the message is sent

    def read(self, body: Body, name: str) -> Any:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class Text(Spec):
    """A non-empty string."""

    message: str | None = None
    max_length: int | None = None
    too_long: str | None = None

    def read(self, body: Body, name: str) -> str:
        value = body.get(name)
        if not isinstance(value, str) or not value:
            raise ProtocolError(self.message or f"`{name}` is required.", name)
        if self.max_length is not None and len(value) > self.max_length:
            raise ProtocolError(self.too_long or f"`{name}` is too long.", name)
        return value

    def describe(self) -> str:
        return "string" if self.max_length is None else f"string of at most {self.max_length}"


@dataclass(frozen=True)
class String(Spec):
    """A string, maybe empty (whether it may be blank is the receiver's rule)."""

    message: str

    def read(self, body: Body, name: str) -> str:
        value = body.get(name)
        if not isinstance(value, str):
            raise ProtocolError(self.message, name)
        return value

    def describe(self) -> str:
        return "string"


@dataclass(frozen=True)
class OptionalText(Spec):
    """A string when present; `default` when absent."""

    default: str | None = None
    max_length: int | None = None
    message: str | None = None
    optional = True

    def read(self, body: Body, name: str) -> str | None:
        if name not in body:
            return self.default
        value = body[name]
        if not isinstance(value, str) or (self.max_length is not None and len(value) > self.max_length):
            raise ProtocolError(self.message or f"`{name}` must be a string.", name)
        return value

    def describe(self) -> str:
        limit = f" of at most {self.max_length}" if self.max_length is not None else ""
        return f"string{limit}, optional"


@dataclass(frozen=True)
class Sdp(Spec):
    """A session description: starts `v=0`, at most SDP_MAX bytes."""

    def read(self, body: Body, name: str) -> str:
        sdp = Text().read(body, name)
        if len(sdp) > SDP_MAX or not sdp.startswith("v=0"):
            raise ProtocolError(f"`{name}` must be a session description.", name)
        return sdp

    def describe(self) -> str:
        return f"SDP (starts `v=0`, at most {SDP_MAX // 1024} KiB)"


@dataclass(frozen=True)
class Choice(Spec):
    """One of a few strings."""

    allowed: tuple[str, ...]
    message: str | None = None

    def read(self, body: Body, name: str) -> str:
        value = body.get(name)
        if value not in self.allowed:
            raise ProtocolError(self.message or f"`{name}` must be one of {', '.join(self.allowed)}.", name)
        return str(value)

    def describe(self) -> str:
        return " / ".join(f"`{a}`" for a in self.allowed)


@dataclass(frozen=True)
class OptionalChoice(Spec):
    """One of a few strings when present (null is not absent)."""

    allowed: tuple[str, ...]
    message: str | None = None
    optional = True

    def read(self, body: Body, name: str) -> str | None:
        return Choice(self.allowed, self.message).read(body, name) if name in body else None

    def describe(self) -> str:
        return f"{Choice(self.allowed).describe()}, optional"


@dataclass(frozen=True)
class Flag(Spec):
    """true or false."""

    def read(self, body: Body, name: str) -> bool | None:
        value = body.get(name)
        if not isinstance(value, bool):
            raise ProtocolError(f"`{name}` must be true or false.", name)
        return value

    def describe(self) -> str:
        return "boolean"


@dataclass(frozen=True)
class OptionalFlag(Flag):
    """true or false when present (null is not absent); `default` stands for an absent one."""

    default: bool | None = None
    optional = True

    def read(self, body: Body, name: str) -> bool | None:
        return super().read(body, name) if name in body else self.default

    def describe(self) -> str:
        return (
            "boolean, optional" if self.default is None else f"boolean, default {str(self.default).lower()}"
        )


@dataclass(frozen=True)
class WholeNumber(Spec):
    """An integer (not a boolean) from `low` to `high`."""

    low: int = 0
    high: int | None = None
    message: str | None = None
    error_field: str | None = None  # reported instead of the field's own name

    def read(self, body: Body, name: str) -> int:
        value = body.get(name)
        if (
            not isinstance(value, int)
            or isinstance(value, bool)
            or value < self.low
            or (self.high is not None and value > self.high)
        ):
            raise ProtocolError(self.message or f"`{name}` must be a whole number.", self.error_field or name)
        return value

    def describe(self) -> str:
        return f"whole number {self.low}..{self.high if self.high is not None else ''}"


@dataclass(frozen=True)
class Number(Spec):
    """A number from 0 to `high` when present; absent or null is None."""

    high: float
    optional = True

    def read(self, body: Body, name: str) -> float | None:
        value = body.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= self.high:
            raise ProtocolError(f"`{name}` must be a number from 0 to {self.high}.", name)
        return value

    def describe(self) -> str:
        return f"number 0..{self.high}, optional"


@dataclass(frozen=True)
class IceCandidate(Spec):
    """A browser's ICE candidate: an object ({candidate, sdpMid, sdpMLineIndex}), a string, or
    null for the end of the candidates. Sent as null, not left out."""

    def read(self, body: Body, name: str) -> dict[str, Any] | str | None:
        value = body.get(name)
        if value is not None and not isinstance(value, dict | str):
            raise ProtocolError(f"`{name}` must be an ICE candidate object.", name)
        return value

    def describe(self) -> str:
        return "ICE candidate object, string or null"


@dataclass(frozen=True)
class JsonObject(Spec):
    """A JSON object whose shape is told elsewhere (`what`: docs/api.md's name for it)."""

    what: str

    def read(self, body: Body, name: str) -> dict[str, Any]:
        value = body.get(name)
        if not isinstance(value, dict):
            raise ProtocolError(f"`{name}` must be an object.", name)
        return value

    def describe(self) -> str:
        return self.what


@dataclass(frozen=True)
class JsonList(Spec):
    """A JSON list of objects (`what`: what each is)."""

    what: str

    def read(self, body: Body, name: str) -> list[dict[str, Any]]:
        value = body.get(name)
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise ProtocolError(f"`{name}` must be a list of objects.", name)
        return value

    def describe(self) -> str:
        return f"list of {self.what}"


APPOINTMENT_ID = Text()
REQUEST_ID = Text()
ROLE = Choice(ROLES, "`role` must be patient, clinician or guest.")
SEAT = Choice(SEATS, "`seat` must be clinician, patient, guest-1 or guest-2.")
PEER_ID = OptionalText(default="", max_length=64, message="`peer_id` must be a short string.")
