"""Two clinicians rescheduling one appointment at once, on DynamoDB (moto's server): one wins,
the other gets 409 and the winner's time stands.

Both requests read the appointment before either writes (a barrier after each one's first
read), so the race is the same at every run: the loser's conditional write fails on the
version, it reads again, sees that someone else moved the appointment, and answers 409.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.api import bodies
from chalicelib.api.edge import error_response
from chalicelib.domain.clinician import Clinician
from chalicelib.errors import EclinicError
from tests.conftest import AwsStack

ADA = Clinician(
    "0d1a5f3e-ada0-4c1e-9a00-00000000a0a0", "ada@clinic.example", "Ada Lovelace", frozenset({"cardiology"})
)
BEN = Clinician(
    "0d1a5f3e-be40-4c1e-9a00-00000000be40", "ben@clinic.example", "Ben Okafor", frozenset({"cardiology"})
)


class FirstReadsTogether:
    """The appointment store, with every thread's first read held until all of them have read."""

    def __init__(self, inner: Any, parties: int) -> None:
        self._inner = inner
        self._barrier = threading.Barrier(parties)
        self._local = threading.local()

    def get(self, appointment_id: str) -> Any:
        found = self._inner.get(appointment_id)
        if not getattr(self._local, "read", False):
            self._local.read = True
            self._barrier.wait(timeout=30)
        return found

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def test_two_reschedules_at_once_have_one_winner(aws: AwsStack, monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.wiring import services

    service = services().appointments
    created = service.invite(
        ADA,
        bodies.invite(
            {
                "starts_at": (datetime.now(UTC) + timedelta(days=2)).isoformat(),
                "patient_name": "Pat Race",
                "patient_email": "pat.reschedule.race@example.com",
                "group": "cardiology",
            }
        ),
    )
    times = {
        ADA.id: (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0),
        BEN.id: (datetime.now(UTC) + timedelta(days=4)).replace(microsecond=0),
    }
    monkeypatch.setattr(service, "_appointment_store", FirstReadsTogether(service._appointment_store, 2))
    statuses: dict[str, int] = {}

    def reschedule(actor: Clinician) -> None:
        try:
            service.reschedule(
                actor, created.id, bodies.reschedule({"starts_at": times[actor.id].isoformat()})
            )
            statuses[actor.id] = 200
        except EclinicError as exc:
            statuses[actor.id] = error_response(exc).status_code

    threads = [threading.Thread(target=reschedule, args=(actor,)) for actor in (ADA, BEN)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    monkeypatch.undo()

    assert sorted(statuses.values()) == [200, 409]
    (winner,) = [actor for actor, status in statuses.items() if status == 200]
    final = service.get(ADA, created.id)
    assert final.starts_at == times[winner] and final.calendar_sequence == 1
    moves = [e for e in service.audit_page(ADA, created.id, None)[0].items if e.action == "rescheduled"]
    assert [e.actor for e in moves] == [winner]
