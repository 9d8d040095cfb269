"""The appointments and the audit log on PynamoDB and moto: conditional writes, audit in the
same transaction, schedule by Query on the (group, starts_at) index, links by hash."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.domain.appointment import Appointment, Move, Status
from chalicelib.store.appointments import DynamoAppointments
from chalicelib.store.audit import DynamoAuditLog
from chalicelib.store.models import AppointmentModel
from chalicelib.store.ports import ConcurrentUpdate
from chalicelib.wiring import DynamoStores
from tests.unit.factories import NOW, appointment


@pytest.fixture
def repo(stores: DynamoStores) -> DynamoAppointments:
    return stores.appointments


@pytest.fixture
def audit(stores: DynamoStores) -> DynamoAuditLog:
    return stores.audit


def trail(audit: DynamoAuditLog, appointment_id: str) -> list[Any]:
    """The appointment's whole audit trail, oldest first (a test has fewer than a page)."""
    page = audit.page(appointment_id, 100, None)
    assert page.after is None
    return list(page.items)


def fresh(**changes: Any) -> Appointment:
    group = changes.pop("group", f"group-{uuid.uuid4().hex[:8]}")
    return appointment(id=str(uuid.uuid4()), group=group, link_token_hash=uuid.uuid4().hex, **changes)


def test_round_trip_and_link_lookup(repo: DynamoAppointments) -> None:
    a = fresh()
    repo.add(a, a.audit_event("created", "ada@clinic.example", NOW))
    assert repo.get(a.id) == a
    assert repo.by_link_hash(a.link_token_hash) == a
    assert repo.by_link_hash("0" * 64) is None
    assert repo.get(str(uuid.uuid4())) is None


def test_add_refuses_an_existing_id(repo: DynamoAppointments, audit: DynamoAuditLog) -> None:
    a = fresh()
    repo.add(a, a.audit_event("created", "ada", NOW))
    with pytest.raises(ConcurrentUpdate):
        repo.add(a, a.audit_event("created", "ada", NOW))
    assert [e.action for e in trail(audit, a.id)] == ["created"]


def test_stale_version_is_refused_and_its_audit_not_written(
    repo: DynamoAppointments, audit: DynamoAuditLog
) -> None:
    a = fresh()
    repo.add(a, a.audit_event("created", "ada", NOW))
    cancelled, cancel_audit = a.apply(Move.CANCEL, "ada", NOW + timedelta(seconds=1))
    stored = repo.save(cancelled, a.version, cancel_audit)
    assert stored.version == a.version + 1
    completed, complete_audit = a.apply(
        Move.COMPLETE, "ben", NOW + timedelta(seconds=2)
    )  # from the stale read
    with pytest.raises(ConcurrentUpdate):
        repo.save(completed, a.version, complete_audit)
    now_stored = repo.get(a.id)
    assert now_stored is not None and now_stored.status is Status.CANCELLED
    assert [(e.action, e.to_status) for e in trail(audit, a.id)] == [
        ("created", Status.SCHEDULED),
        ("cancel", Status.CANCELLED),
    ]


def test_audit_is_oldest_first_even_within_a_second(repo: DynamoAppointments, audit: DynamoAuditLog) -> None:
    a = fresh()
    repo.add(a, a.audit_event("created", "ada", NOW))
    for i in range(5):
        audit.append(a.audit_event(f"step{i}", "ada", NOW + timedelta(microseconds=i + 1)))
    assert [e.action for e in trail(audit, a.id)] == ["created", *(f"step{i}" for i in range(5))]


def test_schedule_reads_only_what_it_returns(repo: DynamoAppointments) -> None:
    group, other = f"g-{uuid.uuid4().hex[:8]}", f"g-{uuid.uuid4().hex[:8]}"
    inside = [fresh(group=group, starts_at=NOW + timedelta(hours=h)) for h in (5, 1, 3)]
    outside = [fresh(group=group, starts_at=NOW + timedelta(days=40)), fresh(group=other)]
    for a in inside + outside:
        repo.add(a, a.audit_event("created", "ada", NOW))
    result = repo.schedule([group], NOW, NOW + timedelta(days=30))
    assert [a.id for a in result.appointments] == [a.id for a in sorted(inside, key=lambda a: a.starts_at)]
    assert result.items_read == len(inside)


def test_schedule_is_a_query_on_the_group_index() -> None:
    schema = AppointmentModel._get_schema()
    (index,) = [i for i in schema["global_secondary_indexes"] if i["index_name"] == "group-starts_at-index"]
    assert [k["AttributeName"] for k in index["key_schema"]] == ["group", "starts_at"]


def test_save_without_audit_is_still_conditional(repo: DynamoAppointments) -> None:
    a = fresh()
    repo.add(a, a.audit_event("created", "ada", NOW))
    repo.save(replace(a, patient_name="Changed"), a.version, None)
    with pytest.raises(ConcurrentUpdate):
        repo.save(replace(a, patient_name="Lost update"), a.version, None)
    stored = repo.get(a.id)
    assert stored is not None and stored.patient_name == "Changed"


