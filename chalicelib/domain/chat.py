"""Chat between everyone in a session: the clinician, the patient and the guests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from chalicelib.domain.rules import written_text

CHAT_MAX = 2000


@dataclass(frozen=True)
class ChatMessage:
    id: str
    appointment_id: str
    sender_role: str  # "clinician", "patient" or "guest"
    sender_name: str
    text: str
    at: datetime
    sender_seat: str = ""  # which participant (eclinic_protocol.mlines.SEATS); the role when empty

    @property
    def seat(self) -> str:
        return self.sender_seat or self.sender_role


def chat_text(value: str) -> str:
    """A chat line as sent: not blank, at most CHAT_MAX characters, line breaks and tabs
    allowed, no other control characters."""
    return written_text(value, CHAT_MAX, "message", "Write a message first.")
