"""The one simulated browser of the tests and the benchmarks: real aiortc peers set up as the
pages set theirs up, and a websocket client that speaks API.md as the pages do.

- `FakeBrowser`: one tab's RTCPeerConnection to the worker, of any seat, its m-lines laid out
  as eclinic_protocol.mlines says (microphone, camera, the clinician's screen share, then a
  pair per further participant, added by `seats_taken` as a page adds them on `participants`
  and set `inactive` by `seat_emptied`). Worker tests hand its offer to a
  worker in process (tests/worker/harness.py); it receives decoded frames, or encoded ones
  tapped before any decoder.
- `WebSocketClient`: a websocket to the local run that keeps every message and waits for the
  one a test expects (tests/local).
- `WebSocketBrowser`: a participant over the WebSocket API, as a page is: its websocket, and
  per call a FakeBrowser that replays pre-encoded media with the `call` message's ICE settings
  and counts the frames it receives before any decoder (the benchmarks).

What they send (pattern cameras, replayed clips) is in tests/simulated_media.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import websockets
from aiortc import (
    MediaStreamTrack,
    RTCBundlePolicy,
    RTCConfiguration,
    RTCIceServer,
    RTCIceTransportPolicy,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.mediastreams import AudioStreamTrack
from av import VideoFrame

from eclinic_protocol import from_browser, to_worker
from eclinic_protocol.envelope import Message
from eclinic_protocol.mlines import AUDIO, M_LINES, PAGE_DIRECTIONS, VIDEO, other_seats, page_direction
from media_worker.aiortc_hook import ReceiverTap, tap_sender
from media_worker.frames import EncodedFrame
from tests.simulated_media import (
    CLINICIAN_PATTERN,
    SEAT_PATTERNS,
    ReplayCamera,
    ReplayMicrophone,
    encoded_audio_clip,
    encoded_clip,
    halves,
    looks_like,
)

CAMERA = 1  # the camera's m-line: the pages offer the microphone, the camera, then the screen share


@dataclass
class FakeBrowser:
    """One browser tab's RTCPeerConnection to the worker, set up like the pages do."""

    seat: str
    camera: MediaStreamTrack
    connection_id: str
    peer_id: str = "p1"
    microphone: MediaStreamTrack | None = None  # a silent one (encoded live) unless given
    video_codecs: tuple[str, ...] = ()  # offer only these (e.g. ("H264",) for a Safari-like peer)
    tap: bool = False  # received media as encoded frames (`tapped`), not decoded
    # Or each encoded frame handed to this (m-line, frame) and kept nowhere, as a benchmark counts.
    on_frame: Callable[[int, EncodedFrame], None] | None = None
    # Chromium bundles every m-line on one transport; so do these fake browsers. No STUN:
    # everything is on this machine.
    pc: RTCPeerConnection = field(
        default_factory=lambda: RTCPeerConnection(
            RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
        )
    )
    received: dict[int, MediaStreamTrack] = field(default_factory=dict)
    tapped: dict[int, list[EncodedFrame]] = field(default_factory=dict)
    taps: dict[int, ReceiverTap] = field(default_factory=dict)
    taken: set[str] = field(default_factory=set)  # the other seats this page has pairs for

    def __post_init__(self) -> None:
        audio, camera, screen = PAGE_DIRECTIONS[self.seat]  # as the pages offer
        self.pc.addTransceiver(self.microphone or AudioStreamTrack(), direction=audio)
        self.pc.addTransceiver(self.camera, direction=camera)
        if screen == "recvonly":
            self.pc.addTransceiver("video", direction=screen)  # the clinician's screen share
        self.restrict_codecs()

        @self.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            for index, transceiver in enumerate(self.pc.getTransceivers()):
                if transceiver.receiver.track is track:
                    self.received[index] = track
                    if self.tap:
                        frames = self.tapped.setdefault(index, [])
                        self.taps[index] = ReceiverTap(transceiver.receiver, track.kind, frames.append)
                    elif self.on_frame is not None:
                        handed = functools.partial(self.on_frame, index)
                        self.taps[index] = ReceiverTap(transceiver.receiver, track.kind, handed)

    def restrict_codecs(self) -> None:
        if not self.video_codecs:
            return
        allowed = [
            c for c in RTCRtpSender.getCapabilities("video").codecs if c.name in (*self.video_codecs, "rtx")
        ]
        for transceiver in self.pc.getTransceivers():
            if transceiver.kind == "video" and transceiver.mid is None:
                transceiver.setCodecPreferences(allowed)

    def seats_taken(self, *seats: str) -> None:
        """As a page does on `participants`: receive-only pairs up to the last taken seat's,
        `inactive` for empty seats before it, and the clinician's screen m-line (`inactive`
        unless sharing) before them. Offer again (harness `join`) to apply them."""
        self.taken.update(seats)
        others = other_seats(self.seat)
        last = max((others.index(s) for s in self.taken if s in others), default=0)
        if last and len(self.pc.getTransceivers()) < len(M_LINES):
            self.pc.addTransceiver("video", direction="inactive")
        for position in range(1, last + 1):
            index = len(M_LINES) + 2 * (position - 1)
            taken = others[position] in self.taken
            for offset, kind in enumerate((AUDIO, VIDEO)):
                direction = page_direction(self.seat, index + offset) if taken else "inactive"
                transceivers = self.pc.getTransceivers()
                if len(transceivers) <= index + offset:
                    self.pc.addTransceiver(kind, direction=direction)
                else:
                    transceivers[index + offset].direction = direction
        self.restrict_codecs()

    def seat_emptied(self, seat: str) -> None:
        """As a page does when a seat empties: its pair goes `inactive` (never removed)."""
        self.taken.discard(seat)
        position = other_seats(self.seat).index(seat)
        if position:  # m-lines 0-1 carry the page's own media too: they stay
            index = len(M_LINES) + 2 * (position - 1)
            for transceiver in self.pc.getTransceivers()[index : index + 2]:
                transceiver.direction = "inactive"

    @property
    def browser_peer(self) -> tuple[str, str]:
        return (self.connection_id, self.peer_id)

    async def offer_message(self, appointment_id: str) -> dict[str, Any]:
        self.restrict_codecs()
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return to_worker.Offer(
            appointment_id=appointment_id,
            seat=self.seat,
            sender=self.connection_id,
            peer_id=self.peer_id,
            sdp=self.pc.localDescription.sdp,
        ).to_json()

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

    async def tapped_frames(self, index: int, count: int, timeout: float = 15) -> list[EncodedFrame]:
        """Waits until `count` encoded frames have arrived on m-line `index`; returns them all."""
        async with asyncio.timeout(timeout):
            while len(self.tapped.get(index, [])) < count:
                await asyncio.sleep(0.02)
        return list(self.tapped[index])

    def local_candidate_type(self) -> str | None:
        """The type of the local candidate ICE nominated (aioice's own state; read only here)."""
        transport = self.pc.getTransceivers()[0].sender.transport.transport
        nominated = transport.iceGatherer._connection._nominated.get(1)
        return None if nominated is None else str(nominated.local_candidate.type)

    async def close(self) -> None:
        await self.pc.close()


