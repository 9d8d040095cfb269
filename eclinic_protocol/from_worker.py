"""The media worker's messages to the server, sent by media_worker/worker.py and parsed by the
server on arrival (handlers: `LiveService._handlers(Role.WORKER)`). All beyond API.md, which
only says that the worker connects with its credential.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from eclinic_protocol.envelope import Message, Registry
from eclinic_protocol.fields import (
    APPOINTMENT_ID,
    PEER_ID,
    REQUEST_ID,
    SEAT,
    OptionalChoice,
    OptionalFlag,
    Sdp,
    Text,
    WholeNumber,
)
from eclinic_protocol.mlines import SEATS

FIGURE = WholeNumber(0, 10_000)  # a worker's capacity or load, in visits
SIZE = WholeNumber(1, None, "`width` and `height` must be positive whole numbers.", "width")


@dataclass(frozen=True, kw_only=True)
class WorkerHello(Message):
    """Sent on every (re)connect: the connection is worker `worker_id`, with these figures."""

    TYPE = "worker_hello"
    worker_id: Annotated[str, Text(max_length=100)]
    capacity: Annotated[int, FIGURE]
    load: Annotated[int, FIGURE]
    draining: Annotated[bool, OptionalFlag(default=False)] = False


@dataclass(frozen=True, kw_only=True)
class WorkerStatus(Message):
    """The worker's heartbeat and figures: every heartbeat, when its load changes, when it
    drains (then its visits move to another worker)."""

    TYPE = "worker_status"
    capacity: Annotated[int, FIGURE]
    load: Annotated[int, FIGURE]
    draining: Annotated[bool, OptionalFlag(default=False)] = False


@dataclass(frozen=True, kw_only=True)
class Answer(Message):
    """The worker's answer (one complete SDP) to the offer of the browser connection `to`.
    `seat` and `peer_id` repeat the offer's (the worker always sends them): the server drops
    an answer whose `to` is no longer in the session, or not of that `seat`, and logs them."""

    TYPE = "answer"
    appointment_id: Annotated[str, APPOINTMENT_ID]
    to: Annotated[str, Text()]
    sdp: Annotated[str, Sdp()]
    seat: Annotated[str | None, OptionalChoice(SEATS, SEAT.message)] = None
    peer_id: Annotated[str, PEER_ID] = ""


@dataclass(frozen=True, kw_only=True)
class Captured(Message):
    """The picture is stored under the key `capture` named."""

    TYPE = "captured"
    appointment_id: Annotated[str, APPOINTMENT_ID]
    request_id: Annotated[str, REQUEST_ID]
    width: Annotated[int, SIZE]
    height: Annotated[int, SIZE]


@dataclass(frozen=True, kw_only=True)
class CaptureFailed(Message):
    """No picture was taken (the worker logs why)."""

    TYPE = "capture_failed"
    appointment_id: Annotated[str, APPOINTMENT_ID]
    request_id: Annotated[str, REQUEST_ID]


@dataclass(frozen=True, kw_only=True)
class Renegotiate(Message):
    """Ask that side's page to offer again, so that both legs share a codec."""

    TYPE = "renegotiate"
    appointment_id: Annotated[str, APPOINTMENT_ID]
    seat: Annotated[str, SEAT]


WORKER_SENDS = Registry(
    "worker to server", (WorkerHello, WorkerStatus, Answer, Captured, CaptureFailed, Renegotiate)
)
