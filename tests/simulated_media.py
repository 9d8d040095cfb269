"""What the simulated browsers send and how a test reads what they receive: cameras that draw
a known pattern and microphones that play a known tone, one of each per seat (so that a test
can check the decoded pixels and pitch at the other end, and whose they are), clips encoded
once and replayed (so that a test can compare the exact bytes that arrive, and a benchmark's
browsers cost little more than packetising), and the checks of a decoded frame's pattern.
The browsers themselves are in tests/simulated_browser.py."""

from __future__ import annotations

import asyncio
import fractions
import functools
import hashlib
import re
import time
from typing import Any

import av
import numpy as np
from aiortc import AudioStreamTrack, MediaStreamTrack, VideoStreamTrack
from av import VideoFrame
from av.frame import Frame

# Left half, right half (RGB): easy to tell apart after VP8 compression.
PATIENT_PATTERN = ((220, 30, 30), (30, 30, 220))
CLINICIAN_PATTERN = ((30, 200, 30), (230, 230, 230))
SCREEN_PATTERN = ((240, 240, 20), (20, 20, 20))
GUEST_1_PATTERN = ((30, 200, 200), (200, 30, 200))
GUEST_2_PATTERN = ((20, 20, 120), (250, 160, 60))
# Each seat's camera draws its own pattern and its microphone plays its own tone, so that a
# receiver can tell whose media reached each of its m-lines.
SEAT_PATTERNS = {
    "clinician": CLINICIAN_PATTERN,
    "patient": PATIENT_PATTERN,
    "guest-1": GUEST_1_PATTERN,
    "guest-2": GUEST_2_PATTERN,
}
SEAT_TONES = {"clinician": 300.0, "patient": 500.0, "guest-1": 700.0, "guest-2": 900.0}


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
        self._first_at: float | None = None
        self._count = 0

    async def recv(self) -> VideoFrame:
        if self._first_at is None:
            self._first_at = time.monotonic()
        self._count += 1
        wait = self._first_at + self._count / self._fps - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        frame = VideoFrame.from_ndarray(self._image, format="rgb24")
        frame.pts = self._count * (90000 // self._fps)
        frame.time_base = fractions.Fraction(1, 90000)
        return frame


def pattern_image(pattern: tuple[tuple[int, int, int], ...], width: int, height: int, shift: int = 0) -> Any:
    image = np.zeros((height, width, 3), dtype=np.uint8)
    image[:, : width // 2] = pattern[0]
    image[:, width // 2 :] = pattern[1]
    if shift:  # a small moving mark, so that consecutive frames differ
        x = (shift * 4) % (width // 2 - 20)
        image[:8, x : x + 16] = 128
    return image


@functools.lru_cache(maxsize=8)
def encoded_clip(
    codec: str,
    pattern: tuple[tuple[int, int, int], ...],
    frames: int = 60,
    width: int = 640,
    height: int = 480,
) -> tuple[bytes, ...]:
    """A clip encoded once, as a browser would send it: a keyframe, then delta frames. A band of
    noise that changes every frame keeps it near a camera's 1 Mbit/s (several packets a frame)."""
    context: Any = av.CodecContext.create("libvpx" if codec == "VP8" else "libx264", "w")
    context.width, context.height, context.pix_fmt = width, height, "yuv420p"
    context.bit_rate = 1_000_000
    context.gop_size = 10_000
    context.time_base = fractions.Fraction(1, 30)
    if codec == "H264":
        context.profile = "Baseline"
        context.options = {"tune": "zerolatency", "level": "31"}
    else:
        context.options = {"deadline": "realtime", "lag-in-frames": "0"}
    clip: list[bytes] = []
    noise = np.random.default_rng(1)
    for index in range(frames):
        image = pattern_image(pattern, width, height, index)
        image[height - height // 4 :] = noise.integers(0, 255, (height // 4, width, 3), dtype=np.uint8)
        frame = VideoFrame.from_ndarray(image, format="rgb24")
        frame = frame.reformat(format="yuv420p")
        frame.pts = index
        clip.extend(bytes(packet) for packet in context.encode(frame))
    clip.extend(bytes(packet) for packet in context.encode(None))
    return tuple(clip)


@functools.lru_cache(maxsize=1)
def encoded_audio_clip(seconds: float = 2.0) -> tuple[bytes, ...]:
    """Opus packets of a tone, 20 ms each, encoded once as a browser's microphone would be."""
    context: Any = av.CodecContext.create("libopus", "w")
    context.sample_rate, context.layout, context.format = 48000, "stereo", "s16"
    context.bit_rate = 48_000
    samples = int(seconds * 48000)
    tone = (np.sin(np.arange(samples) * 2 * np.pi * 440 / 48000) * 8000).astype(np.int16)
    clip: list[bytes] = []
    for start in range(0, samples - 960 + 1, 960):
        chunk = np.repeat(tone[start : start + 960], 2).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(chunk, format="s16", layout="stereo")
        frame.sample_rate, frame.pts = 48000, start
        clip.extend(bytes(packet) for packet in context.encode(frame))
    return tuple(clip)


def frame_digest(codec: str, data: bytes) -> str:
    """A frame's hash. For H264 the NAL units are hashed: RTP carries NAL units without start
    codes, so a 3-byte start code comes back as a 4-byte one."""
    if codec == "H264":
        units = re.split(b"\x00\x00\x00\x01|\x00\x00\x01", data)
        return hashlib.sha256(b"|".join(u for u in units if u)).hexdigest()
    return hashlib.sha256(data).hexdigest()


class ToneMicrophone(AudioStreamTrack):
    """A microphone that plays one steady tone (aiortc's 8 kHz frames), encoded live."""

    def __init__(self, frequency: float) -> None:
        super().__init__()
        self.frequency = frequency

    async def recv(self) -> Frame:
        frame = await super().recv()
        assert isinstance(frame, av.AudioFrame) and frame.pts is not None
        t = (np.arange(frame.samples) + frame.pts) / frame.sample_rate
        frame.planes[0].update((np.sin(2 * np.pi * self.frequency * t) * 8000).astype(np.int16).tobytes())
        return frame


def dominant_frequency(frames: list[av.AudioFrame]) -> float:
    """The strongest frequency (Hz) of decoded audio: the first channel, all frames together."""
    channels = frames[0].layout.nb_channels
    samples = np.concatenate([f.to_ndarray().reshape(-1)[::channels] for f in frames]).astype(float)
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.argmax(spectrum) * frames[0].sample_rate / len(samples))


class ReplayTrack(MediaStreamTrack):
    """Media encoded beforehand, sent at its own pace: the sender only packetises it. `restart`
    (a keyframe request) makes the clip start again from its first frame, a keyframe."""

    def __init__(self, kind: str, clip: tuple[bytes, ...], per_second: int, clock_rate: int) -> None:
        super().__init__()
        self.kind = kind
        self.clip = clip
        self._per_second = per_second
        self._ticks = clock_rate // per_second
        self._time_base = fractions.Fraction(1, clock_rate)
        self._start: float | None = None
        self._count = 0
        self._clip_start = 0  # the count at which the clip last started from its first frame

    def restart(self) -> None:
        self._clip_start = self._count

    async def recv(self) -> av.Packet[Any]:
        if self._start is None:
            self._start = time.monotonic()
        wait = self._start + self._count / self._per_second - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        packet = av.Packet(self.clip[(self._count - self._clip_start) % len(self.clip)])
        packet.pts = self._count * self._ticks
        packet.time_base = self._time_base
        self._count += 1
        return packet


class ReplayCamera(ReplayTrack):
    def __init__(self, clip: tuple[bytes, ...], fps: int = 30) -> None:
        super().__init__("video", clip, fps, 90000)


class ReplayMicrophone(ReplayTrack):
    """Opus packets, one every 20 ms."""

    def __init__(self, clip: tuple[bytes, ...]) -> None:
        super().__init__("audio", clip, 50, 48000)


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
