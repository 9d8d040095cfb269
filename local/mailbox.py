"""Every mail SES "sent" in the local run, read from moto's SES backend and parsed.

Serves `/_local/mailbox.json` (API.md's shape) and the readable `/_local/mailbox` page.
"""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import jinja2

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


_PAGE = jinja2.Environment(autoescape=True).from_string(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Local mailbox · eClinic</title>
<style>
body{font-family:system-ui,sans-serif;margin:0;background:#f3f5f8;color:#1d2733}
header{background:#0b3d6b;color:#fff;padding:12px 16px}
main{max-width:880px;margin:0 auto;padding:16px}
article{background:#fff;border-radius:8px;margin:0 0 16px;padding:12px 16px}
h2{font-size:18px;margin:4px 0}
.meta{color:#50606f;font-size:14px}
iframe{width:100%;min-height:420px;border:1px solid #d5dbe3;border-radius:6px;background:#fff}
details{margin-top:8px}
pre{white-space:pre-wrap;font-size:13px}
</style></head><body>
<header><h1 style="margin:0;font-size:20px">Local mailbox</h1>
<p style="margin:4px 0 0;font-size:14px">Every email the local run "sent", newest first. Only the local run has this page.</p></header>
<main>
{% if not messages %}<p>No mail yet. Invite a patient from the clinic schedule and it appears here.</p>{% endif %}
{% for m in messages|reverse %}
<article aria-labelledby="m{{ loop.index }}">
<h2 id="m{{ loop.index }}">{{ m.subject }}</h2>
<p class="meta">To {{ m.to|join(", ") }} · {{ m.sent_at }}
{% if m.attachments %} · attachments: {% for a in m.attachments %}{{ a.filename }} ({{ a.content_type }}){% if not loop.last %}, {% endif %}{% endfor %}{% endif %}</p>
<iframe title="Mail: {{ m.subject }}" sandbox="allow-popups allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation" srcdoc="<base target=&quot;_blank&quot;>{{ m.html }}"></iframe>
<details><summary>Plain-text part</summary><pre>{{ m.text }}</pre></details>
</article>
{% endfor %}
</main></body></html>"""
)


def page() -> str:
    return _PAGE.render(messages=messages())
