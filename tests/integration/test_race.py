"""Concurrent actions on one appointment against DynamoDB (moto's server): one winner.

The threads call the use case directly: each plays one Lambda invocation (Chalice's test
client keeps the current request on one shared app object, so it cannot run requests
concurrently). The HTTP status is taken from the same mapping the REST edge uses (`chalicelib/api/edge.py`).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

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


def test_twenty_threads_completing_and_cancelling_one_appointment(aws: AwsStack) -> None:
    from chalicelib.wiring import services

    service = services().appointments
    created = service.invite(
        ADA,
        bodies.invite(
            {
                "starts_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
                "patient_name": "Pat Race",
                "patient_email": "pat.race@example.com",
                "group": "cardiology",
            }
        ),
    )
    barrier = threading.Barrier(20)
    statuses: list[int] = []
    lock = threading.Lock()

    def act(i: int) -> None:
        barrier.wait()
        actor = ADA if i % 3 else BEN
        try:
            (service.complete if i % 2 else service.cancel)(actor, created.id)
            status = 200
        except EclinicError as exc:
            status = error_response(exc).status_code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=act, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [200] + [409] * 19
    final = service.get(ADA, created.id)
    moves = [
        e for e in service.audit_page(ADA, created.id, None)[0].items if e.action in ("complete", "cancel")
    ]
    assert len(moves) == 1
    (move,) = moves
    assert move.from_status.value == "scheduled" and move.to_status is final.status
    assert final.version == 2  # 0 created, 1 invitation sent, 2 the one winning move
