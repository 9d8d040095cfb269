"""Written information: documents a clinician sends to the patient (a text or a file), pushed
to the patient's page live, and listed and linked for the patient afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from chalicelib import paging
from chalicelib.domain.appointment import Appointment, Status
from chalicelib.domain.clinician import Clinician
from chalicelib.domain.document import Document
from chalicelib.errors import Conflict, NotFound
from chalicelib.files.storage import FileStore
from chalicelib.realtime.broadcast import Broadcaster
from chalicelib.realtime.connections import patient_channel
from chalicelib.store.ports import DocumentStore
from chalicelib.usecases.appointments import AppointmentService
from chalicelib.usecases.commands import SendDocumentCommand
from eclinic_protocol import to_browser


class Documents:
    """The written information of an appointment. It has nothing to do with the call (a
    document can be sent before, during or after the session), so it lives apart from it: it
    stores the file privately, audits the sending, and gives out short-lived links only."""

    def __init__(
        self,
        appointments: AppointmentService,
        document_store: DocumentStore,
        broadcaster: Broadcaster,
        files: FileStore,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._appointments = appointments
        self._document_store = document_store
        self._broadcaster = broadcaster
        self._files = files
        self._clock = clock or appointments.now

    def send_document(
        self, actor: Clinician, appointment_id: str, request: SendDocumentCommand
    ) -> dict[str, Any]:
        appointment = self._appointments.get(actor, appointment_id)
        if appointment.status is Status.CANCELLED:
            raise Conflict("The appointment is cancelled; nothing can be sent to the patient.")
        now = self._clock()
        document = Document(
            id=str(uuid.uuid4()),
            appointment_id=appointment.id,
            title=request.title,
            filename=request.filename,
            content_type=request.content_type,
            size=len(request.content),
            created_by=actor.email,
            created_at=now,
        )
        self._files.put(document.storage_key(), request.content, request.content_type)
        self._document_store.add(document, appointment.audit_event("document_sent", actor, now))
        shown = self.document_json(document)
        self._broadcaster.to_channels(
            [patient_channel(appointment.id)], to_browser.Document(document=shown).to_json()
        )
        return shown

    def document_json(self, document: Document) -> dict[str, Any]:
        return {
            "id": document.id,
            "title": document.title,
            "filename": document.filename,
            "url": self._files.link(document.storage_key(), document.filename),
        }

    def patient_documents(self, appointment: Appointment) -> list[dict[str, Any]]:
        return [self.document_json(d) for d in self._document_store.for_appointment(appointment.id)]

    def patient_documents_page(
        self, appointment: Appointment, query: Mapping[str, str] | None
    ) -> tuple[list[dict[str, Any]], dict[str, str]]:
        """One page of the patient's documents, oldest first, and the answer's `next`."""
        page, more = paging.of_appointment(self._document_store.page, appointment.id, query)
        return [self.document_json(d) for d in page.items], more

    def patient_document_link(self, appointment: Appointment, document_id: str) -> str:
        for document in self._document_store.for_appointment(appointment.id):
            if document.id == document_id:
                return self._files.link(document.storage_key(), document.filename)
        raise NotFound("No such document.")
