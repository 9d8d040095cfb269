"""The text-sending port and its adapters: Amazon SNS for real, a list in memory for unit tests.

SNS rather than AWS End User Messaging SMS: SNS keeps the account's opt-out list itself (a
patient who replies STOP is put on it, and SNS refuses to text them), it takes a sender ID or an
origination number as message attributes, and moto covers it, so the adapter is tested against
the same API calls it makes on AWS. End User Messaging SMS adds two-way keywords and
registration workflows; its origination identities can be used from SNS too.
"""

from __future__ import annotations

from typing import Any, Protocol


class TextRejected(Exception):
    """The text service did not accept the text; `reason` is its error code, no content."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class OptedOut(TextRejected):
    """The number replied STOP (it is on the opt-out list): nothing may be texted to it."""

    def __init__(self) -> None:
        super().__init__("OptedOut")


class TextSender(Protocol):
    def send(self, to: str, text: str) -> str:
        """Texts `to` (E.164); returns the service's message id, raises OptedOut or TextRejected."""
        ...


class SnsTextSender:
    def __init__(
        self, sns_client: Any, sender_id: str | None = None, origination_number: str | None = None
    ) -> None:
        self._sns = sns_client
        self._attributes: dict[str, Any] = {
            # Transactional: delivered with priority, and allowed where promotional texts are not.
            "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"},
        }
        if sender_id:
            self._attributes["AWS.SNS.SMS.SenderID"] = {"DataType": "String", "StringValue": sender_id}
        if origination_number:
            self._attributes["AWS.MM.SMS.OriginationNumber"] = {
                "DataType": "String",
                "StringValue": origination_number,
            }

    def send(self, to: str, text: str) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            if self._sns.check_if_phone_number_is_opted_out(phoneNumber=to)["isOptedOut"]:
                raise OptedOut()
            answer = self._sns.publish(PhoneNumber=to, Message=text, MessageAttributes=self._attributes)
            return str(answer["MessageId"])
        except ClientError as exc:
            raise TextRejected(exc.response.get("Error", {}).get("Code", "ClientError")) from exc
        except BotoCoreError as exc:
            raise TextRejected(type(exc).__name__) from exc


class InMemoryTextSender:
    """Keeps what it was given; numbers in `opted_out` replied STOP; `refuse` fails the next sends."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.opted_out: set[str] = set()
        self.refuse = False

    def send(self, to: str, text: str) -> str:
        if to in self.opted_out:
            raise OptedOut()
        if self.refuse:
            raise TextRejected("Throttling")
        self.sent.append((to, text))
        return f"fake-text-{len(self.sent)}"
