"""Each storage port, its DynamoDB adapter and its in-memory fake offer the same methods with
the same parameters (the unit tests are not type-checked, so a fake could drift unnoticed), and
an adapter offers nothing beyond its port."""

from __future__ import annotations

import inspect

import pytest

from chalicelib.store import memory, ports
from chalicelib.store.appointments import DynamoAppointments
from chalicelib.store.audit import DynamoAuditLog
from chalicelib.store.chat import DynamoChat
from chalicelib.store.documents import DynamoDocuments
from chalicelib.store.screenshots import DynamoScreenshots
from chalicelib.store.tasks import DynamoTasks

STORES = [
    (ports.AppointmentStore, DynamoAppointments, memory.InMemoryAppointments),
    (ports.AuditLog, DynamoAuditLog, memory.InMemoryAuditLog),
    (ports.ChatStore, DynamoChat, memory.InMemoryChat),
    (ports.TaskStore, DynamoTasks, memory.InMemoryTasks),
    (ports.DocumentStore, DynamoDocuments, memory.InMemoryDocuments),
    (ports.ScreenshotStore, DynamoScreenshots, memory.InMemoryScreenshots),
]


def methods(cls: type) -> dict[str, list[str]]:
    return {
        name: list(inspect.signature(member).parameters)
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_")
    }


@pytest.mark.parametrize(("port", "adapter", "fake"), STORES, ids=lambda c: c.__name__)
def test_the_adapter_and_the_fake_offer_the_ports_methods(port: type, adapter: type, fake: type) -> None:
    wanted = methods(port)
    assert methods(adapter) == wanted
    offered = methods(fake)
    assert {name: offered.get(name) for name in wanted} == wanted
