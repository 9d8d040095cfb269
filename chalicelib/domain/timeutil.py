"""One way to read and write instants: ISO-8601, stored and answered in UTC ending in Z."""

from __future__ import annotations

from datetime import UTC, datetime


def iso_utc(value: datetime) -> str:
    """Whole seconds, UTC, `Z`: the form stored in DynamoDB, which sorts as time does."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_utc_precise(value: datetime) -> str:
    """Microseconds, for ordering events that happen within one second."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_instant(text: str) -> datetime:
    """An ISO-8601 instant that names its offset; raises ValueError otherwise."""
    value = datetime.fromisoformat(text)
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("no offset")
    return value.astimezone(UTC)
