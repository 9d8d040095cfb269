"""Encoded media as the forwarding relay sees it: whole frames rebuilt from RTP packets.

The relay forwards what browsers encoded instead of decoding it, so it must know three things
about each frame without a decoder: that it is whole, whether it is a keyframe (where a
receiver may start), and whether frames were lost before it (then a receiver must wait for the
next keyframe, or it decodes garbage). This module answers them from the RTP packets and the
codec's payload format alone. It is pure logic: no aiortc internals, no I/O, no clock of its
own; `aiortc_hook` feeds it the packets.
"""

from __future__ import annotations

from dataclasses import dataclass

VIDEO_CLOCK_RATE = 90_000
# A frame whose packets are still incomplete after this long is given up: aiortc sends one NACK
# per gap, so a retransmission lost too would otherwise hold every later frame back.
HOLE_TIMEOUT_SECONDS = 0.4
# Packets held while a frame waits for a missing one (about 1.5 s of a 1 Mbit/s camera).
ASSEMBLER_CAPACITY = 1024


@dataclass(frozen=True, slots=True)
class EncodedFrame:
    """One frame as the browser encoded it (VP8, H264) or one Opus packet."""

    codec: str  # "VP8", "H264" or "opus": what a receiver's leg must share to take it as is
    data: bytes  # VP8 frame, H264 access unit (Annex B, 4-byte start codes) or Opus packet
    timestamp: int  # in the codec's clock, unwrapped: only ever grows within one source
    clock_rate: int
    keyframe: bool  # a receiver can start decoding here (always true for audio)
    after_loss: bool  # frames were lost just before this one: the stream is broken until a keyframe
    arrived_at: float  # monotonic seconds, when the last of its packets arrived (it was whole)


def is_keyframe(codec: str, data: bytes) -> bool:
    if codec == "VP8":
        # RFC 6386 9.1: a clear P bit and the start code 9d 01 2a mark a key frame.
        return len(data) >= 6 and not data[0] & 0x01 and data[3:6] == b"\x9d\x01\x2a"
    if codec == "H264":
        return any(nal_type == 5 for nal_type in h264_nal_types(data))  # an IDR slice
    return True


def h264_nal_types(access_unit: bytes) -> list[int]:
    """The NAL unit types of an Annex B access unit, in order."""
    types = []
    start = access_unit.find(b"\x00\x00\x01")
    while start != -1 and start + 3 < len(access_unit):
        types.append(access_unit[start + 3] & 0x1F)
        start = access_unit.find(b"\x00\x00\x01", start + 3)
    return types


def starts_frame(codec: str, payload: bytes) -> bool:
    """Whether an RTP payload is certainly the first packet of a frame (RFC 7741, RFC 6184).

    Used only to find a frame boundary after a loss; otherwise the marker bit of the packet
    before says where a frame begins. For H264 only the starts of keyframes are recognised
    (parameter sets or an IDR slice), which is all a receiver can start from anyway.
    """
    if not payload:
        return False
    if codec == "VP8":
        return bool(payload[0] & 0x10) and payload[0] & 0x07 == 0  # S bit, partition 0
    if codec == "H264":
        nal_type = payload[0] & 0x1F
        if nal_type == 24:  # STAP-A: look at its first NAL unit
            return len(payload) > 3 and payload[3] & 0x1F in (5, 6, 7, 8, 9)
        if nal_type == 28:  # FU-A: the first fragment of an IDR slice
            return len(payload) > 1 and bool(payload[1] & 0x80) and payload[1] & 0x1F == 5
        return nal_type in (5, 6, 7, 8, 9)
    return True


class Unwrapper:
    """Extends RTP's wrapping counters (16-bit sequence numbers, 32-bit timestamps) to ints
    that keep growing, taking the nearer of the candidates around the last value."""

    def __init__(self, bits: int) -> None:
        self._modulus = 1 << bits
        self._half = 1 << (bits - 1)
        self._last: int | None = None

    def unwrap(self, value: int) -> int:
        if self._last is None:
            self._last = value
            return value
        delta = (value - self._last) % self._modulus
        if delta >= self._half:
            delta -= self._modulus
        extended = self._last + delta
        if extended > self._last:
            self._last = extended
        return extended


@dataclass(slots=True)
class _Packet:
    timestamp: int
    marker: bool
    starts: bool
    data: bytes
    arrived_at: float


@dataclass(frozen=True, slots=True)
class AssembledFrame:
    data: bytes
    timestamp: int
    after_loss: bool
    arrived_at: float


