"""The mailer port and its adapters: SES for real, a list in memory for unit tests."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import parseaddr
from typing import Any, Protocol


class MailRejected(Exception):
    """The mail service did not accept the message; `reason` is its error code, no content."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Mailer(Protocol):
    def send(self, message: EmailMessage) -> str:
        """Hands the message over; returns the service's message id or raises MailRejected."""
        ...


class SesMailer:
    def __init__(self, ses_client: Any, configuration_set: str | None = None) -> None:
        self._ses = ses_client
        self._configuration_set = configuration_set

    def send(self, message: EmailMessage) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        recipient = parseaddr(str(message["To"]))[1]
        request: dict[str, Any] = {
            "Source": parseaddr(str(message["From"]))[1],
            "Destinations": [recipient],
            "RawMessage": {"Data": message.as_bytes()},
        }
        if self._configuration_set:
            request["ConfigurationSetName"] = self._configuration_set
        try:
            return str(self._ses.send_raw_email(**request)["MessageId"])
        except ClientError as exc:
            raise MailRejected(exc.response.get("Error", {}).get("Code", "ClientError")) from exc
        except BotoCoreError as exc:
            raise MailRejected(type(exc).__name__) from exc


class InMemoryMailer:
    """Keeps what it was given; `refuse` makes the next sends fail as SES would."""

    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []
        self.refuse = False

    def send(self, message: EmailMessage) -> str:
        if self.refuse:
            raise MailRejected("MessageRejected")
        self.sent.append(message)
        return f"fake-{len(self.sent)}"
