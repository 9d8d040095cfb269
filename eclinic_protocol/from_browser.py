"""The pages' messages to the server (the clinician's, the patient's, a guest's), which the server
parses on arrival. The server's handler for each is in `LiveService._handlers`
(chalicelib/usecases/live.py); what each does is in docs/protocol.md.

Fields are declared in the order the server checks them: the first wrong one is named.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from eclinic_protocol.envelope import Message, Registry
from eclinic_protocol.fields import (
    APPOINTMENT_ID,
    PEER_ID,
    REQUEST_ID,
    Choice,
    Flag,
    IceCandidate,
    Number,
    OptionalChoice,
    OptionalFlag,
    Sdp,
    String,
)

HANGUP_MODES = ("exit", "leave")
QUALITY_LEVELS = ("good", "fair", "poor")
# Beyond API.md: why a page sends no video, so the other side can say so ("camera paused" for a
# phone whose page went to the background).
VIDEO_OFF_REASONS = ("camera_off", "audio_only", "background")
# ok: works; none: no such device found; in_use: another program holds it; denied: the browser
# (or the person) refused it; error: anything else. The microphone may also be `silent`: it
# opened, but the page heard nothing from it for several seconds.
CAMERA_RESULTS = ("ok", "none", "in_use", "denied", "error")
MICROPHONE_RESULTS = (*CAMERA_RESULTS, "silent")


@dataclass(frozen=True, kw_only=True)
class Ping(Message):
    """The page's heartbeat, every 30 s: keeps a patient online."""

    TYPE = "ping"


@dataclass(frozen=True, kw_only=True)
class Take(Message):
    """The clinician takes a waiting patient (or rejoins the session they hold)."""

    TYPE = "take"
    appointment_id: Annotated[str, APPOINTMENT_ID]


@dataclass(frozen=True, kw_only=True)
class Notice(Message):
    """A few words to a waiting patient; the text rules are `chalicelib.domain.notice`'s."""

    TYPE = "notice"
    appointment_id: Annotated[str, APPOINTMENT_ID]
    text: Annotated[str, String("`text` is required: the words for the patient.")]


@dataclass(frozen=True, kw_only=True)
class Hangup(Message):
    """The clinician ends the call: `exit` (the patient waits again) or `leave` (completed)."""

    TYPE = "hangup"
    mode: Annotated[str, Choice(HANGUP_MODES)]
    appointment_id: Annotated[str, APPOINTMENT_ID]


@dataclass(frozen=True, kw_only=True)
class Call(Message):
    """The clinician starts the call; a reloaded patient page rejoins a running one."""

    TYPE = "call"
    appointment_id: Annotated[str, APPOINTMENT_ID]


@dataclass(frozen=True, kw_only=True)
class Offer(Message):
    """The page's SDP offer, for the visit's worker. `peer_id` (beyond API.md) names the
    RTCPeerConnection: a new one is a new peer at the worker."""

    TYPE = "offer"
    sdp: Annotated[str, Sdp()]
    appointment_id: Annotated[str, APPOINTMENT_ID]
    peer_id: Annotated[str, PEER_ID] = ""


@dataclass(frozen=True, kw_only=True)
class Candidate(Message):
    """One of the page's ICE candidates, for the visit's worker."""

    TYPE = "candidate"
    candidate: Annotated[dict[str, Any] | str | None, IceCandidate()]
    appointment_id: Annotated[str, APPOINTMENT_ID]
    peer_id: Annotated[str, PEER_ID] = ""


@dataclass(frozen=True, kw_only=True)
class MediaState(Message):
    """Mute and camera state, for the other side; `screen` and `video_off` beyond API.md."""

    TYPE = "media_state"
    appointment_id: Annotated[str, APPOINTMENT_ID]
    audio: Annotated[bool | None, OptionalFlag()] = None
    video: Annotated[bool | None, OptionalFlag()] = None
    screen: Annotated[bool | None, OptionalFlag()] = None
    video_off: Annotated[
        str | None,
        OptionalChoice(VIDEO_OFF_REASONS, "`video_off` must be camera_off, audio_only or background."),
    ] = None


@dataclass(frozen=True, kw_only=True)
class Quality(Message):
    """The page's view of its line, for the other side. Beyond API.md, `connected: false` says
    that the page's video connection failed altogether (a network that blocks it)."""

    TYPE = "quality"
    appointment_id: Annotated[str, APPOINTMENT_ID]
    level: Annotated[str, Choice(QUALITY_LEVELS, "`level` must be good, fair or poor.")]
    rtt_ms: Annotated[float | None, Number(600_000)] = None
    loss: Annotated[float | None, Number(1)] = None
    connected: Annotated[bool, OptionalFlag(default=True)] = True


@dataclass(frozen=True, kw_only=True)
class Chat(Message):
    """A chat line in the session; the text rules are `chalicelib.domain.chat`'s."""

    TYPE = "chat"
    text: Annotated[str, String("Write a message first.")]
    appointment_id: Annotated[str, APPOINTMENT_ID]


@dataclass(frozen=True, kw_only=True)
class ScreenshotRequest(Message):
    """The clinician asks for a picture of the patient's camera."""

    TYPE = "screenshot_request"
    appointment_id: Annotated[str, APPOINTMENT_ID]


@dataclass(frozen=True, kw_only=True)
class ScreenshotConsent(Message):
    """The patient's answer to one screenshot request."""

    TYPE = "screenshot_consent"
    appointment_id: Annotated[str, APPOINTMENT_ID]
    granted: Annotated[bool, Flag()]
    request_id: Annotated[str, REQUEST_ID]


@dataclass(frozen=True, kw_only=True)
class DeviceCheck(Message):
    """Beyond API.md: what the waiting room's device check found."""

    TYPE = "device_check"
    appointment_id: Annotated[str, APPOINTMENT_ID]
    camera: Annotated[str, Choice(CAMERA_RESULTS)]
    microphone: Annotated[str, Choice(MICROPHONE_RESULTS)]


_COMMON = (Ping, Chat, Call, Offer, Candidate, MediaState, Quality)
CLINICIAN_SENDS = Registry("clinician to server", (*_COMMON, Take, Notice, Hangup, ScreenshotRequest))
PATIENT_SENDS = Registry("patient to server", (*_COMMON, ScreenshotConsent, DeviceCheck))
# A guest speaks as the patient does in a call, never for the patient (no screenshot consent).
GUEST_SENDS = Registry("guest to server", _COMMON)
