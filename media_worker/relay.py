"""The relay: how media from one participant reaches the other. The rest of the worker sees
only this small interface: publish what a transceiver receives, subscribe a transceiver's
sender to a source, grab one decoded frame for a screenshot.

`ForwardingRelay` (the product's) forwards the frames as the browsers encoded them: no decoder
and no encoder runs for a stream whose two legs share a codec. It decodes only what a
screenshot needs, and transcodes one stream only when its legs share no codec (logged and
counted). `DecodingRelay` is aiortc's decode-and-re-encode path, kept so that the benchmark can
set the two side by side (`ECLINIC_WORKER_RELAY=decoding`).
"""

from __future__ import annotations

import asyncio
import fractions
import logging
import math
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

import av
from aiortc import MediaStreamTrack, RTCRtpCodecParameters, RTCRtpReceiver, RTCRtpTransceiver
from aiortc.codecs import get_decoder
from aiortc.contrib.media import MediaRelay
from aiortc.jitterbuffer import JitterFrame
from aiortc.mediastreams import MediaStreamError
from av import VideoFrame
from av.frame import Frame
from av.packet import Packet

from media_worker.aiortc_hook import ReceiverTap, tap_sender
from media_worker.frames import EncodedFrame

log = logging.getLogger("media_worker.relay")

SourceKey = tuple[str, str]  # (role, slot): ("patient", "video"), ("clinician", "screen") ...

# A keyframe costs the source's uplink several frames' worth: ask at most this often.
KEYFRAME_REQUEST_INTERVAL_SECONDS = 0.3
# Frames since the last keyframe kept for a screenshot (5 s at 30 fps); past that a screenshot
# asks for a fresh keyframe rather than decode this many.
MAX_KEPT_FRAMES = 150
# Delays (frame whole -> handed to the sender) kept for the benchmark, per kind.
DELAY_SAMPLES = 5000
# What may wait for one receiver's sender; a video receiver that falls this far behind starts
# again from the next keyframe, an audio one loses its oldest packets.
QUEUE_LIMIT = {"video": 60, "audio": 50}


class Relay(Protocol):
    transcoded_streams: int

    def publish(self, key: SourceKey, transceiver: RTCRtpTransceiver) -> None: ...

    def unpublish(self, key: SourceKey, transceiver: RTCRtpTransceiver) -> None: ...

    def subscribe(self, key: SourceKey, transceiver: RTCRtpTransceiver, codec: str) -> None:
        """Feeds the transceiver's sender (negotiated `codec`) with whatever `key` publishes."""
        ...

    async def grab_frame(self, key: SourceKey, timeout: float) -> VideoFrame: ...

    def close(self) -> None: ...


# -- forwarding ----------------------------------------------------------------------------


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


class ForwardingRelay:
    """One relay per visit: the sources of both participants and the senders they feed."""

    def __init__(self) -> None:
        self._sources: dict[SourceKey, Source] = {}
        self.transcoded_streams = 0
        # How long a whole frame (an Opus packet, a video frame) waited in the relay.
        self.delays: dict[str, deque[float]] = {
            "audio": deque(maxlen=DELAY_SAMPLES),
            "video": deque(maxlen=DELAY_SAMPLES),
        }

    def source(self, key: SourceKey) -> Source:
        if key not in self._sources:
            self._sources[key] = Source(key, "audio" if key[1] == "audio" else "video")
        return self._sources[key]

    def publish(self, key: SourceKey, transceiver: RTCRtpTransceiver) -> None:
        source = self.source(key)
        source.attach(transceiver.receiver)
        source.request_keyframe()

    def unpublish(self, key: SourceKey, transceiver: RTCRtpTransceiver) -> None:
        if key in self._sources:
            self._sources[key].detach(transceiver.receiver)

    def subscribe(self, key: SourceKey, transceiver: RTCRtpTransceiver, codec: str) -> None:
        source = self.source(key)
        track = ForwardingTrack(source, codec, self._transcoding, self.delays[source.kind])
        source.tracks.append(track)
        tap_sender(transceiver.sender, track.request_keyframe, track.report_bitrate)
        transceiver.sender.replaceTrack(track)
        source.request_keyframe()

    def _transcoding(self, key: SourceKey, source_codec: str, receiver_codec: str) -> None:
        self.transcoded_streams += 1
        log.warning(
            "no codec shared: transcoding %s/%s from %s to %s", key[0], key[1], source_codec, receiver_codec
        )

    async def grab_frame(self, key: SourceKey, timeout: float) -> VideoFrame:
        """The source's current picture, decoded from the frames kept since its last keyframe."""
        source = self.source(key)
        async with asyncio.timeout(timeout):
            while True:
                if not source.kept:
                    source.request_keyframe()
                    await source.keyframe_kept.wait()
                    continue
                frames = list(source.kept)
                picture = await asyncio.get_running_loop().run_in_executor(None, _decode_last, frames)
                if picture is not None:
                    return picture
                source.kept = []  # undecodable: wait for the next keyframe
                source.keyframe_kept.clear()

    def close(self) -> None:
        for source in self._sources.values():
            source.close()
        self._sources.clear()


