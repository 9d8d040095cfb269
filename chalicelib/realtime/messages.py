"""Incoming websocket messages: one JSON object with a `type`, at most 32 KiB.

Anything else is refused with a ValidationFailed that the handler turns into the contract's
`{"type": "error", ...}` reply; nothing is changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib import json_input
from chalicelib.domain import notice
from chalicelib.domain.chat import CHAT_MAX
from chalicelib.domain.rules import field_has_control_characters
from chalicelib.errors import EclinicError, ValidationFailed

MAX_MESSAGE_BYTES = 32 * 1024


@dataclass(frozen=True)
class Incoming:
    type: str
    body: Mapping[str, Any]

    def text(self, field: str) -> str:
        value = self.body.get(field)
        if not isinstance(value, str) or not value:
            raise ValidationFailed(f"`{field}` is required.", field)
        return value

    def appointment_id(self) -> str:
        return self.text("appointment_id")

    def chat_text(self) -> str:
        value = self.body.get("text")
        if not isinstance(value, str) or not value.strip():
            raise ValidationFailed("Write a message first.", "text")
        if len(value) > CHAT_MAX:
            raise ValidationFailed(f"A message may be at most {CHAT_MAX} characters.", "text")
        if field_has_control_characters(value, allow_newlines=True):
            raise ValidationFailed("The message contains characters that cannot be sent.", "text")
        return value

    def notice_text(self) -> str:
        return notice.notice_text(self.body.get("text"))

    def choice(self, field: str, allowed: tuple[str, ...]) -> str:
        value = self.body.get(field)
        if value not in allowed:
            raise ValidationFailed(f"`{field}` must be one of {', '.join(allowed)}.", field)
        return str(value)


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


def error(exc: EclinicError, ref: str | None) -> dict[str, Any]:
    message: dict[str, Any] = {"type": "error", "code": exc.code, "message": exc.message}
    if ref:
        message["ref"] = ref
    if exc.field:
        message["field"] = exc.field
    return message
