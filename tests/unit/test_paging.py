"""Paging in the in-memory repository and the cursor codec."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib import paging
from chalicelib.domain.chat import ChatMessage
from chalicelib.errors import ValidationFailed
from chalicelib.store.memory import InMemoryAppointmentRepository


def message(appointment_id: str, n: int) -> ChatMessage:
    at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=n)
    return ChatMessage(id=f"m{n}", appointment_id=appointment_id, sender_role="patient",
                       sender_name="Pat", text=str(n), at=at)  # fmt: skip


def test_memory_chat_pages_walk_every_message_once_in_order() -> None:
    repo = InMemoryAppointmentRepository()
    repo.chat = [message("a", n) for n in range(5)] + [message("b", 9)]
    seen: list[str] = []
    after = None
    while True:
        page = repo.chat_page("a", 2, after)
        seen.extend(m.id for m in page.items)
        if page.after is None:
            break
        after = page.after
    assert seen == ["m0", "m1", "m2", "m3", "m4"]
    assert repo.chat_page("a", 5, None).after is None


def test_cursor_round_trips_and_is_bound_to_its_scope() -> None:
    cursor = paging.encode("a", "2026#x")
    assert paging.decode(cursor, "a") == "2026#x"
    with pytest.raises(ValidationFailed) as bound:
        paging.decode(cursor, "b")
    assert bound.value.field == "cursor"
    for bad in ["", "!!", "e30", cursor + "A", "x" * 3000]:
        with pytest.raises(ValidationFailed):
            paging.decode(bad, "a")


def test_limit_is_checked() -> None:
    assert paging.request({}, "a").limit == paging.MAX_LIMIT
    assert paging.request({"limit": "3"}, "a").limit == 3
    for bad in ["0", "101", "x", "٣"]:
        with pytest.raises(ValidationFailed):
            paging.request({"limit": bad}, "a")


def test_cut_pages_a_sorted_list_from_a_position() -> None:
    items = ["a", "b", "c", "d", "e"]
    first = paging.cut(items, str, 2, None)
    assert list(first.items) == ["a", "b"] and first.after == "b"
    last = paging.cut(items, str, 3, first.after)
    assert list(last.items) == ["c", "d", "e"] and last.after is None
    assert list(paging.cut(items, str, 2, "e").items) == []
