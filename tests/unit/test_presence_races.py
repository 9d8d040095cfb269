"""Presence when a page reloads: the old page's disconnect and the new page's connect run in
two invocations at once, and API Gateway answers 410 for a connection whose $connect still runs."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from chalicelib.domain.appointment import Status
from chalicelib.errors import Gone
from chalicelib.realtime.connections import Connection, InMemoryConnectionRegistry
from tests.unit.factories import ADA, FakeWorld, invite_and_connect
from tests.unit.test_live_service import status_of


@pytest.fixture
def world() -> FakeWorld:
    return FakeWorld()


class RegistryWithAHookOnConnecting(InMemoryConnectionRegistry):
    """Runs `hook` in another thread (another Lambda) right after a $connect registered."""

    hook: Callable[[], None] = staticmethod(lambda: None)

    def add(self, connection: Connection) -> None:
        super().add(connection)
        if connection.connecting:
            other_invocation = threading.Thread(target=self.hook)
            other_invocation.start()
            other_invocation.join()


def test_a_reload_whose_old_disconnect_runs_during_the_new_connect_leaves_presence_right() -> None:
    """API Gateway answers 410 for a connection while its $connect runs: the old page's
    disconnect, pushing meanwhile, must not prune the new page's connection, or closing the
    new page later would leave the patient "waiting" (its disconnect finding nothing)."""
    registry = RegistryWithAHookOnConnecting()
    world = FakeWorld(registry=registry)
    live, appointment, token = invite_and_connect(world)
    live.connect("pat-1", {"token": token})

    def old_page_leaves() -> None:
        world.management.gone.add("pat-2")  # not open yet
        live.disconnect("pat-1")

    registry.hook = old_page_leaves
    live.connect("pat-2", {"token": token})
    world.management.gone.discard("pat-2")
    registered = world.registry.get("pat-2")
    assert registered is not None and not registered.connecting
    assert status_of(world, appointment) is Status.WAITING

    live.disconnect("pat-2")
    assert status_of(world, appointment) is Status.SCHEDULED


def test_a_refused_connect_leaves_nothing_registered(world: FakeWorld) -> None:
    live, appointment, token = invite_and_connect(world)
    world.service().cancel(ADA, appointment.id)
    with pytest.raises(Gone):
        live.connect("pat-1", {"token": token})
    assert world.registry.get("pat-1") is None
