"""Forwarding: one source's encoded frames to each of its receivers, as the browsers encoded
them. A `Source` is a participant's camera, microphone or screen (it outlives a reload and asks
its browser for keyframes, at most so often); a `ForwardingTrack` is what one sender sends, from
a keyframe on, on a timeline that stays continuous while the source changes; a `Transcoder`
decodes the one stream whose legs share no codec. `relay.ForwardingRelay` wires them per visit.
"""

from __future__ import annotations

import asyncio
import fractions
import math
import time
from collections import deque
from typing import Any

import av
from aiortc import MediaStreamTrack, RTCRtpCodecParameters, RTCRtpReceiver
from aiortc.codecs import get_decoder
from aiortc.jitterbuffer import JitterFrame
from aiortc.mediastreams import MediaStreamError
from av.frame import Frame
from av.packet import Packet

from media_worker.aiortc_hook import ReceiverTap
from media_worker.frames import EncodedFrame

SourceKey = tuple[str, str]  # (seat, slot): ("patient", "video"), ("guest-1", "audio") ...

# A keyframe costs the source's uplink several frames' worth: ask at most this often.
KEYFRAME_REQUEST_INTERVAL_SECONDS = 0.3
# Frames since the last keyframe kept for a screenshot (5 s at 30 fps); past that a screenshot
# asks for a fresh keyframe rather than decode this many.
MAX_KEPT_FRAMES = 150
# What may wait for one receiver's sender; a video receiver that falls this far behind starts
# again from the next keyframe, an audio one loses its oldest packets.
QUEUE_LIMIT = {"video": 60, "audio": 50}


class Source:
    """One participant's camera, microphone or screen, as published by their current peer
    connection. It outlives that connection: a reload publishes again into the same source,
    which is what lets a receiver's stream continue."""

    def __init__(self, key: SourceKey, kind: str) -> None:
        self.key = key
        self.kind = kind
        self.tap: ReceiverTap | None = None
        self.generation = 0  # raised on every (re)publish: a receiver must start from a keyframe
        self.tracks: list[ForwardingTrack] = []
        self.kept: list[EncodedFrame] = []  # since the last keyframe, for a screenshot
        self.keyframe_kept = asyncio.Event()
        self.keyframes_requested = 0
        self._bitrate_caps: dict[ForwardingTrack, int] = {}
        self._last_request = -math.inf
        self._pending_request: asyncio.TimerHandle | None = None

    def attach(self, receiver: RTCRtpReceiver) -> None:
        """Takes the source's media from now on from this receiver (a new peer connection, or
        a new m-line when a screen share starts again)."""
        self.generation += 1
        generation = self.generation
        self.tap = ReceiverTap(receiver, self.kind, lambda frame: self._on_frame(generation, frame))
        self._forget_kept()
        self._apply_bitrate_cap()

    def detach(self, receiver: RTCRtpReceiver) -> None:
        if self.tap is not None and self.tap.receiver is receiver:
            self.tap = None
            self.generation += 1
            self._forget_kept()

    def _on_frame(self, generation: int, frame: EncodedFrame) -> None:
        if generation != self.generation:
            return  # a connection that was replaced, still draining
        if self.kind == "video":
            if frame.keyframe:
                self.kept = [frame]
                self.keyframe_kept.set()
            elif self.kept and not frame.after_loss and len(self.kept) < MAX_KEPT_FRAMES:
                self.kept.append(frame)
            elif self.kept:
                self._forget_kept()
        for track in list(self.tracks):
            if track.readyState != "live":
                self.remove(track)
            else:
                track.deliver(frame, generation)

    def _forget_kept(self) -> None:
        self.kept = []
        self.keyframe_kept.clear()

    def request_keyframe(self) -> None:
        """Asks the source's browser for a keyframe, at most once per interval: a request that
        comes sooner is sent when the interval ends."""
        if self.kind != "video" or self.tap is None or self._pending_request is not None:
            return
        wait = self._last_request + KEYFRAME_REQUEST_INTERVAL_SECONDS - time.monotonic()
        if wait > 0:
            self._pending_request = asyncio.get_running_loop().call_later(wait, self._send_pending)
            return
        if self.tap.request_keyframe():
            self._last_request = time.monotonic()
            self.keyframes_requested += 1

    def _send_pending(self) -> None:
        self._pending_request = None
        self.request_keyframe()

    def report_bitrate(self, track: ForwardingTrack, bitrate: int) -> None:
        """A receiving browser's estimate (REMB): the source sends no more than its slowest receiver takes."""
        self._bitrate_caps[track] = bitrate
        self._apply_bitrate_cap()

    def remove(self, track: ForwardingTrack) -> None:
        if track in self.tracks:
            self.tracks.remove(track)
        if self._bitrate_caps.pop(track, None) is not None:
            self._apply_bitrate_cap()

    def _apply_bitrate_cap(self) -> None:
        if self.tap is not None and self.kind == "video":
            self.tap.cap_bitrate(min(self._bitrate_caps.values(), default=None))

    def close(self) -> None:
        if self._pending_request is not None:
            self._pending_request.cancel()
            self._pending_request = None
        for track in list(self.tracks):
            track.stop()
        self.tracks.clear()
        self.tap = None


