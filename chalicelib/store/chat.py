"""The session chat on DynamoDB: a line is stored with its audit event, conditional on being
new, and read by the sort key `at#id`, so a page is oldest first."""

from __future__ import annotations

from chalicelib.domain.appointment import AuditEvent
from chalicelib.domain.chat import ChatMessage
from chalicelib.domain.timeutil import iso_utc_precise, parse_instant
from chalicelib.paging import Page
from chalicelib.store.dynamo import Transactions, query_page
from chalicelib.store.models import ChatMessageModel


class DynamoChat:
    def __init__(self, transactions: Transactions) -> None:
        self._transactions = transactions

    def add(self, message: ChatMessage, audit: AuditEvent) -> None:
        at = iso_utc_precise(message.at)
        item = ChatMessageModel(
            message.appointment_id,
            f"{at}#{message.id}",
            id=message.id,
            sender_role=message.sender_role,
            sender_name=message.sender_name,
            sender_seat=message.sender_seat or None,
            text=message.text,
            at=at,
        )
        self._transactions.write_with_audit(item, ChatMessageModel.message_key.does_not_exist(), audit)

    def page(self, appointment_id: str, limit: int, after: str | None) -> Page[ChatMessage]:
        return query_page(ChatMessageModel, "message_key", appointment_id, limit, after, _chat)


def _chat(item: ChatMessageModel) -> ChatMessage:
    return ChatMessage(
        id=item.id,
        appointment_id=item.appointment_id,
        sender_role=item.sender_role,
        sender_name=item.sender_name,
        sender_seat=item.sender_seat or "",
        text=item.text,
        at=parse_instant(item.at),
    )
