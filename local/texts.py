"""Every text SNS "sent" in the local run, read from moto's SNS backend.

Serves `/_local/sms.json` (API.md's shape) and the texts on the mailbox page. moto keeps no
time with a text, so `sent_at` is when this module first saw it (it is read at least every few
seconds while the mailbox page is open, and by the tests right after a send). moto treats every
number ending in 99 as opted out (as if it had replied STOP), which is how the local run shows
an opted-out patient.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from local.aws_standin import ACCOUNT_ID, REGION

_first_seen: dict[str, str] = {}
_lock = threading.Lock()


def messages() -> list[dict[str, Any]]:
    from moto.sns.models import sns_backends

    backend = sns_backends[ACCOUNT_ID][REGION]
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    with _lock:
        sent = list(backend.sms_messages.items())
        for message_id, _ in sent:
            _first_seen.setdefault(message_id, now)
        return [
            {"id": message_id, "to": to, "text": text, "sent_at": _first_seen[message_id]}
            for message_id, (to, text) in sent
        ]