def ice_configuration(call: dict[str, Any]) -> RTCConfiguration:
    """The `call` message's ICE settings, as a page's RTCPeerConnection takes them. aiortc maps
    `relay` onto aioice's relay-only policy and uses the first usable TURN URL."""
    servers = [
        RTCIceServer(urls=s["urls"], username=s.get("username"), credential=s.get("credential"))
        for s in call.get("ice_servers", [])
    ]
    policy = (
        RTCIceTransportPolicy.RELAY
        if call.get("ice_transport_policy") == "relay"
        else RTCIceTransportPolicy.ALL
    )
    return RTCConfiguration(
        iceServers=servers, bundlePolicy=RTCBundlePolicy.MAX_BUNDLE, iceTransportPolicy=policy
    )


def replaying_browser(
    role: str,
    connection_id: str,
    peer_id: str = "p1",
    call: dict[str, Any] | None = None,
    on_frame: Callable[[int, EncodedFrame], None] | None = None,
    keyframe_on_request: bool = False,
) -> FakeBrowser:
    """A FakeBrowser (`role`: its seat) that sends a VP8 clip and Opus packets encoded once
    (offering VP8 only), with the ICE settings of `call` if given (else no STUN or TURN:
    everything is local). With `keyframe_on_request` a keyframe request restarts the clip at
    its keyframe, as a browser's encoder answers a PLI (a guest joining a running visit)."""
    pattern = SEAT_PATTERNS.get(role, CLINICIAN_PATTERN)
    extra: dict[str, Any] = {} if call is None else {"pc": RTCPeerConnection(ice_configuration(call))}
    camera = ReplayCamera(encoded_clip("VP8", pattern, 90))
    browser = FakeBrowser(
        role,
        camera,
        connection_id,
        peer_id=peer_id,
        microphone=ReplayMicrophone(encoded_audio_clip()),
        video_codecs=("VP8",),
        on_frame=on_frame,
        **extra,
    )
    if keyframe_on_request:
        tap_sender(browser.pc.getTransceivers()[CAMERA].sender, camera.restart, lambda bitrate: None)
    return browser


