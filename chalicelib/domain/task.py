"""A task for the document workflow, created from an appointment's row menu."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Task:
    id: str
    appointment_id: str
    title: str
    note: str
    created_by: str
    created_at: datetime
