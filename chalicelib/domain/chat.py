"""Chat between the clinician in a session and the patient."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

CHAT_MAX = 2000


@dataclass(frozen=True)
class ChatMessage:
    id: str
    appointment_id: str
    sender_role: str  # "clinician" or "patient"
    sender_name: str
    text: str
    at: datetime