class FrameAssembler:
    """Rebuilds video frames from RTP packets and hands each out as soon as it is whole.

    A frame is the run of packets from the one after the previous frame's marker up to its
    own marker, all with one timestamp and none missing. It is handed out the moment its last
    packet arrives (aiortc's own jitter buffer waits for the next frame's first packet, a whole
    frame interval). A frame still missing a packet after `hole_timeout` seconds, or when the
    buffer is full, is dropped together with everything up to the next frame start, the next
    frame is flagged `after_loss`, and `push` asks for a keyframe.
    """

    def __init__(
        self,
        hole_timeout: float = HOLE_TIMEOUT_SECONDS,
        capacity: int = ASSEMBLER_CAPACITY,
    ) -> None:
        self._hole_timeout = hole_timeout
        self._capacity = capacity
        self._sequence = Unwrapper(16)
        self._packets: dict[int, _Packet] = {}
        self._highest = -1
        self._next: int | None = None  # where the next frame starts; None: not known (resync)
        self._scanned = 0  # packets from _next on already known to be present, one timestamp
        self._blocked_since: float | None = None
        self._loss = True  # nothing was handed out yet: the first frame must be a keyframe
        self.frames_dropped = 0

    def push(
        self,
        sequence_number: int,
        timestamp: int,
        marker: bool,
        starts: bool,
        data: bytes,
        now: float,
    ) -> tuple[bool, list[AssembledFrame]]:
        """Adds one packet; returns (ask for a keyframe, frames now whole, oldest first)."""
        seq = self._sequence.unwrap(sequence_number)
        if seq in self._packets or (self._next is not None and seq < self._next):
            return False, []  # a duplicate, or a retransmission that came too late
        self._packets[seq] = _Packet(timestamp, marker, starts, data, now)
        self._highest = max(self._highest, seq)
        if self._next is None:
            self._resync()
        frames = self._take_whole_frames()
        blocked = bool(self._packets) and (self._next is None or self._highest >= self._next + self._scanned)
        if frames or not blocked:  # a hole filled with no frame out yet also restarts the clock
            self._blocked_since = None
        elif self._blocked_since is None:
            self._blocked_since = now
        give_up = len(self._packets) > self._capacity or (
            self._blocked_since is not None and now - self._blocked_since > self._hole_timeout
        )
        if give_up:
            self._give_up()
            frames += self._take_whole_frames()
        return give_up, frames

    def _take_whole_frames(self) -> list[AssembledFrame]:
        frames = []
        while self._next is not None:
            first = self._packets.get(self._next)
            if first is None:
                break
            end = None
            seq = self._next + self._scanned
            while (packet := self._packets.get(seq)) is not None:
                if packet.timestamp != first.timestamp:
                    end = seq  # the marker was not set; the timestamp still ends the frame
                    break
                self._scanned += 1
                seq += 1
                if packet.marker:
                    end = seq
                    break
            if end is None:
                break
            parts = [self._packets.pop(s) for s in range(self._next, end)]
            data = b"".join(p.data for p in parts)
            frames.append(AssembledFrame(data, first.timestamp, self._loss, max(p.arrived_at for p in parts)))
            self._loss = False
            self._next, self._scanned = end, 0
        return frames

    def _give_up(self) -> None:
        """Drops the frame that cannot be completed and finds where the next one starts."""
        self.frames_dropped += 1
        self._loss = True
        self._blocked_since = None
        if self._next is not None:
            self._packets.pop(self._next, None)  # the stuck frame's head, if it has one
            for seq in [s for s in self._packets if s < self._next + self._scanned]:
                del self._packets[seq]
        self._next, self._scanned = None, 0
        self._resync()
        while len(self._packets) > self._capacity:  # still full: nothing in it was a frame start
            del self._packets[min(self._packets)]

    def _resync(self) -> None:
        """After a loss (or at the start): the first packet known to begin a frame."""
        for seq in sorted(self._packets):
            packet = self._packets[seq]
            before = self._packets.get(seq - 1)
            after_boundary = before is not None and (before.marker or before.timestamp != packet.timestamp)
            if packet.starts or after_boundary:
                for older in [s for s in self._packets if s < seq]:
                    del self._packets[older]
                self._next, self._scanned = seq, 0
                return


class AudioSequencer:
    """Opus goes out packet by packet, as it arrives: no jitter buffer waits to fill. Only a
    packet older than one already forwarded (reordered or a duplicate) is dropped; the
    receiving browser's own jitter buffer conceals the gap."""

    def __init__(self) -> None:
        self._timestamps = Unwrapper(32)
        self._last: int | None = None

    def push(self, timestamp: int) -> int | None:
        """The unwrapped timestamp to forward the packet with, or None to drop it."""
        extended = self._timestamps.unwrap(timestamp)
        if self._last is not None and extended <= self._last:
            return None
        self._last = extended
        return extended
