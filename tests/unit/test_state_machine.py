"""The transitions table of DESIGN.md, move by move."""

from __future__ import annotations

import itertools

import pytest

from chalicelib.domain.appointment import TRANSITIONS, IllegalTransition, Move, Status
from chalicelib.errors import Conflict
from tests.unit.factories import ADA, BEN, NOW, appointment

DESIGN = {
    (Status.SCHEDULED, Move.PATIENT_ONLINE): Status.WAITING,
    (Status.WAITING, Move.PATIENT_GONE): Status.SCHEDULED,
    (Status.WAITING, Move.TAKE): Status.IN_SESSION,
    (Status.IN_SESSION, Move.EXIT): Status.WAITING,
    (Status.IN_SESSION, Move.LEAVE): Status.COMPLETED,
    (Status.SCHEDULED, Move.CANCEL): Status.CANCELLED,
    (Status.WAITING, Move.CANCEL): Status.CANCELLED,
    (Status.SCHEDULED, Move.COMPLETE): Status.COMPLETED,
    (Status.WAITING, Move.COMPLETE): Status.COMPLETED,
    (Status.IN_SESSION, Move.COMPLETE): Status.COMPLETED,
}


def test_table_is_exactly_the_design() -> None:
    assert dict(TRANSITIONS) == DESIGN


@pytest.mark.parametrize(("status", "move"), list(itertools.product(Status, Move)))
def test_every_move_from_every_state(status: Status, move: Move) -> None:
    start = appointment(status=status, taken_by="ada@clinic.example" if status is Status.IN_SESSION else None)
    if (status, move) in DESIGN:
        moved, audit = start.apply(move, BEN, NOW)
        assert moved.status is DESIGN[(status, move)]
        assert (audit.from_status, audit.to_status, audit.action) == (status, moved.status, move.value)
        assert (audit.actor, audit.actor_email) == (BEN.id, BEN.email) and audit.at == NOW
    else:
        with pytest.raises(IllegalTransition) as raised:
            start.apply(move, BEN, NOW)
        assert isinstance(raised.value, Conflict)
        assert raised.value.current is status


def test_take_records_the_clinician_and_exit_releases() -> None:
    taken, _ = appointment(status=Status.WAITING).apply(Move.TAKE, ADA, NOW)
    assert (taken.taken_by, taken.taken_by_id, taken.taken_by_name) == (ADA.email, ADA.id, ADA.name)
    assert taken.held_by(ADA.id) and not taken.held_by(BEN.id) and not taken.held_by(ADA.email)
    released, _ = taken.apply(Move.EXIT, ADA, NOW)
    assert released.status is Status.WAITING and released.taken_by is None and released.taken_by_id is None


def test_only_a_clinician_takes() -> None:
    with pytest.raises(TypeError):
        appointment(status=Status.WAITING).apply(Move.TAKE, "patient", NOW)


def test_final_states_have_no_way_out() -> None:
    for final in (Status.COMPLETED, Status.CANCELLED):
        assert not [move for (state, move) in TRANSITIONS if state is final]


def test_local_start_is_in_the_appointments_zone() -> None:
    a = appointment(timezone="America/New_York")
    assert a.local_start().utcoffset() is not None
    assert a.local_start().tzname() in ("EST", "EDT")
    assert a.local_start() == a.starts_at
