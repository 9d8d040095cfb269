"""The server's messages to the pages: pushes (an appointment changed, the call, the other
side's state, chat, screenshots, the patient's status) and replies to the sender.

The server builds each with its class; the pages handle them by the names in
templates/pages/assets/protocol.js. Which page gets which: CLINICIAN_RECEIVES,
PATIENT_RECEIVES, GUEST_RECEIVES (each also gets `error`, from `envelope`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from eclinic_protocol.envelope import Error, Message, Registry
from eclinic_protocol.fields import (
    APPOINTMENT_ID,
    REQUEST_ID,
    ROLE,
    SEAT,
    Choice,
    Flag,
    JsonList,
    JsonObject,
    Number,
    OptionalChoice,
    OptionalFlag,
    OptionalText,
    Sdp,
    Text,
    WholeNumber,
    Wire,
)
from eclinic_protocol.from_browser import QUALITY_LEVELS, VIDEO_OFF_REASONS


@dataclass(frozen=True, kw_only=True)
class Pong(Message):
    """The answer to `ping`."""

    TYPE = "pong"


@dataclass(frozen=True, kw_only=True)
class AppointmentChanged(Message):
    """An appointment of the clinician's group as stored now (after every change; to the
    clinician who rejoins a session, too)."""

    TYPE = "appointment"
    appointment: Annotated[dict[str, Any], JsonObject("the REST Appointment")]


@dataclass(frozen=True, kw_only=True)
class CallSetup(Message):
    """Connect to the visit's worker: the ICE servers (TURN with this call's own credentials
    when configured). `reconnect` (beyond API.md) after a worker move, a renegotiation, or to
    a rejoining patient."""

    TYPE = "call"
    appointment_id: Annotated[str, APPOINTMENT_ID]
    ice_servers: Annotated[list[dict[str, Any]], JsonList("RTCIceServer")]
    ice_transport_policy: Annotated[str, Choice(("all", "relay"))]
    reconnect: Annotated[bool, Flag()]


@dataclass(frozen=True, kw_only=True)
class CallFailed(Message):
    """The call's worker went and no other is free."""

    TYPE = "call_failed"
    appointment_id: Annotated[str, APPOINTMENT_ID]
    message: Annotated[str, Text()]


@dataclass(frozen=True, kw_only=True)
class Answer(Message):
    """The worker's SDP answer to this connection's offer."""

    TYPE = "answer"
    appointment_id: Annotated[str, APPOINTMENT_ID]
    sdp: Annotated[str, Sdp()]


@dataclass(frozen=True, kw_only=True)
class MediaState(Message):
    """Another participant's mute and camera state (only the fields it sent): `from` is its
    role, `seat` (beyond API.md) which participant of the call it is."""

    TYPE = "media_state"
    appointment_id: Annotated[str, APPOINTMENT_ID]
    audio: Annotated[bool | None, OptionalFlag()] = None
    video: Annotated[bool | None, OptionalFlag()] = None
    screen: Annotated[bool | None, OptionalFlag()] = None
    video_off: Annotated[str | None, OptionalChoice(VIDEO_OFF_REASONS)] = None
    sender: Annotated[str, ROLE, Wire("from")]
    seat: Annotated[str, SEAT]


@dataclass(frozen=True, kw_only=True)
class Quality(Message):
    """Another participant's view of its line (`from`, `seat` as in `media_state`)."""

    TYPE = "quality"
    appointment_id: Annotated[str, APPOINTMENT_ID]
    level: Annotated[str, Choice(QUALITY_LEVELS)]
    rtt_ms: Annotated[float | None, Number(600_000)] = None
    loss: Annotated[float | None, Number(1)] = None
    connected: Annotated[bool, Flag()]
    sender: Annotated[str, ROLE, Wire("from")]
    seat: Annotated[str, SEAT]


@dataclass(frozen=True, kw_only=True)
class Chat(Message):
    """A chat line of the session, as stored: `from` clinician, patient or guest, `seat`
    (beyond API.md) which participant wrote it."""

    TYPE = "chat"
    appointment_id: Annotated[str, APPOINTMENT_ID]
    id: Annotated[str, Text()]
    sender: Annotated[str, ROLE, Wire("from")]
    seat: Annotated[str, SEAT]
    name: Annotated[str, Text()]
    text: Annotated[str, Text()]
    at: Annotated[str, Text()]


@dataclass(frozen=True, kw_only=True)
class NoticeSent(Message):
    """Beyond API.md: the clinician's notice went out, to `delivered` patient pages."""

    TYPE = "notice_sent"
    appointment_id: Annotated[str, APPOINTMENT_ID]
    at: Annotated[str, Text()]
    delivered: Annotated[int, WholeNumber()]


