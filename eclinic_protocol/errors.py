"""The one error the protocol raises: a received message that is not what its type says."""

from __future__ import annotations


class ProtocolError(ValueError):
    """A message that cannot be read: unknown `type`, or a field missing or of the wrong kind.

    `message` is a sentence for the sender (the server sends it back in its `error` reply),
    `field` the wire name of the field that was wrong (None when the message as a whole was).
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
