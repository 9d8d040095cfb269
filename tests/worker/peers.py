"""Synthetic browsers for worker tests: real aiortc peers with cameras that draw a known
pattern, so that a test can check the decoded pixels that arrive at the other end."""

from __future__ import annotations

import asyncio
import fractions
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from aiortc import (
    MediaStreamTrack,
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
    VideoStreamTrack,
)
from aiortc.mediastreams import AudioStreamTrack
from av import VideoFrame

# Left half, right half (RGB): easy to tell apart after VP8 compression.
PATIENT_PATTERN = ((220, 30, 30), (30, 30, 220))
CLINICIAN_PATTERN = ((30, 200, 30), (230, 230, 230))
SCREEN_PATTERN = ((240, 240, 20), (20, 20, 20))


class PatternCamera(VideoStreamTrack):
    """A camera whose every frame is two coloured halves, at a given size and rate."""

    def __init__(
        self, pattern: tuple[tuple[int, int, int], ...], width: int = 640, height: int = 480, fps: int = 30
    ):
        super().__init__()
        image = np.zeros((height, width, 3), dtype=np.uint8)
        image[:, : width // 2] = pattern[0]
        image[:, width // 2 :] = pattern[1]
        self._image = image
        self._fps = fps
        self._start: float | None = None
        self._count = 0

    async def recv(self) -> VideoFrame:
        if self._start is None:
            self._start = time.monotonic()
        self._count += 1
        wait = self._start + self._count / self._fps - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        frame = VideoFrame.from_ndarray(self._image, format="rgb24")
        frame.pts = self._count * (90000 // self._fps)
        frame.time_base = fractions.Fraction(1, 90000)
        return frame


def halves(frame: VideoFrame) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The mean colour of the left and right half (a margin away from the edge between them)."""
    image = frame.to_ndarray(format="rgb24")
    w = image.shape[1]
    left = image[:, : w // 2 - w // 16].reshape(-1, 3).mean(axis=0)
    right = image[:, w // 2 + w // 16 :].reshape(-1, 3).mean(axis=0)
    return tuple(float(v) for v in left), tuple(float(v) for v in right)


def looks_like(frame: VideoFrame, pattern: tuple[tuple[int, int, int], ...], tolerance: float = 30) -> bool:
    left, right = halves(frame)
    return all(abs(a - b) <= tolerance for a, b in zip(left, pattern[0], strict=True)) and all(
        abs(a - b) <= tolerance for a, b in zip(right, pattern[1], strict=True)
    )


@dataclass
class FakeBrowser:
    """One browser tab's RTCPeerConnection to the worker, set up like the pages do."""

    role: str
    camera: MediaStreamTrack
    connection_id: str
    peer_id: str = "p1"
    # Chromium bundles every m-line on one transport; so do these fake browsers. No STUN:
    # everything is on this machine.
    pc: RTCPeerConnection = field(
        default_factory=lambda: RTCPeerConnection(
            RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
        )
    )
    received: dict[int, MediaStreamTrack] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.pc.addTransceiver(AudioStreamTrack(), direction="sendrecv")
        self.pc.addTransceiver(self.camera, direction="sendrecv")
        if self.role == "patient":
            self.pc.addTransceiver("video", direction="recvonly")  # the clinician's screen share

        @self.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            for index, transceiver in enumerate(self.pc.getTransceivers()):
                if transceiver.receiver.track is track:
                    self.received[index] = track

    @property
    def browser_peer(self) -> tuple[str, str]:
        return (self.connection_id, self.peer_id)

    async def offer_message(self, appointment_id: str) -> dict[str, Any]:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return {
            "type": "offer",
            "appointment_id": appointment_id,
            "role": self.role,
            "from": self.connection_id,
            "peer_id": self.peer_id,
            "sdp": self.pc.localDescription.sdp,
        }

    async def accept(self, answer: dict[str, Any]) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))

    async def frame_on(self, index: int, timeout: float = 15) -> VideoFrame:
        async with asyncio.timeout(timeout):
            while index not in self.received:
                await asyncio.sleep(0.05)
            while True:
                frame = await self.received[index].recv()
                if isinstance(frame, VideoFrame):
                    return frame

    async def sees(
        self, index: int, pattern: tuple[tuple[int, int, int], ...], tries: int = 60
    ) -> VideoFrame:
        """The first frame on m-line `index` that shows `pattern` (the first may still settle)."""
        frame = await self.frame_on(index)
        for _ in range(tries):
            if looks_like(frame, pattern):
                return frame
            frame = await self.frame_on(index)
        raise AssertionError(f"m-line {index} never showed the pattern; last halves {halves(frame)}")

    async def close(self) -> None:
        await self.pc.close()
