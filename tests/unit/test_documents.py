"""Written information sent to the patient in a session, against fakes: what reaches the
patient, and what is refused. Split from test_media_service.py."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from chalicelib.api import bodies
from chalicelib.errors import Conflict, EclinicError, NotFound, TooLarge, ValidationFailed
from tests.unit.factories import (
    ADA,
    BEN,
    CYD,
    FakeWorld,
    invite_body,
)
from tests.unit.in_a_call import in_session, pushed


@pytest.fixture
def world() -> FakeWorld:
    return FakeWorld()


def test_written_information_reaches_the_patient(world: FakeWorld) -> None:
    _live, appointment = in_session(world)
    shown = world.documents().send_document(
        BEN, appointment.id, bodies.send_document({"title": "After-care", "text": "Rest."})
    )
    assert shown["filename"] == "After-care.txt"
    assert pushed(world, "pat-1", "document")[-1]["document"]["id"] == shown["id"]
    pdf = base64.b64encode(b"%PDF-1.7 tiny").decode()
    sent = world.documents().send_document(
        ADA,
        appointment.id,
        bodies.send_document(
            {
                "title": "Leaflet",
                "filename": "../../etc/le aflet?.pdf",
                "content_type": "application/pdf",
                "content_base64": pdf,
            }
        ),
    )
    assert sent["filename"] == "le aflet_.pdf"
    assert [d["title"] for d in world.documents().patient_documents(appointment)] == ["After-care", "Leaflet"]
    assert (
        world.documents()
        .patient_document_link(appointment, sent["id"])
        .startswith("https://files.test/documents/")
    )
    with pytest.raises(NotFound):
        world.documents().patient_document_link(appointment, "nope")


@pytest.mark.parametrize(
    ("body", "error", "field"),
    [
        ({"title": "x", "text": ""}, ValidationFailed, "text"),
        ({"title": "", "text": "x"}, ValidationFailed, "title"),
        (
            {"title": "x", "content_type": "application/x-msdownload", "content_base64": "TVo="},
            ValidationFailed,
            "content_type",
        ),
        (
            {
                "title": "x",
                "content_type": "application/pdf",
                "content_base64": base64.b64encode(b"MZ not a pdf").decode(),
            },
            ValidationFailed,
            "content_type",
        ),
        (
            {"title": "x", "content_type": "image/png", "content_base64": "***"},
            ValidationFailed,
            "content_base64",
        ),
        (
            {
                "title": "x",
                "content_type": "text/plain",
                "content_base64": base64.b64encode(b"a" * (5 * 1024 * 1024 + 1)).decode(),
            },
            TooLarge,
            "content_base64",
        ),
    ],
)
def test_bad_documents_are_refused_and_nothing_is_sent(
    world: FakeWorld, body: dict[str, Any], error: type[EclinicError], field: str
) -> None:
    _, appointment = in_session(world)
    with pytest.raises(error) as raised:
        world.documents().send_document(ADA, appointment.id, bodies.send_document(body))
    assert raised.value.field == field
    assert not world.files.files and not pushed(world, "pat-1", "document")


def test_documents_for_another_group_or_a_cancelled_appointment(world: FakeWorld) -> None:
    appointment = world.service().invite(ADA, bodies.invite(invite_body()))
    with pytest.raises(NotFound):
        world.documents().send_document(
            CYD, appointment.id, bodies.send_document({"title": "x", "text": "y"})
        )
    world.service().cancel(ADA, appointment.id)
    with pytest.raises(Conflict):
        world.documents().send_document(
            ADA, appointment.id, bodies.send_document({"title": "x", "text": "y"})
        )