def test_a_device_check_round_trips_and_its_write_is_conditional(repo: DynamoAppointments) -> None:
    a = fresh()
    repo.add(a, a.audit_event("created", "ada", NOW))
    checked = a.with_device_check("in_use", "silent", NOW + timedelta(seconds=3, microseconds=250))
    stored = repo.save(checked, a.version, None)
    assert repo.get(a.id) == stored and stored.device_check is not None
    assert (stored.device_check.camera, stored.device_check.microphone) == ("in_use", "silent")
    with pytest.raises(ConcurrentUpdate):
        repo.save(a.with_device_check("ok", "ok", NOW), a.version, None)
    assert repo.get(a.id) == stored


def test_schedule_pages_across_groups_give_every_appointment_once_in_order(
    repo: DynamoAppointments,
) -> None:
    from chalicelib.store.ports import schedule_position

    groups = [f"g-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    # Ties on the start within and across groups, so a position must name the id too.
    made = [fresh(group=groups[n % 2], starts_at=NOW + timedelta(hours=n // 3)) for n in range(9)]
    for a in made:
        repo.add(a, a.audit_event("created", "ada", NOW))
    whole = repo.schedule(groups, NOW, NOW + timedelta(days=1))
    assert [a.id for a in whole.appointments] == [a.id for a in sorted(made, key=schedule_position)]
    assert whole.after is None

    seen: list[str] = []
    after: str | None = None
    reads: list[int] = []
    while True:
        page = repo.schedule(groups, NOW, NOW + timedelta(days=1), limit=2, after=after)
        assert len(page.appointments) <= 2
        seen.extend(a.id for a in page.appointments)
        reads.append(page.items_read)
        if page.after is None:
            break
        after = page.after
    assert seen == [a.id for a in whole.appointments]
    # Each page reads at most one more than it holds per group, plus the ties at its first start.
    assert max(reads) <= 2 * (2 + 1) + 3


class _TiesInReverse:
    """A schedule Query's results with the appointments sharing a start in reverse id order:
    DynamoDB's index sorts by start only and promises no order among ties (moto happens to
    give the table's key order), so the adapter must not rely on it."""

    def __init__(self, results: Any) -> None:
        self._results = results
        self.page_iter = results.page_iter

    def __iter__(self) -> Iterator[Any]:
        run: list[Any] = []
        for item in self._results:
            if run and item.starts_at != run[0].starts_at:
                yield from sorted(run, key=lambda i: i.id, reverse=True)
                run = []
            run.append(item)
        yield from sorted(run, key=lambda i: i.id, reverse=True)


def test_schedule_pages_are_whole_when_ties_on_a_start_straddle_a_page(
    repo: DynamoAppointments, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.store.ports import schedule_position

    index = AppointmentModel.schedule_index
    original = index.query
    monkeypatch.setattr(index, "query", lambda *args, **kwargs: _TiesInReverse(original(*args, **kwargs)))
    groups = [f"g-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    # Five at one start in the first group, three in the second, then a few later on.
    starts = [(0, 0)] * 5 + [(1, 0)] * 3 + [(0, 1), (1, 1), (1, 1), (0, 2)]
    made = [fresh(group=groups[g], starts_at=NOW + timedelta(hours=h)) for g, h in starts]
    for a in made:
        repo.add(a, a.audit_event("created", "ada", NOW))
    expected = [a.id for a in sorted(made, key=schedule_position)]
    whole = repo.schedule(groups, NOW, NOW + timedelta(days=1))
    assert [a.id for a in whole.appointments] == expected
    for limit in (1, 2, 3, 4, 7, 12):
        seen: list[str] = []
        after = None
        while True:
            page = repo.schedule(groups, NOW, NOW + timedelta(days=1), limit=limit, after=after)
            assert len(page.appointments) <= limit
            seen.extend(a.id for a in page.appointments)
            if page.after is None:
                break
            after = page.after
        assert seen == expected, limit
    assert repo.schedule(groups, NOW, NOW + timedelta(days=1), limit=12).after is None


def test_schedule_without_ties_reads_one_past_the_page_per_group(repo: DynamoAppointments) -> None:
    group = f"g-{uuid.uuid4().hex[:8]}"
    made = [fresh(group=group, starts_at=NOW + timedelta(minutes=15 * n)) for n in range(10)]
    for a in made:
        repo.add(a, a.audit_event("created", "ada", NOW))
    page = repo.schedule([group], NOW, NOW + timedelta(days=1), limit=3)
    assert [a.id for a in page.appointments] == [a.id for a in made[:3]]
    assert page.items_read == 4 and page.after is not None
    last = repo.schedule([group], NOW, NOW + timedelta(days=1), limit=3, after=page.after)
    assert [a.id for a in last.appointments] == [a.id for a in made[3:6]]
    assert last.items_read == 5  # it starts at the previous page's last start, so reads that one too
