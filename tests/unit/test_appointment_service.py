"""Use cases against in-memory fakes: what is stored, mailed, published and audited."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from chalicelib.api import bodies
from chalicelib.auth import patient_links
from chalicelib.domain.appointment import InviteStatus, Status
from chalicelib.domain.clinician import Clinician
from chalicelib.errors import Conflict, Forbidden, Gone, NotFound, ValidationFailed
from tests.mail_parts import body_text
from tests.unit.factories import ADA, BEN, CYD, FakeWorld, invite_body


@pytest.fixture
def world() -> FakeWorld:
    return FakeWorld()


def test_invite_stores_mails_and_audits(world: FakeWorld) -> None:
    created = world.service().invite(ADA, bodies.invite(invite_body()))
    assert created.status is Status.SCHEDULED
    assert created.invite.status is InviteStatus.SENT and created.invite.count == 1
    assert created.invited_by == ADA.email
    assert world.appointment_store.get(created.id) == created
    assert [e.action for e in world.audit_log.trail(created.id)] == ["created", "invitation_sent"]
    (mail,) = world.mailer.sent
    assert mail["To"].addresses[0].addr_spec == "pat@example.com"
    token = world.token_of(created)
    assert f"https://eclinic.test/visit/{token}" in body_text(mail, "plain")
    # only the hash of the link is stored
    assert created.link_token_hash == patient_links.hash_token(token)
    assert token not in repr(world.appointment_store.appointments)


def test_invalid_input_stores_and_mails_nothing(world: FakeWorld) -> None:
    with pytest.raises(ValidationFailed):
        world.service().invite(ADA, bodies.invite(invite_body(patient_email="nope")))
    assert not world.appointment_store.appointments and not world.mailer.sent and not world.audit_log.events


def test_inviting_for_another_group_is_forbidden(world: FakeWorld) -> None:
    with pytest.raises(Forbidden) as raised:
        world.service().invite(CYD, bodies.invite(invite_body(group="cardiology")))
    assert raised.value.field == "group"
    assert not world.appointment_store.appointments and not world.mailer.sent


def test_refused_mail_leaves_appointment_with_failed_invite_and_reinvite_retries(world: FakeWorld) -> None:
    world.mailer.refuse = True
    created = world.service().invite(ADA, bodies.invite(invite_body()))
    assert created.invite.status is InviteStatus.FAILED and created.invite.count == 0
    world.mailer.refuse = False
    world.clock.advance(timedelta(minutes=1))
    again = world.service().reinvite(BEN, created.id)
    assert again.invite.status is InviteStatus.SENT and again.invite.count == 1
    assert again.invite.last_sent_at == world.clock.now
    actions = [e.action for e in world.audit_log.trail(created.id)]
    assert actions == ["created", "invitation_failed", "invitation_sent"]


def test_reinvite_sends_the_same_link(world: FakeWorld) -> None:
    service = world.service()
    created = service.invite(ADA, bodies.invite(invite_body()))
    service.reinvite(ADA, created.id)
    first, second = (body_text(m, "plain") for m in world.mailer.sent)
    link = f"/visit/{world.token_of(created)}"
    assert link in first and link in second
    assert service.get(ADA, created.id).invite.count == 2


def test_after_a_link_secret_rotation_reinvite_sends_a_link_that_opens_the_visit(world: FakeWorld) -> None:
    created = world.service().invite(ADA, bodies.invite(invite_body()))
    old_token = world.token_of(created)
    rotated = world.service(link_secret=b"r" * 32)
    rotated.reinvite(ADA, created.id)
    new_token = patient_links.token_for(b"r" * 32, created.id, created.link_nonce)
    assert new_token != old_token
    assert f"/visit/{new_token}" in body_text(world.mailer.sent[-1], "plain")
    assert rotated.visit(new_token).id == created.id
    with pytest.raises(NotFound):  # the link last sent is the one that opens it
        rotated.visit(old_token)


def test_cancel_mails_revokes_link_and_refuses_second_cancel(world: FakeWorld) -> None:
    service = world.service()
    created = service.invite(ADA, bodies.invite(invite_body()))
    token = world.token_of(created)
    assert service.visit(token).id == created.id
    cancelled = service.cancel(BEN, created.id)
    assert cancelled.status is Status.CANCELLED
    assert world.mailer.sent[-1]["Subject"].startswith("Cancelled")
    with pytest.raises(Gone):
        service.visit(token)
    with pytest.raises(Conflict):
        service.cancel(ADA, created.id)
    with pytest.raises(Conflict):
        service.reinvite(ADA, created.id)
    trail = world.audit_log.trail(created.id)
    assert [(e.action, e.from_status, e.to_status) for e in trail][-2:] == [
        ("cancel", Status.SCHEDULED, Status.CANCELLED),
        ("cancellation_sent", Status.CANCELLED, Status.CANCELLED),
    ]


def test_complete_then_nothing_else(world: FakeWorld) -> None:
    service = world.service()
    created = service.invite(ADA, bodies.invite(invite_body()))
    assert service.complete(ADA, created.id).status is Status.COMPLETED
    for action in (service.complete, service.cancel):
        with pytest.raises(Conflict):
            action(ADA, created.id)


def test_another_groups_appointment_is_not_found_everywhere(world: FakeWorld) -> None:
    service = world.service()
    created = service.invite(ADA, bodies.invite(invite_body()))

    def audit(actor: Clinician, appointment_id: str) -> object:
        return service.audit_page(actor, appointment_id, None)

    for action in (service.get, service.cancel, service.reinvite, service.complete, audit):
        with pytest.raises(NotFound):
            action(CYD, created.id)
    with pytest.raises(NotFound):
        service.create_task(CYD, created.id, bodies.create_task({"title": "x"}))
    assert service.get(ADA, created.id).status is Status.SCHEDULED
    assert len(world.mailer.sent) == 1 and not world.events.published


@pytest.mark.parametrize("appointment_id", ["nope", "", "../x", "0b7c4c1e-8a7e-4f4e-9d55-2f4f3c1b6a10"])
def test_unknown_ids_are_not_found(world: FakeWorld, appointment_id: str) -> None:
    with pytest.raises(NotFound):
        world.service().get(ADA, appointment_id)


def test_schedule_is_the_callers_groups_in_order(world: FakeWorld) -> None:
    service = world.service()
    later = service.invite(ADA, bodies.invite(invite_body(starts_at="2026-11-27T10:00:00Z")))
    sooner = service.invite(ADA, bodies.invite(invite_body(starts_at="2026-11-26T12:00:00Z")))
    service.invite(CYD, bodies.invite(invite_body(group="dermatology")))
    listed = service.schedule(BEN, {})[0].appointments
    assert [a.id for a in listed] == [sooner.id, later.id]
    with pytest.raises(Forbidden):
        service.schedule(BEN, {"group": "dermatology"})
    assert len(service.schedule(CYD, {"group": "dermatology"})[0].appointments) == 1


def test_task_is_stored_published_and_audited(world: FakeWorld) -> None:
    service = world.service()
    created = service.invite(ADA, bodies.invite(invite_body()))
    task = service.create_task(
        BEN, created.id, bodies.create_task({"title": "Referral letter", "note": "to Dr X"})
    )
    assert world.task_store.tasks == [task]
    ((detail_type, detail),) = world.events.published
    assert detail_type == "TaskCreated"
    assert detail["task"]["id"] == task.id and detail["task"]["created_by"] == BEN.email
    assert detail["group"] == "cardiology"
    assert world.audit_log.trail(created.id)[-1].action == "task_created"


def test_visit_link_expires_after_the_window(world: FakeWorld) -> None:
    service = world.service()
    created = service.invite(
        ADA, bodies.invite(invite_body(starts_at="2026-11-26T10:00:00Z", duration_minutes=30))
    )
    token = world.token_of(created)
    world.clock.now = created.ends_at + timedelta(hours=2)
    assert service.visit(token).id == created.id
    world.clock.advance(timedelta(seconds=1))
    with pytest.raises(Gone):
        service.visit(token)


@pytest.mark.parametrize("token", ["", "short", "A" * 43, "../../etc/passwd"])
def test_unknown_links_are_not_found(world: FakeWorld, token: str) -> None:
    world.service().invite(ADA, bodies.invite(invite_body()))
    with pytest.raises(NotFound):
        world.service().visit(token)


def test_concurrent_complete_and_cancel_have_one_winner(world: FakeWorld) -> None:
    service = world.service()
    created = service.invite(ADA, bodies.invite(invite_body()))
    outcomes: list[str] = []
    barrier = threading.Barrier(20)

    def act(i: int) -> None:
        barrier.wait()
        try:
            (service.complete if i % 2 else service.cancel)(ADA, created.id)
            outcomes.append("won")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=act, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict"] * 19 + ["won"]
    moves = [e for e in world.audit_log.trail(created.id) if e.action in ("complete", "cancel")]
    assert len(moves) == 1
