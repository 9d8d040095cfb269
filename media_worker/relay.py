"""The relay: how media from one participant reaches the other. The rest of the worker sees
only this small interface: publish what arrives, subscribe to what must leave, grab one frame.

This first implementation decodes every incoming frame and re-encodes it for the receiver
(aiortc's default path, most of a core per visit). Forwarding encoded frames, decoding only
the one a screenshot needs, can replace it behind the same interface.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from aiortc import MediaStreamTrack
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError
from av import VideoFrame
from av.frame import Frame
from av.packet import Packet

Source = tuple[str, str]  # (role, slot): ("patient", "video"), ("clinician", "screen") ...


class Relay(Protocol):
    def publish(self, source: Source, track: MediaStreamTrack) -> None: ...

    def unpublish(self, source: Source, track: MediaStreamTrack | None = None) -> None: ...

    def outgoing(self, source: Source, kind: str) -> MediaStreamTrack:
        """A track that carries whatever `source` publishes, now or later."""
        ...

    async def grab_frame(self, source: Source, timeout: float) -> VideoFrame: ...

    def close(self) -> None: ...


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
    """One relay per visit, built on aiortc's MediaRelay (decode once, fan out)."""

    def __init__(self) -> None:
        self._media = MediaRelay()
        self._sources: dict[Source, MediaStreamTrack] = {}
        self._outgoing: dict[Source, list[FollowingTrack]] = {}
        self._available: dict[Source, asyncio.Event] = {}

    def _event(self, source: Source) -> asyncio.Event:
        return self._available.setdefault(source, asyncio.Event())

    def publish(self, source: Source, track: MediaStreamTrack) -> None:
        self._sources[source] = track
        for follower in self._outgoing.get(source, []):
            follower.follow(self._media.subscribe(track, buffered=False))
        self._event(source).set()

    def unpublish(self, source: Source, track: MediaStreamTrack | None = None) -> None:
        if track is not None and self._sources.get(source) is not track:
            return
        self._sources.pop(source, None)
        self._event(source).clear()
        for follower in self._outgoing.get(source, []):
            follower.follow(None)

    def outgoing(self, source: Source, kind: str) -> MediaStreamTrack:
        follower = FollowingTrack(kind)
        self._outgoing.setdefault(source, []).append(follower)
        track = self._sources.get(source)
        if track is not None:
            follower.follow(self._media.subscribe(track, buffered=False))
        return follower

    async def grab_frame(self, source: Source, timeout: float) -> VideoFrame:
        async with asyncio.timeout(timeout):
            while True:
                await self._event(source).wait()
                track = self._sources.get(source)
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
