"""The one parser for JSON a client sent: REST bodies and websocket messages.

Python's `json` recurses once per nested array or object, so `"[" * 60000` raises
RecursionError (not ValueError) and depths the interpreter still manages cost stack for
nothing. Every client-controlled parse goes through `loads`, which refuses anything nested
deeper than MAX_DEPTH before `json` sees it and turns every parse failure into the contract's
ValidationFailed, so the caller answers `validation_error` and changes nothing.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

from chalicelib.errors import ValidationFailed

# Deepest nesting accepted, counting each array or object ({} is 1, {"a": [{}]} is 3). No body
# or message of API.md nests more than 3 deep; 32 leaves room and stays far below the interpreter's
# recursion limit (1000) whatever the stack depth of the caller.
MAX_DEPTH = 32

# A JSON string (escapes included), so brackets inside strings are not counted.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
# Outside strings, valid JSON is ASCII; as bytes, everything but brackets is deleted in one call.
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEPS = tuple(1 if b in b"[{" else -1 if b in b"]}" else 0 for b in range(256))


def too_deep(text: str) -> bool:
    """Whether `text` nests arrays and objects deeper than MAX_DEPTH, strings skipped.

    Exact for valid JSON; for invalid JSON it may count too deep, which only refuses what
    `json` would refuse anyway. Linear, with no Python-level loop (a regular expression,
    `bytes.translate`, `map` and `accumulate`): a 7 MiB body of brackets costs about a third
    of a second, an ordinary body two `str.count` calls.
    """
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return False  # too few brackets to nest deeper: the common case costs two counts
    brackets = _STRING.sub("", text).encode("ascii", "replace").translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_STEPS.__getitem__, brackets)), default=0) > MAX_DEPTH


def loads(raw: str | bytes, subject: str = "The request body") -> Any:
    """Parses client JSON; raises ValidationFailed for invalid or too deeply nested input."""
    refused = f"{subject} is not valid JSON, or nests more than {MAX_DEPTH} levels deep."
    try:
        # Decoded as json.loads would (UTF-8, -16 or -32), so the depth scan sees characters.
        text = raw.decode(json.detect_encoding(raw), "surrogatepass") if isinstance(raw, bytes) else raw
        if not too_deep(text):
            return json.loads(text)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ValidationFailed(refused) from exc
    raise ValidationFailed(refused)
