"""The one place where the worker reaches into aiortc's internals, to forward encoded media.

aiortc has no public way to receive undecoded frames (its maintainers said so in aiortc #449,
and proposed it in #55), so this module attaches to one `RTCRtpReceiver` and one
`RTCRtpSender` instance at a time:

- Receiver: the private jitter buffer (`_RTCRtpReceiver__jitter_buffer`, called as
  `add(packet) -> (pli_flag, frame)` from `_handle_rtp_packet`) is replaced by an adapter that
  rebuilds frames with `frames.FrameAssembler` (video) or passes Opus packets straight on
  (`frames.AudioSequencer`), and hands them to a callback on the event loop. It always answers
  "no frame", so the receiver's decoder thread waits on an empty queue and never creates a
  decoder. Everything before the jitter buffer keeps working: SRTP, RTX unwrapping, NACKs,
  receiver reports and the REMB estimate. Keyframes are asked for with the receiver's own
  `_send_rtcp_pli`; the REMB it sends goes through `_send_rtcp`, wrapped to apply a cap.
- Sender: `_handle_rtcp_packet` is wrapped so that a keyframe request (PLI/FIR) or a REMB from
  the receiving browser reaches the relay; the sender's own handling (RTT, NACK resends)
  still runs. Sending needs no hook: `RTCRtpSender` hands anything that is not an `av.Frame` to
  its encoder's `pack()`, which only packetises (no codec context is opened).

Written for aiortc 1.16 (`AIORTC_SERIES`, pinned in the worker's requirements);
`check_compatible` names what moved if another version no longer has what this relies on,
and a test runs it.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiortc import RTCRtpReceiver, RTCRtpSender
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTCP_PSFB_FIR,
    RTCP_PSFB_PLI,
    RtcpPsfbPacket,
    RtpPacket,
    pack_remb_fci,
    unpack_remb_fci,
)

from media_worker.frames import (
    VIDEO_CLOCK_RATE,
    AudioSequencer,
    EncodedFrame,
    FrameAssembler,
    Unwrapper,
    is_keyframe,
    starts_frame,
)

AIORTC_SERIES = "1.16"

_JITTER_BUFFER = "_RTCRtpReceiver__jitter_buffer"
_CODECS = "_RTCRtpReceiver__codecs"
_RTCP_SSRC = "_RTCRtpReceiver__rtcp_ssrc"

FrameCallback = Callable[[EncodedFrame], None]


class IncompatibleAiortc(RuntimeError):
    """The installed aiortc lacks something this hook relies on."""


def check_compatible() -> None:
    """Raises IncompatibleAiortc naming every attribute or call that moved."""
    missing = []
    receiver = RTCRtpReceiver("video", _Unstarted())  # type: ignore[arg-type]
    for name in (_JITTER_BUFFER, _CODECS, _RTCP_SSRC):
        if not hasattr(receiver, name):
            missing.append(f"RTCRtpReceiver.{name}")
    receiver_init = inspect.getsource(RTCRtpReceiver.__init__)
    handler = inspect.getsource(RTCRtpReceiver._handle_rtp_packet)
    for name in (_JITTER_BUFFER, _CODECS, _RTCP_SSRC):
        if f"self.{name.removeprefix('_RTCRtpReceiver')}" not in receiver_init:
            missing.append(f"RTCRtpReceiver.{name} (set in __init__)")
    if "pli_flag, encoded_frame = self.__jitter_buffer.add(packet)" not in handler:
        missing.append("RTCRtpReceiver._handle_rtp_packet calling `self.__jitter_buffer.add(packet)`")
    if "packet._data = depayload(codec, packet.payload)" not in handler:
        missing.append("RTCRtpReceiver._handle_rtp_packet setting `packet._data` before the jitter buffer")
    for cls, method in (
        (RTCRtpReceiver, "_send_rtcp_pli"),
        (RTCRtpReceiver, "_send_rtcp"),
        (RTCRtpSender, "_handle_rtcp_packet"),
    ):
        if not inspect.iscoroutinefunction(getattr(cls, method, None)):
            missing.append(f"{cls.__name__}.{method} (a coroutine)")
    sender_next = inspect.getsource(RTCRtpSender._next_encoded_frame)
    if "self.__encoder.pack(data)" not in sender_next:
        missing.append("RTCRtpSender._next_encoded_frame handing non-frames to `encoder.pack()`")
    if missing:
        raise IncompatibleAiortc(
            f"media_worker.aiortc_hook was written for aiortc {AIORTC_SERIES}; this aiortc no longer has: "
            + "; ".join(missing)
        )


class _Unstarted:
    """Enough of a DTLS transport for a receiver to be built, not started."""

    state = "new"


class ReceiverTap:
    """An `RTCRtpReceiver` whose media comes out as encoded frames instead of decoded ones."""

    def __init__(self, receiver: RTCRtpReceiver, kind: str, on_frame: FrameCallback) -> None:
        self.receiver = receiver
        self.kind = kind
        self.on_frame = on_frame
        self._codecs: dict[int, Any] = getattr(receiver, _CODECS)
        self._assembler = FrameAssembler() if kind == "video" else None
        self._audio = AudioSequencer()
        self._timestamps = Unwrapper(32)
        self._ssrc: int | None = None
        self._bitrate_cap: int | None = None
        self._remb_sent: int | None = None  # the last estimate the source was told
        previous = getattr(receiver, _JITTER_BUFFER)
        # A receiver tapped again (a screen share that starts again on its m-line) wraps the
        # receiver's own RTCP sender, not the previous tap's cap.
        self._send_rtcp: Callable[[Any], Awaitable[None]] = (
            previous._send_rtcp if isinstance(previous, ReceiverTap) else receiver._send_rtcp
        )
        self._tasks: set[asyncio.Future[None]] = set()
        setattr(receiver, _JITTER_BUFFER, self)
        receiver._send_rtcp = self._send_rtcp_capped  # type: ignore[method-assign]

    @property
    def frames_dropped(self) -> int:
        return self._assembler.frames_dropped if self._assembler else 0

    # -- the receiver calls this in place of JitterBuffer.add ------------------------------

    def add(self, packet: RtpPacket) -> tuple[bool, None]:
        codec = self._codecs.get(packet.payload_type)
        if codec is None:
            return False, None
        self._ssrc = packet.ssrc
        now = time.monotonic()
        data: bytes = packet._data  # type: ignore[attr-defined]  # the depayloaded payload
        if self._assembler is None:
            timestamp = self._audio.push(packet.timestamp)
            if timestamp is not None and data:
                self.on_frame(EncodedFrame(codec.name, data, timestamp, codec.clockRate, True, False, now))
            return False, None
        give_up, frames = self._assembler.push(
            packet.sequence_number,
            packet.timestamp,
            bool(packet.marker),
            starts_frame(codec.name, packet.payload),
            data,
            now,
        )
        for frame in frames:
            self.on_frame(
                EncodedFrame(
                    codec.name,
                    frame.data,
                    self._timestamps.unwrap(frame.timestamp),
                    VIDEO_CLOCK_RATE,
                    is_keyframe(codec.name, frame.data),
                    frame.after_loss,
                    frame.arrived_at,
                )
            )
        return give_up, None  # True makes the receiver send a PLI itself

    # -- feedback to the browser that sends this stream ------------------------------------

    def request_keyframe(self) -> bool:
        """Sends a PLI to the source; False while no packet has named its SSRC yet."""
        if self._ssrc is None:
            return False
        self._spawn(self.receiver._send_rtcp_pli(self._ssrc))
        return True

    def cap_bitrate(self, bitrate: int | None) -> None:
        """Caps the REMB this receiver sends (the lowest estimate of the browsers it feeds). A
        cap below what the source was last told goes out at once; a higher one waits for the
        receiver's own estimate, which may be lower still."""
        self._bitrate_cap = bitrate
        rtcp_ssrc = getattr(self.receiver, _RTCP_SSRC)
        told = self._remb_sent
        if bitrate is not None and told is not None and bitrate < told and self._ssrc is not None:
            remb = RtcpPsfbPacket(
                fmt=RTCP_PSFB_APP, ssrc=rtcp_ssrc, media_ssrc=0, fci=pack_remb_fci(bitrate, [self._ssrc])
            )
            self._spawn(self._send_rtcp_capped(remb))

    async def _send_rtcp_capped(self, packet: Any) -> None:
        if isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
            try:
                bitrate, ssrcs = unpack_remb_fci(packet.fci)
            except ValueError:
                pass
            else:
                if self._bitrate_cap is not None and bitrate > self._bitrate_cap:
                    bitrate = self._bitrate_cap
                    packet.fci = pack_remb_fci(bitrate, ssrcs)
                self._remb_sent = bitrate
        await self._send_rtcp(packet)

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def tap_sender(
    sender: RTCRtpSender,
    on_keyframe_request: Callable[[], None],
    on_bitrate: Callable[[int], None],
) -> None:
    """Routes the receiving browser's keyframe requests and bandwidth estimate to the relay."""
    original = sender._handle_rtcp_packet

    async def handle(packet: Any) -> None:
        if isinstance(packet, RtcpPsfbPacket):
            if packet.fmt in (RTCP_PSFB_PLI, RTCP_PSFB_FIR):
                on_keyframe_request()
            elif packet.fmt == RTCP_PSFB_APP:
                try:
                    bitrate, ssrcs = unpack_remb_fci(packet.fci)
                except ValueError:
                    pass
                else:
                    if sender._ssrc in ssrcs:
                        on_bitrate(bitrate)
        await original(packet)  # RTT, NACK resends; a transcoding encoder also takes the hint

    sender._handle_rtcp_packet = handle  # type: ignore[method-assign]
