"""Request bodies into the use cases' typed commands (`chalicelib/usecases/commands.py`).

Each parser refuses a body that is not a JSON object, or a field that is missing, of the wrong
type or out of bounds, with ValidationFailed naming the field (API.md's messages), so that a
use case never sees raw JSON. Rules that need the clock (a start in the past) are the use
case's, through `rules.check_start`.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from chalicelib.domain import document, rules
from chalicelib.domain.guest import GuestRole
from chalicelib.domain.guests import NewGuest
from chalicelib.errors import TooLarge, ValidationFailed
from chalicelib.usecases.commands import (
    AddGuestCommand,
    CreateTaskCommand,
    InviteCommand,
    RescheduleCommand,
    SendDocumentCommand,
)


def invite(body: Any) -> InviteCommand:
    body = rules.require_object(body)
    starts_at = rules.start(body)
    duration = rules.duration_minutes(body)
    patient_name = rules.text(body, "patient_name", "The patient's name", rules.NAME_MAX)
    patient_email = rules.email_address(body, "patient_email")
    patient_phone = rules.phone_number(body)
    group = body.get("group")
    if not isinstance(group, str) or not group.strip():
        raise ValidationFailed("Choose an author group.", "group")
    return InviteCommand(
        starts_at=starts_at,
        duration_minutes=duration,
        patient_name=patient_name,
        patient_email=patient_email,
        group=group.strip(),
        timezone=rules.time_zone(body),
        patient_phone=patient_phone,
    )


def add_guest(body: Any) -> AddGuestCommand:
    """A guest: the name as a patient's, the email and the phone (E.164) as a patient's, at
    least one of the two (else 400 on `email`), and the role one of GuestRole."""
    body = rules.require_object(body)
    name = rules.text(body, "name", "The guest's name", rules.NAME_MAX)
    email = None
    if body.get("email") is not None and not (isinstance(body["email"], str) and not body["email"].strip()):
        email = rules.email_address(body, "email", "The guest's")
    phone = rules.phone_number(body, "phone")
    if email is None and phone is None:
        raise ValidationFailed("Give the guest's email address or phone number.", "email")
    role = body.get("role")
    if role not in tuple(GuestRole):
        raise ValidationFailed("The role must be interpreter, family or colleague.", "role")
    return AddGuestCommand(NewGuest(name=name, role=GuestRole(role), email=email, phone=phone))


def reschedule(body: Any) -> RescheduleCommand:
    """A reschedule's body, checked as an invitation's time is; a duration or a time zone that
    is absent or null keeps the appointment's."""
    body = rules.require_object(body)
    starts_at = rules.start(body)
    duration = None if body.get("duration_minutes") is None else rules.duration_minutes(body)
    return RescheduleCommand(
        starts_at=starts_at,
        duration_minutes=duration,
        timezone=rules.time_zone(body) if body.get("timezone") is not None else None,
    )


def create_task(body: Any) -> CreateTaskCommand:
    body = rules.require_object(body)
    return CreateTaskCommand(
        title=rules.text(body, "title", "The task title", rules.TASK_TITLE_MAX),
        note=rules.text(body, "note", "The note", rules.TASK_NOTE_MAX, required=False),
    )


def send_document(body: Any) -> SendDocumentCommand:
    """A text (`text`) or a file (`content_type`, `content_base64`, `filename`) with its `title`."""
    body = rules.require_object(body)
    title = rules.text(body, "title", "The title", 200)
    if "text" in body and "content_base64" not in body:
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ValidationFailed("Write the information to send.", "text")
        if len(text) > document.TEXT_MAX_CHARS:
            raise ValidationFailed(f"The text may be at most {document.TEXT_MAX_CHARS} characters.", "text")
        filename = document.sanitise_filename(title, "information") + ".txt"
        return SendDocumentCommand(
            title=title, filename=filename, content_type="text/plain", content=text.encode()
        )
    return _file(body, title)


def _file(body: Mapping[str, Any], title: str) -> SendDocumentCommand:
    content_type = body.get("content_type")
    if content_type not in document.ALLOWED_TYPES:
        raise ValidationFailed("Send a PDF, PNG, JPEG or plain-text file.", "content_type")
    content = _content(body.get("content_base64"))
    signatures = document.SIGNATURES.get(content_type)
    if signatures and not content.startswith(signatures):
        raise ValidationFailed("The file's content does not match its type.", "content_type")
    if content_type == "text/plain":
        try:
            content.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValidationFailed("A text file must be UTF-8.", "content_type") from exc
    extensions = document.ALLOWED_TYPES[content_type]
    raw_name = body.get("filename")
    filename = document.sanitise_filename(raw_name if isinstance(raw_name, str) else "", "document")
    if not filename.lower().endswith(extensions):
        filename = filename.rsplit(".", 1)[0] + extensions[0]
    return SendDocumentCommand(title=title, filename=filename, content_type=content_type, content=content)


def _content(raw: Any) -> bytes:
    """`content_base64` decoded: present, valid base64, not empty, at most MAX_BYTES."""
    if not isinstance(raw, str) or not raw:
        raise ValidationFailed("The file is missing.", "content_base64")
    if len(raw) > (document.MAX_BYTES * 4) // 3 + 4:
        raise TooLarge("A file may be at most 5 MiB.", "content_base64")
    try:
        content = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValidationFailed("The file is not valid base64.", "content_base64") from exc
    if not content:
        raise ValidationFailed("The file is empty.", "content_base64")
    if len(content) > document.MAX_BYTES:
        raise TooLarge("A file may be at most 5 MiB.", "content_base64")
    return content
