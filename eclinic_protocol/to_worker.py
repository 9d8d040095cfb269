"""The server's messages to a media worker, parsed by the worker on arrival
(media_worker/worker.py): a browser's `offer` and `candidate` (naming the browser's peer),
`capture` after the patient's consent, `end` when the visit is over or has moved, `leave`
when one participant has gone, and the
`worker_welcome` reply to its hello. A refused message gets `error` (`envelope`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from eclinic_protocol.envelope import Error, Message, Registry
from eclinic_protocol.fields import (
    APPOINTMENT_ID,
    PEER_ID,
    REQUEST_ID,
    SEAT,
    IceCandidate,
    OptionalText,
    Sdp,
    Text,
    Wire,
)


@dataclass(frozen=True, kw_only=True)
class WorkerWelcome(Message):
    """The server's reply to `worker_hello`."""

    TYPE = "worker_welcome"
    worker_id: Annotated[str, Text()]


@dataclass(frozen=True, kw_only=True)
class Offer(Message):
    """A browser's offer: `sender` (`from` on the wire) is the browser's connection id, and
    with `peer_id` names its RTCPeerConnection (a new one is a new peer, the same one
    renegotiates). The worker replies `answer`."""

    TYPE = "offer"
    appointment_id: Annotated[str, APPOINTMENT_ID]
    seat: Annotated[str, SEAT]
    sender: Annotated[str, Text(), Wire("from")]
    peer_id: Annotated[str, PEER_ID] = ""
    sdp: Annotated[str, Sdp()]

    @property
    def browser_peer(self) -> tuple[str, str]:
        """One RTCPeerConnection of one browser connection: a new one is a new peer."""
        return (self.sender, self.peer_id)


@dataclass(frozen=True, kw_only=True)
class Candidate(Message):
    """A browser's ICE candidate (null: the end of its candidates)."""

    TYPE = "candidate"
    appointment_id: Annotated[str, APPOINTMENT_ID]
    seat: Annotated[str, SEAT]
    sender: Annotated[str, Text(), Wire("from")]
    peer_id: Annotated[str, PEER_ID] = ""
    candidate: Annotated[dict[str, Any] | str | None, IceCandidate()]

    @property
    def browser_peer(self) -> tuple[str, str]:
        return (self.sender, self.peer_id)


@dataclass(frozen=True, kw_only=True)
class Capture(Message):
    """Take one picture of the patient's camera, store it under `key`, not after `not_after`
    (the consent's deadline, ISO 8601; the worker refuses a later or unreadable one)."""

    TYPE = "capture"
    appointment_id: Annotated[str, APPOINTMENT_ID]
    request_id: Annotated[str, REQUEST_ID]
    key: Annotated[str, Text()]
    not_after: Annotated[str, Text()]


@dataclass(frozen=True, kw_only=True)
class End(Message):
    """The visit is over, or relayed elsewhere now: close its peers."""

    TYPE = "end"
    appointment_id: Annotated[str, APPOINTMENT_ID]


@dataclass(frozen=True, kw_only=True)
class Leave(Message):
    """One participant left the visit (a guest removed, a page closed): close that seat's peer
    if it is still the one of the browser connection `sender` (`from`); with `sender` empty,
    whichever it is. The others' pages offer again without that seat's m-lines."""

    TYPE = "leave"
    appointment_id: Annotated[str, APPOINTMENT_ID]
    seat: Annotated[str, SEAT]
    sender: Annotated[str, OptionalText(default=""), Wire("from")] = ""


WORKER_RECEIVES = Registry("server to worker", (WorkerWelcome, Offer, Candidate, Capture, End, Leave, Error))
