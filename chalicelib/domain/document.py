"""Written information for the patient: a text, or a file of an allowed type and size.

The request body becomes a SendDocumentCommand at the HTTP edge (`chalicelib/api/bodies.py`),
by these limits.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

MAX_BYTES = 5 * 1024 * 1024
TEXT_MAX_CHARS = 100_000
ALLOWED_TYPES = {
    "application/pdf": (".pdf",),
    "image/png": (".png",),
    "image/jpeg": (".jpg", ".jpeg"),
    "text/plain": (".txt",),
}
# What each type's file starts with, so that a renamed executable is refused.
SIGNATURES = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
}


@dataclass(frozen=True)
class Document:
    id: str
    appointment_id: str
    title: str
    filename: str
    content_type: str
    size: int
    created_by: str
    created_at: datetime

    def storage_key(self) -> str:
        return f"documents/{self.appointment_id}/{self.id}/{self.filename}"


def sanitise_filename(name: str, fallback: str) -> str:
    """A plain file name: no folders, no control or odd characters, at most 100 characters."""
    name = unicodedata.normalize("NFKD", name.replace("\\", "/").rsplit("/", 1)[-1])
    name = name.encode("ascii", "ignore").decode()
    name = re.sub(r"[^A-Za-z0-9._ -]+", "_", name).strip(" ._")
    return (name or fallback)[:100]
