"""The relay: how media from each participant reaches the others. The rest of the worker sees
only this small interface: publish what a transceiver receives, subscribe a transceiver's
sender to a source (or idle it), grab one decoded frame for a screenshot. Each receiver's
sender has a track of its own, so keyframes, loss and codecs are handled per receiver.

`ForwardingRelay` (the product's) forwards the frames as the browsers encoded them: no decoder
and no encoder runs for a stream whose two legs share a codec. It decodes only what a
screenshot needs, and transcodes one stream only when its legs share no codec (logged and
counted). `DecodingRelay` is aiortc's decode-and-re-encode path, kept so that the benchmark can
set the two side by side (`ECLINIC_WORKER_RELAY=decoding`).

The forwarding relay's parts (a source, the track each sender sends, the timeline and the
transcoder) are in `forwarding.py`; this module is the interface, the two relays and the
registry the worker picks one from.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

import av
from aiortc import MediaStreamTrack, RTCRtpTransceiver
from aiortc.contrib.media import MediaRelay
from aiortc.jitterbuffer import JitterFrame
from aiortc.mediastreams import MediaStreamError
from av import VideoFrame
from av.frame import Frame
from av.packet import Packet

from media_worker.aiortc_hook import tap_sender
from media_worker.forwarding import ForwardingTrack, Source, SourceKey, decoder_for
from media_worker.frames import EncodedFrame

log = logging.getLogger("media_worker.relay")

# Delays (frame whole -> handed to the sender) kept for the benchmark, per kind.
DELAY_SAMPLES = 5000


class Relay(Protocol):
    transcoded_streams: int

    def publish(self, key: SourceKey, transceiver: RTCRtpTransceiver) -> None: ...

    def unpublish(self, key: SourceKey, transceiver: RTCRtpTransceiver) -> None: ...

    def subscribe(self, key: SourceKey, transceiver: RTCRtpTransceiver, codec: str) -> None:
        """Feeds the transceiver's sender (negotiated `codec`) with whatever `key` publishes;
        a sender already fed goes on untouched, one unsubscribed takes frames again."""
        ...

    def unsubscribe(self, transceiver: RTCRtpTransceiver) -> None:
        """Idles the transceiver's sender (its m-line went `inactive`) until subscribed again."""
        ...

    async def grab_frame(self, key: SourceKey, timeout: float) -> VideoFrame: ...

    def close(self) -> None: ...


# -- forwarding ----------------------------------------------------------------------------


class ForwardingRelay:
    """One relay per visit: the sources of every participant and the senders they feed."""

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
        current = transceiver.sender.track
        if isinstance(current, ForwardingTrack):
            # An m-line's source never changes (eclinic_protocol.mlines), nor its codec once
            # its sender runs: only an idle track needs anything, a keyframe to start from.
            if current.resume():
                current.source.request_keyframe()
            return
        source = self.source(key)
        track = ForwardingTrack(source, codec, self._transcoding, self.delays[source.kind])
        source.tracks.append(track)
        tap_sender(transceiver.sender, track.request_keyframe, track.report_bitrate)
        transceiver.sender.replaceTrack(track)
        source.request_keyframe()

    def unsubscribe(self, transceiver: RTCRtpTransceiver) -> None:
        track = transceiver.sender.track
        if isinstance(track, ForwardingTrack):
            track.pause()

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
        current = transceiver.sender.track
        follower = current if isinstance(current, FollowingTrack) else FollowingTrack(transceiver.kind)
        followers = self._outgoing.setdefault(key, [])
        if follower in followers:
            return
        followers.append(follower)
        track = self._sources.get(key)
        if track is not None:
            follower.follow(self._media.subscribe(track, buffered=False))
        if follower is not current:
            transceiver.sender.replaceTrack(follower)

    def unsubscribe(self, transceiver: RTCRtpTransceiver) -> None:
        follower = transceiver.sender.track
        if not isinstance(follower, FollowingTrack):
            return
        for followers in self._outgoing.values():
            if follower in followers:
                followers.remove(follower)
        follower.follow(None)

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