class NoMessage(AssertionError, TimeoutError):
    """The message waited for did not come: a failed assertion to a test, a timeout to a
    benchmark that tries another visit."""


Predicate = Callable[[dict[str, Any]], bool]


class WebSocketClient:
    """A websocket to the local run: keeps every message it receives and waits for the one a
    caller expects. `on_message` may take a message first (it returns True when it has)."""

    def __init__(
        self, socket: Any, on_message: Callable[[dict[str, Any]], Awaitable[bool]] | None = None
    ) -> None:
        self.socket = socket
        self.received: list[dict[str, Any]] = []
        self._on_message = on_message
        self._arrived = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, ws_url: str, **query: str) -> WebSocketClient:
        params = "&".join(f"{k}={v}" for k, v in query.items())
        return await cls.connect(f"{ws_url}?{params}")

    @classmethod
    async def connect(
        cls,
        url: str,
        open_timeout: float = 10,
        on_message: Callable[[dict[str, Any]], Awaitable[bool]] | None = None,
    ) -> WebSocketClient:
        return cls(await websockets.connect(url, open_timeout=open_timeout, max_size=2**20), on_message)

    async def _read(self) -> None:
        try:
            async for raw in self.socket:
                message = json.loads(raw)
                if self._on_message is not None and await self._on_message(message):
                    continue
                self.received.append(message)
                self._arrived.set()
        except websockets.exceptions.ConnectionClosed:
            pass
        finally:
            self._arrived.set()

    async def send(self, **message: Any) -> None:
        await self.socket.send(json.dumps(message))

    async def wait_for(self, predicate: Predicate, timeout: float = 10) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + timeout
        seen = 0
        while True:
            for message in self.received[seen:]:
                if predicate(message):
                    return message
            seen = len(self.received)
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise NoMessage(f"no matching message; got {self.received[-5:]}")
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), remaining)
            if self.socket.state.name == "CLOSED" and all(not predicate(m) for m in self.received):
                raise NoMessage(f"closed without a matching message; got {self.received[-5:]}")

    async def close(self) -> None:
        await self.socket.close()
        await self._reader


class WebSocketBrowser:
    """One participant over the WebSocket API, with an RTCPeerConnection to the worker per call:
    the worker's answer is applied as it arrives, as a page applies it."""

    def __init__(self, ws_url: str, role: str) -> None:
        self.ws_url, self.role = ws_url, role
        self.client: WebSocketClient | None = None
        self.peer: FakeBrowser | None = None
        self.frames = 0  # camera frames received, counted before any decoder
        self.first_frame = asyncio.Event()

    async def open(self) -> None:
        self.client = await WebSocketClient.connect(self.ws_url, open_timeout=60, on_message=self._answer)

    async def _answer(self, message: dict[str, Any]) -> bool:
        if message.get("type") != "answer" or self.peer is None:
            return False
        await self.peer.accept(message)
        return True

    async def send(self, message: Message) -> None:
        assert self.client is not None, "open() first"
        await self.client.send(**message.to_json())

    async def wait_for(self, kind: str, timeout: float = 30) -> dict[str, Any]:
        assert self.client is not None, "open() first"
        return await self.client.wait_for(lambda m: m.get("type") == kind, timeout)

    async def join_call(self, appointment_id: str, call: dict[str, Any]) -> None:
        """A new peer connection for `call` (with its ICE settings), and its offer sent."""
        if self.peer is not None:
            await self.peer.close()
        self.frames = 0
        self.first_frame.clear()
        self.peer = replaying_browser(
            self.role, "bench", peer_id=str(time.monotonic_ns()), call=call, on_frame=self._count
        )
        offer = await self.peer.offer_message(appointment_id)
        await self.send(
            from_browser.Offer(appointment_id=appointment_id, peer_id=offer["peer_id"], sdp=offer["sdp"])
        )

    def _count(self, index: int, frame: EncodedFrame) -> None:
        if index == CAMERA:
            self.frames += 1
            self.first_frame.set()

    def local_candidate_type(self) -> str | None:
        assert self.peer is not None
        return self.peer.local_candidate_type()

    async def close(self) -> None:
        if self.client is not None:
            await self.client.close()
        if self.peer is not None:
            await self.peer.close()
