"""Paging of the REST lists: a bounded page size and an opaque cursor.

A cursor is base64url JSON `{"s": scope, "k": key}`: `scope` names the list it came from
(the appointment), `key` is storage's position after the last item answered (DynamoDB's sort
key of the last item). A cursor is checked strictly on the way in and only ever read for the
scope it was made for, so a caller cannot use one to read another appointment's items.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from chalicelib.errors import ValidationFailed

T = TypeVar("T")

MAX_LIMIT = 100
_MAX_CURSOR = 2048
BAD_CURSOR = "The cursor is not valid; pass the `next` value of the previous page unchanged."


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    after: str | None  # storage's position after the last item, when more items exist


@dataclass(frozen=True)
class PageRequest:
    limit: int
    after: str | None


def request(query: Mapping[str, str] | None, scope: str) -> PageRequest:
    query = query or {}
    raw_limit = query.get("limit")
    limit = MAX_LIMIT
    if raw_limit is not None:
        if not raw_limit.isascii() or not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIMIT:
            raise ValidationFailed(f"limit must be a whole number from 1 to {MAX_LIMIT}.", "limit")
        limit = int(raw_limit)
    cursor = query.get("cursor")
    return PageRequest(limit=limit, after=None if cursor is None else decode(cursor, scope))


def encode(scope: str, after: str) -> str:
    raw = json.dumps({"s": scope, "k": after}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str, scope: str) -> str:
    if not cursor or len(cursor) > _MAX_CURSOR or not cursor.isascii():
        raise ValidationFailed(BAD_CURSOR, "cursor")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        if base64.urlsafe_b64encode(raw).decode().rstrip("=") != cursor:
            raise ValueError("not canonical")
        value = json.loads(raw.decode())
    except (ValueError, UnicodeDecodeError, binascii.Error) as exc:
        raise ValidationFailed(BAD_CURSOR, "cursor") from exc
    if (
        not isinstance(value, dict)
        or set(value) != {"s", "k"}
        or not isinstance(value["k"], str)
        or not value["k"]
        or len(value["k"]) > 1024
        or value["s"] != scope
    ):
        raise ValidationFailed(BAD_CURSOR, "cursor")
    return value["k"]


def cut(items: Sequence[T], position: Callable[[T], str], limit: int, after: str | None) -> Page[T]:
    """One page of a list sorted by `position`: at most `limit` items after the position `after`,
    for lists that are read whole (short ones, or those whose table sorts by something else)."""
    remaining = [item for item in items if after is None or position(item) > after]
    more = len(remaining) > limit
    return Page(items=remaining[:limit], after=position(remaining[limit - 1]) if more else None)


def next_cursor(page: Page[T], scope: str) -> dict[str, str]:
    """What the answer carries next to its list: `{"next": cursor}` when more items exist."""
    return {} if page.after is None else {"next": encode(scope, page.after)}


def of_appointment(
    read: Callable[[str, int, str | None], Page[T]], appointment_id: str, query: Mapping[str, str] | None
) -> tuple[Page[T], dict[str, str]]:
    """One page of an appointment's items as `read` (a store's `page`) answers it, for the
    request's `limit` and `cursor`, and the answer's `next`; the cursor is bound to the appointment."""
    wanted = request(query, appointment_id)
    page = read(appointment_id, wanted.limit, wanted.after)
    return page, next_cursor(page, appointment_id)
