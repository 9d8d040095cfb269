"""Written information for the patient: a text, or a file of an allowed type and size."""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.domain import rules
from chalicelib.errors import TooLarge, ValidationFailed

MAX_BYTES = 5 * 1024 * 1024
TEXT_MAX_CHARS = 100_000
ALLOWED_TYPES = {
    "application/pdf": (".pdf",),
    "image/png": (".png",),
    "image/jpeg": (".jpg", ".jpeg"),
    "text/plain": (".txt",),
}
# What each type's file starts with, so that a renamed executable is refused.
_SIGNATURES = {
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


@dataclass(frozen=True)
class NewDocument:
    title: str
    filename: str
    content_type: str
    content: bytes


def sanitise_filename(name: str, fallback: str) -> str:
    """A plain file name: no folders, no control or odd characters, at most 100 characters."""
    name = unicodedata.normalize("NFKD", name.replace("\\", "/").rsplit("/", 1)[-1])
    name = name.encode("ascii", "ignore").decode()
    name = re.sub(r"[^A-Za-z0-9._ -]+", "_", name).strip(" ._")
    return (name or fallback)[:100]


def new_document(body: Any) -> NewDocument:
    body = rules.require_object(body)
    title = rules.text(body, "title", "The title", 200)
    if "text" in body and "content_base64" not in body:
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ValidationFailed("Write the information to send.", "text")
        if len(text) > TEXT_MAX_CHARS:
            raise ValidationFailed(f"The text may be at most {TEXT_MAX_CHARS} characters.", "text")
        filename = sanitise_filename(title, "information") + ".txt"
        return NewDocument(title=title, filename=filename, content_type="text/plain", content=text.encode())
    return _file(body, title)


def _file(body: Mapping[str, Any], title: str) -> NewDocument:
    content_type = body.get("content_type")
    if content_type not in ALLOWED_TYPES:
        raise ValidationFailed("Send a PDF, PNG, JPEG or plain-text file.", "content_type")
    raw = body.get("content_base64")
    if not isinstance(raw, str) or not raw:
        raise ValidationFailed("The file is missing.", "content_base64")
    if len(raw) > (MAX_BYTES * 4) // 3 + 4:
        raise TooLarge("A file may be at most 5 MiB.", "content_base64")
    try:
        content = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValidationFailed("The file is not valid base64.", "content_base64") from exc
    if not content:
        raise ValidationFailed("The file is empty.", "content_base64")
    if len(content) > MAX_BYTES:
        raise TooLarge("A file may be at most 5 MiB.", "content_base64")
    signatures = _SIGNATURES.get(content_type)
    if signatures and not content.startswith(signatures):
        raise ValidationFailed("The file's content does not match its type.", "content_type")
    if content_type == "text/plain":
        try:
            content.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValidationFailed("A text file must be UTF-8.", "content_type") from exc
    extensions = ALLOWED_TYPES[content_type]
    raw_name = body.get("filename")
    filename = sanitise_filename(raw_name if isinstance(raw_name, str) else "", "document")
    if not filename.lower().endswith(extensions):
        filename = filename.rsplit(".", 1)[0] + extensions[0]
    return NewDocument(title=title, filename=filename, content_type=content_type, content=content)
