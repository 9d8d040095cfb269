"""The worker under test with three or four participants: each joins as a page does (its pairs
for everyone already there), and everyone already there takes up the newcomer's pair and
offers again, as the pages do on `participants`; leaving sets the pair `inactive` everywhere.

The simulated browsers keep what they receive encoded (tapped, no decoder running) and a test
decodes it when it checks: with four seats that is twelve streams each way, on two cores.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import av
from aiortc.jitterbuffer import JitterFrame

from eclinic_protocol import to_worker
from eclinic_protocol.mlines import AUDIO, m_line_slot, m_line_source
from media_worker.forwarding import decoder_for
from media_worker.frames import EncodedFrame
from media_worker.storage import InMemoryImageStore
from media_worker.worker import Worker
from tests.simulated_browser import FakeBrowser
from tests.simulated_media import (
    SEAT_PATTERNS,
    SEAT_TONES,
    PatternCamera,
    ToneMicrophone,
    dominant_frequency,
    halves,
    looks_like,
)
from tests.threads import run_async
from tests.worker.harness import APPOINTMENT, Outbox, join, make_worker

Pattern = tuple[tuple[int, int, int], ...]


def seat_browser(
    seat: str, connection: str = "", peer_id: str = "p1", pattern: Pattern | None = None
) -> FakeBrowser:
    """A page of `seat`: its own pattern (small, to spare the cores) and tone, media tapped."""
    return FakeBrowser(
        seat,
        PatternCamera(pattern or SEAT_PATTERNS[seat], 320, 240, 15),
        connection or f"conn-{seat}",
        peer_id=peer_id,
        microphone=ToneMicrophone(SEAT_TONES[seat]),
        tap=True,
    )


class Party:
    """The browsers in one visit, by seat, and the worker they offer to."""

    def __init__(self, worker: Worker, outbox: Outbox, store: InMemoryImageStore) -> None:
        self.worker, self.outbox, self.store = worker, outbox, store
        self.browsers: dict[str, FakeBrowser] = {}
        self.gone: list[FakeBrowser] = []

    async def arrive(self, browser: FakeBrowser) -> None:
        browser.seats_taken(*self.browsers)
        self.browsers[browser.seat] = browser
        await join(self.worker, self.outbox, browser)
        await self.take_up(browser.seat)

    async def take_up(self, seat: str) -> None:
        """Everyone else takes up `seat`'s pair and offers again."""
        for other in list(self.browsers.values()):
            if other.seat != seat:
                other.seats_taken(seat)
                await join(self.worker, self.outbox, other)

    async def depart(self, seat: str, connection: str | None = None) -> None:
        """`seat` leaves: the server's `leave` (from `connection`, by default the browser's
        own), its page closes, and everyone else sets its pair inactive and offers again."""
        browser = self.browsers.pop(seat)
        sender = browser.connection_id if connection is None else connection
        leave = to_worker.Leave(appointment_id=APPOINTMENT, seat=seat, sender=sender)
        await self.worker.on_message(leave.to_json())
        await browser.close()
        self.gone.append(browser)
        for other in self.browsers.values():
            other.seat_emptied(seat)
            await join(self.worker, self.outbox, other)

    async def close(self) -> None:
        for browser in [*self.browsers.values(), *self.gone]:
            await browser.close()
        await self.worker.drain()


def receiving_lines(browser: FakeBrowser, kind: str) -> dict[int, str]:
    """m-line index -> source seat, for the camera (or microphone) m-lines of every seat the
    page has taken (the screen share left out)."""
    lines = {}
    for index in range(len(browser.pc.getTransceivers())):
        source = m_line_source(browser.seat, index)
        if m_line_slot(index) == kind and source is not None and (index < 2 or source in browser.taken):
            lines[index] = source
    return lines


def pictures(frames: list[EncodedFrame]) -> list[av.VideoFrame]:
    """What a browser's decoder makes of the frames it received, from the first (a keyframe)."""
    decoder = decoder_for("video", frames[0])
    decoded = []
    for frame in frames:
        decoded.extend(decoder.decode(JitterFrame(frame.data, frame.timestamp)))
    return decoded


async def shows(browser: FakeBrowser, index: int, pattern: Pattern, count: int = 20) -> None:
    """The camera m-line `index` started on a keyframe and its latest picture shows `pattern`."""
    have = len(browser.tapped.get(index, []))
    frames = await browser.tapped_frames(index, have + count, timeout=20)
    assert frames[0].keyframe, f"m-line {index} did not start on a keyframe"
    latest = max(i for i, frame in enumerate(frames) if frame.keyframe)  # decoding from there will do
    last = pictures(frames[latest:])[-1]
    assert looks_like(last, pattern), f"{browser.seat} m-line {index}: halves {halves(last)}, not {pattern}"


async def hears(browser: FakeBrowser, index: int, tone: float, count: int = 40) -> None:
    """The microphone m-line `index` carries the tone `tone` (Hz), from its latest packets."""
    have = len(browser.tapped.get(index, []))
    packets = (await browser.tapped_frames(index, have + count, timeout=20))[-count:]
    decoder = decoder_for(AUDIO, packets[0])
    decoded = [f for p in packets for f in decoder.decode(JitterFrame(p.data, p.timestamp))]
    heard = dominant_frequency([f for f in decoded if isinstance(f, av.AudioFrame)])
    assert abs(heard - tone) < 25, f"{browser.seat} m-line {index} hears {heard:.0f} Hz, not {tone:.0f}"


async def everyone_sees_and_hears_everyone(party: Party) -> None:
    for browser in party.browsers.values():
        videos = receiving_lines(browser, "video")
        assert set(videos.values()) == set(party.browsers) - {browser.seat}
        for index, source in videos.items():
            await shows(browser, index, SEAT_PATTERNS[source])
        for index, source in receiving_lines(browser, AUDIO).items():
            await hears(browser, index, SEAT_TONES[source])


def party_scenario(body: Callable[[Party], Awaitable[None]], seats: tuple[str, ...]) -> None:
    """Runs `body` once `seats` have arrived, in that order; closes everything afterwards."""

    async def run() -> None:
        store = InMemoryImageStore()
        worker, outbox = make_worker(store)
        party = Party(worker, outbox, store)
        try:
            for seat in seats:
                await party.arrive(seat_browser(seat))
            await body(party)
        finally:
            await party.close()

    run_async(run, timeout=180)