@dataclass(frozen=True, kw_only=True)
class ScreenshotRequested(Message):
    """Beyond API.md: the clinician's request is stored and on its way to the patient."""

    TYPE = "screenshot_requested"
    appointment_id: Annotated[str, APPOINTMENT_ID]
    request_id: Annotated[str, REQUEST_ID]


@dataclass(frozen=True, kw_only=True)
class ScreenshotDenied(Message):
    """The patient said no."""

    TYPE = "screenshot_denied"
    request_id: Annotated[str, REQUEST_ID]


@dataclass(frozen=True, kw_only=True)
class ScreenshotReady(Message):
    """The picture is stored; `screenshot` holds its short-lived link."""

    TYPE = "screenshot_ready"
    request_id: Annotated[str, REQUEST_ID]
    screenshot: Annotated[
        dict[str, Any], JsonObject("Screenshot: `id`, `taken_at`, `filename`, `url`, `width`, `height`")
    ]


@dataclass(frozen=True, kw_only=True)
class ScreenshotFailed(Message):
    """No picture: no worker, the camera gave none, or the consent expired first."""

    TYPE = "screenshot_failed"
    request_id: Annotated[str, REQUEST_ID]
    message: Annotated[str, Text()]


@dataclass(frozen=True, kw_only=True)
class Status(Message):
    """The patient's appointment changed status; `message` says so in the patient's words,
    `waiting_since` (beyond API.md) while the patient waits."""

    TYPE = "status"
    status: Annotated[str, Text()]
    message: Annotated[str, Text()]
    waiting_since: Annotated[str | None, OptionalText()] = None


@dataclass(frozen=True, kw_only=True)
class SessionEnded(Message):
    """The clinician left: the appointment is completed; to a guest also when the clinician
    removed them (then the server closes the guest's connections)."""

    TYPE = "session_ended"
    message: Annotated[str, Text()]


@dataclass(frozen=True, kw_only=True)
class Cancelled(Message):
    """The appointment is cancelled; the server closes the patient's connections next."""

    TYPE = "cancelled"
    message: Annotated[str, Text()]


@dataclass(frozen=True, kw_only=True)
class Notice(Message):
    """A clinician's notice to the waiting patient."""

    TYPE = "notice"
    appointment_id: Annotated[str, APPOINTMENT_ID]
    text: Annotated[str, Text()]
    from_name: Annotated[str, Text()]
    at: Annotated[str, Text()]


@dataclass(frozen=True, kw_only=True)
class Document(Message):
    """Written information for the patient, with its short-lived link."""

    TYPE = "document"
    document: Annotated[dict[str, Any], JsonObject("Document: `id`, `title`, `filename`, `url`")]


@dataclass(frozen=True, kw_only=True)
class ScreenshotRequest(Message):
    """The clinician asks for a picture of the patient's camera: the patient's page asks the
    patient, and answers `screenshot_consent`."""

    TYPE = "screenshot_request"
    appointment_id: Annotated[str, APPOINTMENT_ID]
    request_id: Annotated[str, REQUEST_ID]


@dataclass(frozen=True, kw_only=True)
class Participants(Message):
    """Who is in the call now, to everyone in it, whenever that changes (a join, a leave, a
    guest added or removed, mute or camera): each `{"id", "seat", "role", "name",
    "guest_role"?, "audio", "video"}`, in SEATS order; `id` is the guest's id for a guest, else
    the role. A page lays out a tile per other participant and its m-line pairs by `seat`
    (eclinic_protocol.mlines)."""

    TYPE = "participants"
    appointment_id: Annotated[str, APPOINTMENT_ID]
    participants: Annotated[list[dict[str, Any]], JsonList("participant")]


_CALL = (CallSetup, CallFailed, Answer, MediaState, Quality, Chat, Participants, Pong, Error)
CLINICIAN_RECEIVES = Registry(
    "server to clinician",
    (
        AppointmentChanged,
        *_CALL,
        NoticeSent,
        ScreenshotRequested,
        ScreenshotDenied,
        ScreenshotReady,
        ScreenshotFailed,
    ),
)
PATIENT_RECEIVES = Registry(
    "server to patient", (Status, SessionEnded, Cancelled, Notice, Document, ScreenshotRequest, *_CALL)
)
GUEST_RECEIVES = Registry("server to guest", (Status, SessionEnded, Cancelled, *_CALL))