class Timeline:
    """Keeps one receiver's timestamps continuous while its source changes (a reload, a
    screen share turned off and on): a new source generation continues where the last one
    stopped, advanced by the time that passed in between."""

    def __init__(self) -> None:
        self._generation: int | None = None
        self._offset = 0
        self._last: int | None = None
        self._last_arrival = 0.0

    def place(self, frame: EncodedFrame, generation: int) -> int:
        if generation != self._generation:
            if self._last is None:
                self._offset = -frame.timestamp
            else:
                elapsed = max(1, round((frame.arrived_at - self._last_arrival) * frame.clock_rate))
                self._offset = self._last + elapsed - frame.timestamp
            self._generation = generation
        placed = frame.timestamp + self._offset
        if self._last is not None and placed <= self._last:
            placed = self._last + 1
        self._last, self._last_arrival = placed, frame.arrived_at
        return placed


class Transcoder:
    """Decodes one stream whose receiver shares no codec with its source; the receiver's
    sender then encodes the decoded frames in its own codec."""

    def __init__(self, kind: str, frame: EncodedFrame) -> None:
        self.codec = frame.codec
        self._decoder = decoder_for(kind, frame)

    async def decode(self, frame: EncodedFrame, pts: int) -> list[Frame]:
        return await asyncio.get_running_loop().run_in_executor(
            None, self._decoder.decode, JitterFrame(frame.data, pts)
        )


class ForwardingTrack(MediaStreamTrack):
    """What one sender sends: a source's encoded frames, from a keyframe on, as `av.Packet`s
    that the sender only packetises. Decoded frames only when the codecs differ."""

    def __init__(self, source: Source, codec: str, on_transcode: Any, delays: deque[float]) -> None:
        super().__init__()
        self.kind = source.kind
        self.codec = codec
        self._source = source
        self._on_transcode = on_transcode
        self._delays = delays
        self._queue: deque[tuple[EncodedFrame, int]] = deque()
        self._limit = QUEUE_LIMIT[source.kind]
        self._arrived = asyncio.Event()
        self._needs_keyframe = True
        self._generation: int | None = None
        self._timeline = Timeline()
        self._transcoder: Transcoder | None = None
        self._decoded: deque[Frame] = deque()
        self.frames_forwarded = 0

    def deliver(self, frame: EncodedFrame, generation: int) -> None:
        if self.kind == "video":
            if generation != self._generation or frame.after_loss:
                self._generation = generation
                self._needs_keyframe = True
            if self._needs_keyframe and not frame.keyframe:
                self._source.request_keyframe()
                return
            self._needs_keyframe = False
        if len(self._queue) >= self._limit:
            if self.kind == "video":
                self._queue.clear()
                if not frame.keyframe:
                    self._needs_keyframe = True
                    self._source.request_keyframe()
                    return
            else:
                self._queue.popleft()
        self._queue.append((frame, generation))
        self._arrived.set()

    @property
    def source(self) -> Source:
        return self._source

    def pause(self) -> None:
        """Idles the track (its m-line went `inactive`, its seat empty): it takes no frames and
        its sender waits, alive, for `resume`. Stopping it would end the sender for good."""
        self._source.remove(self)
        self._queue.clear()
        self._needs_keyframe = True

    def resume(self) -> bool:
        """Takes frames again, from a keyframe; False when it was not paused."""
        if self in self._source.tracks:
            return False
        self._source.tracks.append(self)
        self._needs_keyframe = True
        return True

    def request_keyframe(self) -> None:
        self._source.request_keyframe()

    def report_bitrate(self, bitrate: int) -> None:
        self._source.report_bitrate(self, bitrate)

    async def recv(self) -> Frame | Packet[Any]:
        while True:
            if self.readyState != "live":
                raise MediaStreamError
            if self._decoded:
                return self._decoded.popleft()
            if not self._queue:
                self._arrived.clear()
                await self._arrived.wait()
                continue
            frame, generation = self._queue.popleft()
            pts = self._timeline.place(frame, generation)
            self.frames_forwarded += 1
            if frame.codec == self.codec:
                self._delays.append(time.monotonic() - frame.arrived_at)
                packet = av.Packet(frame.data)
                packet.pts = pts
                packet.time_base = fractions.Fraction(1, frame.clock_rate)
                return packet
            if self._transcoder is None or self._transcoder.codec != frame.codec:
                self._transcoder = Transcoder(self.kind, frame)
                self._on_transcode(self._source.key, frame.codec, self.codec)
            self._decoded.extend(await self._transcoder.decode(frame, pts))

    def stop(self) -> None:
        super().stop()
        self._source.remove(self)
        self._arrived.set()


def decoder_for(kind: str, frame: EncodedFrame) -> Any:
    """aiortc's own decoder for the frame's codec (libvpx, FFmpeg's h264, libopus)."""
    return get_decoder(RTCRtpCodecParameters(mimeType=f"{kind}/{frame.codec}", clockRate=frame.clock_rate))