def decoder_for(kind: str, frame: EncodedFrame) -> Any:
    """aiortc's own decoder for the frame's codec (libvpx, FFmpeg's h264, libopus)."""
    return get_decoder(RTCRtpCodecParameters(mimeType=f"{kind}/{frame.codec}", clockRate=frame.clock_rate))


def _decode_last(frames: list[EncodedFrame]) -> VideoFrame | None:
    """Decodes a run that starts at a keyframe (in a thread) and returns its last picture."""
    decoder = decoder_for("video", frames[0])
    picture = None
    for frame in frames:
        try:
            for decoded in decoder.decode(JitterFrame(frame.data, frame.timestamp)):
                if isinstance(decoded, VideoFrame):
                    picture = decoded
        except av.FFmpegError:
            return None
    return picture


# -- decoding (aiortc's default path, for comparison) --------------------------------------


class FollowingTrack(MediaStreamTrack):
    """An outgoing track that follows a source which may come, go and change (a reload, a
    screen share turned on or off). Without a source it waits instead of sending."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self._source: MediaStreamTrack | None = None
        self._changed = asyncio.Event()

    def follow(self, source: MediaStreamTrack | None) -> None:
        previous, self._source = self._source, source
        if previous is not None and previous is not source:
            previous.stop()  # a relay subscription nobody reads would buffer for ever
        self._changed.set()

    async def recv(self) -> Frame | Packet[Any]:
        while True:
            if self.readyState != "live":
                raise MediaStreamError
            source = self._source
            if source is None:
                self._changed.clear()
                await self._changed.wait()
                continue
            self._changed.clear()
            receiving = asyncio.ensure_future(source.recv())
            changed = asyncio.ensure_future(self._changed.wait())
            done, _ = await asyncio.wait({receiving, changed}, return_when=asyncio.FIRST_COMPLETED)
            if receiving not in done:
                receiving.cancel()
                continue
            changed.cancel()
            try:
                frame = receiving.result()
            except MediaStreamError:
                if self._source is source:
                    self._source = None
                continue
            return frame


class DecodingRelay:
    """aiortc's MediaRelay: every frame decoded once and re-encoded for the receiver."""

    def __init__(self) -> None:
        self._media = MediaRelay()
        self._sources: dict[SourceKey, MediaStreamTrack] = {}
        self._outgoing: dict[SourceKey, list[FollowingTrack]] = {}
        self._available: dict[SourceKey, asyncio.Event] = {}
        self.transcoded_streams = 0

    def _event(self, key: SourceKey) -> asyncio.Event:
        return self._available.setdefault(key, asyncio.Event())

    def publish(self, key: SourceKey, transceiver: RTCRtpTransceiver) -> None:
        track = transceiver.receiver.track
        self._sources[key] = track
        for follower in self._outgoing.get(key, []):
            follower.follow(self._media.subscribe(track, buffered=False))
        self._event(key).set()

    def unpublish(self, key: SourceKey, transceiver: RTCRtpTransceiver) -> None:
        if self._sources.get(key) is not transceiver.receiver.track:
            return
        self._sources.pop(key, None)
        self._event(key).clear()
        for follower in self._outgoing.get(key, []):
            follower.follow(None)

    def subscribe(self, key: SourceKey, transceiver: RTCRtpTransceiver, codec: str) -> None:
        follower = FollowingTrack(transceiver.kind)
        self._outgoing.setdefault(key, []).append(follower)
        track = self._sources.get(key)
        if track is not None:
            follower.follow(self._media.subscribe(track, buffered=False))
        transceiver.sender.replaceTrack(follower)

    async def grab_frame(self, key: SourceKey, timeout: float) -> VideoFrame:
        async with asyncio.timeout(timeout):
            while True:
                await self._event(key).wait()
                track = self._sources.get(key)
                if track is None:
                    continue
                tap = self._media.subscribe(track, buffered=False)
                try:
                    frame = await tap.recv()
                except MediaStreamError:
                    continue
                finally:
                    tap.stop()
                if isinstance(frame, VideoFrame):
                    return frame

    def close(self) -> None:
        for followers in self._outgoing.values():
            for follower in followers:
                follower.stop()
        self._outgoing.clear()
        self._sources.clear()


RELAYS: dict[str, Callable[[], Relay]] = {"forwarding": ForwardingRelay, "decoding": DecodingRelay}
