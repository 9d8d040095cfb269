"""The appointment's rules beyond the transitions table: taking (and rejoining) a session,
the patient coming online and going offline, hanging up, and assigning a media worker."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.domain.appointment import Appointment, IllegalTransition, Move, Status
from chalicelib.errors import Conflict, Forbidden
from tests.unit.factories import ADA, BEN, NOW, appointment

LATER = NOW + timedelta(minutes=3)


def in_session(**changes: object) -> Appointment:
    values: dict[str, object] = {
        "status": Status.IN_SESSION,
        "taken_by_id": ADA.id,
        "taken_by": ADA.email,
        "taken_by_name": ADA.name,
        "media_worker_id": "w1",
    }
    values.update(changes)
    return appointment(**values)


def test_a_waiting_patient_is_taken_by_the_clinician() -> None:
    taken, audit = appointment(status=Status.WAITING, waiting_since=NOW).take(ADA, LATER)
    assert taken.status is Status.IN_SESSION and taken.held_by(ADA.id)
    assert (taken.taken_by, taken.taken_by_name, taken.waiting_since) == (ADA.email, ADA.name, None)
    assert audit is not None and audit.action == "take" and audit.actor == ADA.id
    assert (audit.from_status, audit.to_status) == (Status.WAITING, Status.IN_SESSION)


def test_the_clinician_in_the_session_rejoins_it_without_a_change() -> None:
    running = in_session()
    assert running.take(ADA, LATER) == (running, None)


def test_a_second_clinician_cannot_take_a_running_session() -> None:
    with pytest.raises(IllegalTransition) as raised:
        in_session().take(BEN, LATER)
    assert (raised.value.current, raised.value.move) == (Status.IN_SESSION, Move.TAKE)


@pytest.mark.parametrize("status", [Status.SCHEDULED, Status.COMPLETED, Status.CANCELLED])
def test_only_a_waiting_patient_can_be_taken(status: Status) -> None:
    with pytest.raises(IllegalTransition):
        appointment(status=status).take(ADA, LATER)


def test_the_patient_coming_online_starts_the_wait() -> None:
    waiting, audit = appointment().come_online(LATER)
    assert waiting.status is Status.WAITING and waiting.waiting_since == LATER
    assert audit is not None and audit.action == "patient_online" and audit.actor == "patient"


@pytest.mark.parametrize("status", [Status.WAITING, Status.IN_SESSION, Status.COMPLETED])
def test_coming_online_again_changes_nothing(status: Status) -> None:
    before = in_session() if status is Status.IN_SESSION else appointment(status=status)
    assert before.come_online(LATER) == (before, None)


def test_the_patient_going_offline_ends_the_wait() -> None:
    scheduled, audit = appointment(status=Status.WAITING, waiting_since=NOW).go_offline(LATER)
    assert scheduled.status is Status.SCHEDULED and scheduled.waiting_since is None
    assert audit is not None and audit.action == "patient_gone"


@pytest.mark.parametrize("status", [Status.SCHEDULED, Status.IN_SESSION, Status.CANCELLED])
def test_going_offline_outside_the_waiting_room_changes_nothing(status: Status) -> None:
    before = in_session() if status is Status.IN_SESSION else appointment(status=status)
    assert before.go_offline(LATER) == (before, None)


def test_exit_without_ending_puts_the_patient_back_in_the_waiting_room() -> None:
    waiting, audit = in_session().hang_up(ADA, leave=False, at=LATER)
    assert waiting.status is Status.WAITING and waiting.waiting_since == LATER
    assert (waiting.taken_by_id, waiting.media_worker_id) == (None, None)
    assert audit.action == "exit"


def test_leaving_the_session_completes_it() -> None:
    completed, audit = in_session().hang_up(ADA, leave=True, at=LATER)
    assert completed.status is Status.COMPLETED and completed.media_worker_id is None
    assert audit.action == "leave"


def test_only_the_clinician_in_the_session_can_hang_up() -> None:
    with pytest.raises(Forbidden):
        in_session().hang_up(BEN, leave=True, at=LATER)


def test_a_worker_is_assigned_to_a_running_session() -> None:
    assigned, audit = in_session(media_worker_id=None).assign_worker("w2", LATER)
    assert assigned.media_worker_id == "w2" and assigned.updated_at == LATER
    assert assigned.status is Status.IN_SESSION
    assert audit is not None and audit.action == "call_assigned" and audit.actor == "system"


def test_a_visit_moves_to_another_worker() -> None:
    moved, audit = in_session().assign_worker("w2", LATER)
    assert moved.media_worker_id == "w2" and audit is not None


def test_the_same_worker_again_changes_nothing() -> None:
    running = in_session()
    assert running.assign_worker("w1", LATER) == (running, None)


@pytest.mark.parametrize("status", [Status.WAITING, Status.COMPLETED])
def test_no_worker_is_assigned_outside_a_session(status: Status) -> None:
    with pytest.raises(Conflict):
        appointment(status=status).assign_worker("w1", LATER)
