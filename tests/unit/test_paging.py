"""Paging in the in-memory stores and the cursor codec."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib import paging
from chalicelib.api import bodies
from chalicelib.domain.appointment import Appointment
from chalicelib.domain.chat import ChatMessage
from chalicelib.domain.clinician import Clinician
from chalicelib.domain.screenshot import Screenshot, ScreenshotStatus
from chalicelib.errors import Forbidden, NotFound, ValidationFailed
from chalicelib.store.memory import InMemoryAppointments, InMemoryAuditLog, InMemoryChat
from chalicelib.store.ports import schedule_position
from tests.unit.factories import ADA, CYD, NOW, FakeWorld, appointment, invite_body


def message(appointment_id: str, n: int) -> ChatMessage:
    at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=n)
    return ChatMessage(id=f"m{n}", appointment_id=appointment_id, sender_role="patient",
                       sender_name="Pat", text=str(n), at=at)  # fmt: skip


def test_memory_chat_pages_walk_every_message_once_in_order() -> None:
    repo = InMemoryChat(InMemoryAuditLog())
    repo.messages = [message("a", n) for n in range(5)] + [message("b", 9)]
    seen: list[str] = []
    after = None
    while True:
        page = repo.page("a", 2, after)
        seen.extend(m.id for m in page.items)
        if page.after is None:
            break
        after = page.after
    assert seen == ["m0", "m1", "m2", "m3", "m4"]
    assert repo.page("a", 5, None).after is None


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


# -- the schedule and screenshots ---------------------------------------------------------

DUO = Clinician(
    "0d1a5f3e-d000-4c1e-9a00-00000000d000",
    "duo@clinic.example",
    "Duo Two",
    frozenset({"cardiology", "dermatology"}),
)


def booked(group: str, start: datetime, ident: str) -> Appointment:
    return appointment(id=ident, group=group, starts_at=start, link_token_hash=f"hash-{ident}")


def walk_schedule(repo: InMemoryAppointments, groups: list[str], limit: int) -> list[str]:
    seen: list[str] = []
    after = None
    while True:
        page = repo.schedule(groups, NOW, NOW + timedelta(days=1), limit, after)
        assert len(page.appointments) <= limit
        seen.extend(a.id for a in page.appointments)
        if page.after is None:
            return seen
        after = page.after


def test_memory_schedule_pages_across_groups_give_every_appointment_once_in_order() -> None:
    repo = InMemoryAppointments(InMemoryAuditLog())
    # Ties on the start inside a group and across groups, added out of id order.
    made = [booked(["cardiology", "dermatology"][n % 2], NOW + timedelta(hours=n // 4), f"id-{9 - n}")
            for n in range(10)]  # fmt: skip
    made.append(booked("neurology", NOW, "id-other"))  # not asked for
    for a in made:
        repo.add(a, a.audit_event("created", "ada", NOW))
    whole = repo.schedule(["cardiology", "dermatology"], NOW, NOW + timedelta(days=1))
    expected = [a.id for a in sorted(made[:10], key=schedule_position)]
    assert [a.id for a in whole.appointments] == expected and whole.after is None
    for limit in (1, 2, 3, 4, 10):
        assert walk_schedule(repo, ["cardiology", "dermatology"], limit) == expected
    exact = repo.schedule(["cardiology", "dermatology"], NOW, NOW + timedelta(days=1), 10, None)
    assert exact.after is None and len(exact.appointments) == 10  # a full last page has no `next`


def schedule_walk(world: FakeWorld, actor: Clinician, query: dict[str, str]) -> list[str]:
    service = world.service()
    seen: list[str] = []
    cursor: dict[str, str] = {}
    while True:
        result, more = service.schedule(actor, {**query, **cursor})
        seen.extend(a.id for a in result.appointments)
        if not more:
            return seen
        cursor = {"cursor": more["next"]}


def test_the_schedule_service_pages_and_binds_its_cursor_to_the_query() -> None:
    world = FakeWorld()
    service = world.service()
    for n in range(5):
        service.invite(ADA, bodies.invite(invite_body(starts_at=f"2026-11-27T{9 + n // 2:02d}:00:00Z")))
        service.invite(
            CYD,
            bodies.invite(invite_body(group="dermatology", starts_at=f"2026-11-27T{9 + n // 3:02d}:00:00Z")),
        )
    window = {"from": "2026-11-27T00:00:00Z", "to": "2026-11-28T00:00:00Z"}
    whole, more = service.schedule(DUO, window)
    assert more == {} and len(whole.appointments) == 10
    assert schedule_walk(world, DUO, {**window, "limit": "3"}) == [a.id for a in whole.appointments]

    _, first = service.schedule(DUO, {**window, "limit": "3"})
    elsewhere = [
        {**window, "group": "cardiology"},  # the caller's groups are part of the query
        {**window, "to": "2026-11-28T00:00:01Z"},
        {**window, "from": "2026-11-27T00:00:00.000001Z"},
        {"from": window["from"]},  # the default `to` is another window
    ]
    for query in elsewhere:
        with pytest.raises(ValidationFailed) as refused:
            service.schedule(DUO, {**query, "cursor": first["next"]})
        assert refused.value.field == "cursor", query
    # The same query with another limit may go on from the cursor.
    rest, _ = service.schedule(DUO, {**window, "limit": "100", "cursor": first["next"]})
    assert [a.id for a in rest.appointments] == [a.id for a in whole.appointments][3:]
    # A cursor of the right scope whose position is not a schedule position is refused.
    scope = json.loads(base64.urlsafe_b64decode(first["next"] + "=" * (-len(first["next"]) % 4)))["s"]
    for position in ["x", "2026-11-27T09:00:00Z", "2026-11-27T09:00:00Z#a b", "2026-11-27#x"]:
        with pytest.raises(ValidationFailed) as refused:
            service.schedule(DUO, {**window, "cursor": paging.encode(scope, position)})
        assert refused.value.field == "cursor", position
    for limit in ["0", "101", "x"]:
        with pytest.raises(ValidationFailed) as refused:
            service.schedule(DUO, {**window, "limit": limit})
        assert refused.value.field == "limit"
    # A caller who is not in the group asked for is still forbidden, cursor or not.
    with pytest.raises(Forbidden):
        service.schedule(ADA, {**window, "group": "dermatology", "cursor": first["next"]})


def test_screenshots_are_paged_by_time_and_the_cursor_is_bound_to_the_appointment() -> None:
    world = FakeWorld()
    service = world.service()
    first = service.invite(ADA, bodies.invite(invite_body()))
    other = service.invite(ADA, bodies.invite(invite_body()))
    for n in range(5):
        at = NOW + timedelta(seconds=5 - n if n < 4 else 10)  # added out of time order
        status = ScreenshotStatus.DENIED if n == 1 else ScreenshotStatus.STORED
        shot = Screenshot(id=f"shot-{n}", appointment_id=first.id, requested_by="ada", requested_at=at,
                          status=status, key=f"screenshots/{first.id}/shot-{n}.jpg", filename=f"shot-{n}.jpg",
                          width=640, height=480, taken_at=at)  # fmt: skip
        world.screenshot_store.add(shot, first.audit_event("screenshot_stored", "ada", at))
    media = world.screenshots()
    whole, more = media.screenshots(ADA, first.id)
    assert more == {} and [s["id"] for s in whole] == ["shot-3", "shot-2", "shot-0", "shot-4"]
    seen: list[str] = []
    query: dict[str, str] = {"limit": "1"}
    while True:
        shots, more = media.screenshots(ADA, first.id, query)
        assert len(shots) <= 1
        seen.extend(s["id"] for s in shots)
        if not more:
            break
        query = {"limit": "1", "cursor": more["next"]}
    assert seen == ["shot-3", "shot-2", "shot-0", "shot-4"]
    _, more = media.screenshots(ADA, first.id, {"limit": "2"})
    with pytest.raises(ValidationFailed) as refused:
        media.screenshots(ADA, other.id, {"cursor": more["next"]})
    assert refused.value.field == "cursor"
    with pytest.raises(ValidationFailed) as refused:
        media.screenshots(ADA, first.id, {"limit": "101"})
    assert refused.value.field == "limit"
    with pytest.raises(NotFound):
        media.screenshots(CYD, first.id, {"cursor": more["next"]})
