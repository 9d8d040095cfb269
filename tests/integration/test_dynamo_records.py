"""The stores of what an appointment gathers (chat, tasks, documents, screenshots) on PynamoDB
and moto: each record is written with its audit event in one transaction, conditional on being
new (a screenshot's next step: on the status that was read), so neither lands without the other."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.domain.appointment import Appointment
from chalicelib.domain.chat import ChatMessage
from chalicelib.domain.document import Document
from chalicelib.domain.screenshot import Screenshot, ScreenshotStatus
from chalicelib.domain.task import Task
from chalicelib.store.models import TaskModel
from chalicelib.store.ports import ConcurrentUpdate
from chalicelib.wiring import DynamoStores
from tests.integration.test_dynamo_appointments import fresh, trail
from tests.unit.factories import NOW


@pytest.fixture
def booked(stores: DynamoStores) -> Appointment:
    a = fresh()
    assert isinstance(a, Appointment)
    stores.appointments.add(a, a.audit_event("created", "ada", NOW - timedelta(minutes=1)))
    return a


def actions(stores: DynamoStores, a: Appointment) -> list[str]:
    return [e.action for e in trail(stores.audit, a.id)]


def test_screenshots_come_by_time_whatever_their_ids(stores: DynamoStores, booked: Appointment) -> None:
    a = booked
    # The table sorts an appointment's screenshots by id; the paged list goes by time, then id.
    for n, ident in enumerate(["z", "b", "y", "a"]):
        at = NOW + timedelta(seconds=n // 2)
        shot = Screenshot(id=ident, appointment_id=a.id, requested_by="ada", requested_at=at,
                          status=ScreenshotStatus.STORED, key=f"screenshots/{a.id}/{ident}.jpg",
                          filename=f"{ident}.jpg", width=640, height=480, taken_at=at)  # fmt: skip
        stores.screenshots.add(shot, a.audit_event("screenshot_stored", "ada", at))
    assert [s.id for s in stores.screenshots.for_appointment(a.id)] == ["b", "z", "a", "y"]


def test_a_screenshot_step_is_conditional_on_the_status_read(
    stores: DynamoStores, booked: Appointment
) -> None:
    a = booked
    shot = Screenshot(id="s1", appointment_id=a.id, requested_by="ada", requested_at=NOW)
    stores.screenshots.add(shot, a.audit_event("screenshot_requested", "ada", NOW))
    with pytest.raises(ConcurrentUpdate):
        stores.screenshots.add(shot, a.audit_event("screenshot_requested", "ada", NOW))
    later = NOW + timedelta(seconds=1)
    stores.screenshots.save(
        shot.decide(True, later),
        ScreenshotStatus.REQUESTED,
        a.audit_event("screenshot_allowed", "patient", later),
    )
    with pytest.raises(ConcurrentUpdate):  # a second answer to the same request
        stores.screenshots.save(
            shot.decide(False, later),
            ScreenshotStatus.REQUESTED,
            a.audit_event("screenshot_denied", "patient", later),
        )
    stored = stores.screenshots.get(a.id, "s1")
    assert stored is not None and stored.status is ScreenshotStatus.GRANTED
    assert stores.screenshots.get(a.id, "nope") is None
    assert actions(stores, a) == ["created", "screenshot_requested", "screenshot_allowed"]


def test_chat_lines_are_stored_with_their_audit_and_page_oldest_first(
    stores: DynamoStores, booked: Appointment
) -> None:
    a = booked
    lines = [
        ChatMessage(
            id=f"m{n}",
            appointment_id=a.id,
            sender_role="patient",
            sender_name="Pat",
            text=f"line {n}",
            at=NOW + timedelta(seconds=n),
        )
        for n in range(3)
    ]
    for line in lines:
        stores.chat.add(line, a.audit_event("chat", "patient", line.at))
    with pytest.raises(ConcurrentUpdate):
        stores.chat.add(lines[0], a.audit_event("chat", "patient", lines[0].at))
    first = stores.chat.page(a.id, 2, None)
    assert first.items == lines[:2] and first.after is not None
    last = stores.chat.page(a.id, 2, first.after)
    assert last.items == lines[2:] and last.after is None
    assert actions(stores, a) == ["created", "chat", "chat", "chat"]


def test_a_task_is_stored_once_with_its_audit(stores: DynamoStores, booked: Appointment) -> None:
    a = booked
    task = Task(id="t1", appointment_id=a.id, title="Call back", note="", created_by="ada", created_at=NOW)
    stores.tasks.add(task, a.audit_event("task_created", "ada", NOW))
    with pytest.raises(ConcurrentUpdate):
        stores.tasks.add(task, a.audit_event("task_created", "ada", NOW))
    assert TaskModel.get(a.id, "t1", consistent_read=True).title == "Call back"
    assert actions(stores, a) == ["created", "task_created"]


def test_documents_come_by_time_whatever_their_ids(stores: DynamoStores, booked: Appointment) -> None:
    a = booked
    made = [
        Document(
            id=ident,
            appointment_id=a.id,
            title=f"Doc {ident}",
            filename=f"{ident}.pdf",
            content_type="application/pdf",
            size=10,
            created_by="ada",
            created_at=NOW + timedelta(seconds=n),
        )
        for n, ident in enumerate(["z", "b", "y"])
    ]
    for document in made:
        stores.documents.add(document, a.audit_event("document_sent", "ada", document.created_at))
    with pytest.raises(ConcurrentUpdate):
        stores.documents.add(made[0], a.audit_event("document_sent", "ada", NOW))
    assert [d.id for d in stores.documents.for_appointment(a.id)] == ["z", "b", "y"]
    first = stores.documents.page(a.id, 2, None)
    assert [d.id for d in first.items] == ["z", "b"] and first.after is not None
    assert [d.id for d in stores.documents.page(a.id, 2, first.after).items] == ["y"]
    assert actions(stores, a) == ["created", "document_sent", "document_sent", "document_sent"]
