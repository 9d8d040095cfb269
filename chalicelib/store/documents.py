"""The documents sent to patients, on DynamoDB: a document's record is stored with its
`document_sent` audit event, conditional on being new (the file is in the file store)."""

from __future__ import annotations

from collections.abc import Sequence

from chalicelib import paging
from chalicelib.domain.appointment import AuditEvent
from chalicelib.domain.document import Document
from chalicelib.domain.timeutil import iso_utc_precise, parse_instant
from chalicelib.paging import Page
from chalicelib.store.dynamo import Transactions
from chalicelib.store.models import DocumentModel


class DynamoDocuments:
    def __init__(self, transactions: Transactions) -> None:
        self._transactions = transactions

    def add(self, document: Document, audit: AuditEvent) -> None:
        item = DocumentModel(
            document.appointment_id,
            document.id,
            title=document.title,
            filename=document.filename,
            content_type=document.content_type,
            size=document.size,
            created_by=document.created_by,
            created_at=iso_utc_precise(document.created_at),
        )
        self._transactions.write_with_audit(item, DocumentModel.id.does_not_exist(), audit)

    def for_appointment(self, appointment_id: str) -> Sequence[Document]:
        found = [
            Document(
                id=m.id,
                appointment_id=m.appointment_id,
                title=m.title,
                filename=m.filename,
                content_type=m.content_type,
                size=int(m.size),
                created_by=m.created_by,
                created_at=parse_instant(m.created_at),
            )
            for m in DocumentModel.query(appointment_id, consistent_read=True)
        ]
        return sorted(found, key=lambda d: (d.created_at, d.id))

    def page(self, appointment_id: str, limit: int, after: str | None) -> Page[Document]:
        # The table's sort key is the document id, not its time: the page is cut from the
        # sorted list, and a position is `created_at#id` of the last document answered.
        return paging.cut(self.for_appointment(appointment_id), _document_position, limit, after)


def _document_position(document: Document) -> str:
    return f"{iso_utc_precise(document.created_at)}#{document.id}"
