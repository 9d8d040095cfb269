"""Input rules of API.md: the fields of new appointments, reschedules and tasks, the start's
window and schedule queries.

Each rule raises ValidationFailed naming the field, before anything is stored or mailed; the
HTTP edge (`chalicelib/api/bodies.py`) combines them into the use cases' typed commands.
The email check uses the `email-validator` library (syntax and internationalised domains,
no DNS lookups) rather than a hand-written pattern.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import available_timezones

from email_validator import EmailNotValidError, validate_email

from chalicelib.domain.timeutil import parse_instant
from chalicelib.errors import ValidationFailed

NAME_MAX = 200
DURATION_MIN, DURATION_MAX, DURATION_DEFAULT = 5, 240, 15
PAST_TOLERANCE = timedelta(minutes=10)
FUTURE_LIMIT = timedelta(days=366)
SCHEDULE_RANGE_MAX = timedelta(days=366)
TASK_TITLE_MAX, TASK_NOTE_MAX = 200, 4000
PHONE_MAX = 32  # longer than any number written with spaces; E.164 has 15 digits at most
# Unicode categories that must never reach a mail header or a page: control, format,
# line and paragraph separators.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})


def require_object(body: Any) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise ValidationFailed("The request body must be a JSON object.")
    return body


def text(body: Mapping[str, Any], field: str, label: str, limit: int, required: bool = True) -> str:
    value = body.get(field)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise ValidationFailed(f"{label} is required.", field)
    value = value.strip()
    if required and not value:
        raise ValidationFailed(f"{label} must not be empty.", field)
    if len(value) > limit:
        raise ValidationFailed(f"{label} must be at most {limit} characters.", field)
    if field_has_control_characters(value, allow_newlines=not required):
        raise ValidationFailed(f"{label} must not contain control characters.", field)
    return value


def field_has_control_characters(value: str, allow_newlines: bool = False) -> bool:
    allowed = {"\n", "\t"} if allow_newlines else set()
    return any(unicodedata.category(ch) in _FORBIDDEN_CATEGORIES and ch not in allowed for ch in value)


def written_text(value: str, most: int, noun: str, empty: str) -> str:
    """Words one person writes to another (a chat line, a notice): not blank, at most `most`
    characters, line breaks and tabs allowed, no other control characters."""
    if not value.strip():
        raise ValidationFailed(empty, "text")
    if len(value) > most:
        raise ValidationFailed(f"A {noun} may be at most {most} characters.", "text")
    if field_has_control_characters(value, allow_newlines=True):
        raise ValidationFailed(f"The {noun} contains characters that cannot be sent.", "text")
    return value


def email_address(body: Mapping[str, Any], field: str, whose: str = "The patient's") -> str:
    value = body.get(field)
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed(f"{whose} email address is required.", field)
    try:
        checked = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValidationFailed("Enter a valid email address, like name@example.com.", field) from exc
    return checked.normalized


def time_zone(body: Mapping[str, Any], field: str = "timezone") -> str:
    value = body.get(field) or "UTC"
    if not isinstance(value, str) or value not in _known_zones():
        raise ValidationFailed("Unknown time zone; use an IANA name like Europe/Berlin.", field)
    return value


@functools.cache
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones()) | {"UTC"}


def instant(body: Mapping[str, Any], field: str, label: str) -> datetime:
    value = body.get(field)
    if not isinstance(value, str):
        raise ValidationFailed(f"{label} is required, as ISO-8601 with an offset.", field)
    try:
        return parse_instant(value)
    except ValueError as exc:
        raise ValidationFailed(
            f"{label} must be ISO-8601 with an offset, like 2026-11-30T09:30:00+01:00.", field
        ) from exc


def start(body: Mapping[str, Any]) -> datetime:
    """`starts_at`, whole seconds; `check_start` then holds it against the clock."""
    return instant(body, "starts_at", "The start").replace(microsecond=0)


def check_start(starts_at: datetime, now: datetime) -> None:
    """A start may be at most 10 minutes past and at most a year ahead."""
    if starts_at < now - PAST_TOLERANCE:
        raise ValidationFailed("The start is in the past; choose a time from now on.", "starts_at")
    if starts_at > now + FUTURE_LIMIT:
        raise ValidationFailed("The start is more than a year ahead.", "starts_at")


def duration_minutes(body: Mapping[str, Any], default: int = DURATION_DEFAULT) -> int:
    duration = body.get("duration_minutes", default)
    if duration is None:
        duration = default
    if isinstance(duration, bool) or not isinstance(duration, int):
        raise ValidationFailed("The duration must be a whole number of minutes.", "duration_minutes")
    if not DURATION_MIN <= duration <= DURATION_MAX:
        raise ValidationFailed(
            f"The duration must be between {DURATION_MIN} and {DURATION_MAX} minutes.",
            "duration_minutes",
        )
    return duration


def phone_number(body: Mapping[str, Any], field: str = "patient_phone") -> str | None:
    """An optional phone number in E.164 (absent, null or blank: none). The library is
    imported here, not above: it costs about 80 ms, which only an invitation needs to pay."""
    from chalicelib.texts.phone import EXAMPLE, normalise_phone

    value = body.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str) or len(value) > PHONE_MAX:
        raise ValidationFailed(f"Enter the phone number with its country code, for example {EXAMPLE}.", field)
    return normalise_phone(value, field)


def schedule_range(query: Mapping[str, str], now: datetime) -> tuple[datetime, datetime]:
    """The `from`/`to` bounds of a schedule query; default: start of today UTC to 30 days on."""
    start_of_today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = instant(query, "from", "from") if "from" in query else start_of_today
    end = instant(query, "to", "to") if "to" in query else start + timedelta(days=30)
    if end <= start:
        raise ValidationFailed("`to` must be after `from`.", "to")
    if end - start > SCHEDULE_RANGE_MAX:
        raise ValidationFailed("Ask for at most 366 days at a time.", "to")
    return start, end
