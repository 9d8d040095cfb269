"""Every mail SES "sent" in the local run, read from moto's SES backend and parsed.

Serves `/_local/mailbox.json` (API.md's shape) and the readable `/_local/mailbox` page, which
lists the texts SNS "sent" too (local/texts.py).
"""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import jinja2

from local import texts
from local.aws_standin import ACCOUNT_ID, REGION


def messages() -> list[dict[str, Any]]:
    from moto.ses.models import ses_backends

    backend = ses_backends[ACCOUNT_ID][REGION]
    return [_describe(m) for m in list(backend.sent_messages) if hasattr(m, "raw_data")]


def _describe(sent: Any) -> dict[str, Any]:
    raw = sent.raw_data if isinstance(sent.raw_data, bytes) else sent.raw_data.encode()
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    text = parsed.get_body(preferencelist=("plain",))
    html = parsed.get_body(preferencelist=("html",))
    date = parsed.get("Date")
    sent_at = date.datetime if date is not None and date.datetime else datetime.now(UTC)
    return {
        "id": sent.id,
        "to": [address.addr_spec for address in parsed["To"].addresses] if parsed["To"] else [],
        "subject": str(parsed.get("Subject", "")),
        "text": text.get_content() if text is not None else "",
        "html": html.get_content() if html is not None else "",
        "sent_at": sent_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "attachments": [
            {"filename": part.get_filename(), "content_type": part.get_content_type()}
            for part in parsed.iter_attachments()
        ],
    }


_PAGE = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent), autoescape=True
).get_template("mailbox.html")


def page() -> str:
    return _PAGE.render(messages=messages(), texts=texts.messages())
