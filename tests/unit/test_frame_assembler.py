"""The forwarding relay's frame assembler (`media_worker.frames.FrameAssembler`), packet by
packet: when a frame is whole, which frames come after a loss, how long a hole is waited for
(a fake clock), and what a full buffer gives up. A mistake here shows in a visit only as frozen
or garbled video. Split from test_frames.py, which checks the frame logic around it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pytest

from media_worker.frames import AssembledFrame, FrameAssembler

# -- FrameAssembler ------------------------------------------------------------------------

FRAME_INTERVAL = 3000  # 30 frames a second in the 90 kHz video clock
HOLE = 0.5  # the hole timeout of the assemblers below


@dataclass(frozen=True)
class Packet:
    seq: int
    timestamp: int
    marker: bool = False
    starts: bool = False
    payload: bytes | None = None

    @property
    def data(self) -> bytes:
        return self.payload if self.payload is not None else f"<{self.seq}>".encode()


def frame_packets(first_seq: int, index: int, count: int, *, starts: bool = True) -> list[Packet]:
    """The packets of frame number `index`: the first recognised as a start, the last marked."""
    return [
        Packet(
            (first_seq + i) % 65536,
            (index * FRAME_INTERVAL) % (1 << 32),
            marker=i == count - 1,
            starts=starts and i == 0,
        )
        for i in range(count)
    ]


def joined(packets: Iterable[Packet]) -> bytes:
    return b"".join(p.data for p in packets)


def push(assembler: FrameAssembler, packet: Packet, now: float = 0.0) -> tuple[bool, list[AssembledFrame]]:
    return assembler.push(packet.seq, packet.timestamp, packet.marker, packet.starts, packet.data, now)


def push_all(
    assembler: FrameAssembler, packets: Iterable[Packet], now: float = 0.0
) -> tuple[bool, list[AssembledFrame]]:
    """Pushes each packet at `now`: whether any push asked for a keyframe, and all frames out."""
    asked, frames = False, list[AssembledFrame]()
    for packet in packets:
        ask, out = push(assembler, packet, now)
        asked, frames = asked or ask, frames + out
    return asked, frames


def started(capacity: int = 1024, first_seq: int = 0) -> FrameAssembler:
    """An assembler that has handed out one frame (seq `first_seq`, frame 0) at time 0."""
    assembler = FrameAssembler(hole_timeout=HOLE, capacity=capacity)
    asked, frames = push_all(assembler, frame_packets(first_seq, 0, 1))
    assert not asked and len(frames) == 1 and frames[0].after_loss
    return assembler


def test_frame_comes_out_exactly_when_its_marker_packet_arrives() -> None:
    assembler = FrameAssembler(hole_timeout=HOLE)
    first, middle, last = frame_packets(100, 1, 3)
    assert push(assembler, first, 1.0) == (False, [])
    assert push(assembler, middle, 1.01) == (False, [])
    assert push(assembler, last, 1.02) == (
        False,
        [AssembledFrame(b"<100><101><102>", FRAME_INTERVAL, after_loss=True, arrived_at=1.02)],
    )


def test_only_the_first_frame_ever_is_flagged_after_loss() -> None:
    assembler = FrameAssembler(hole_timeout=HOLE)
    packets = frame_packets(10, 1, 2) + frame_packets(12, 2, 3) + frame_packets(15, 3, 1)
    asked, frames = push_all(assembler, packets)
    assert not asked
    assert [f.after_loss for f in frames] == [True, False, False]
    assert [f.timestamp for f in frames] == [FRAME_INTERVAL, 2 * FRAME_INTERVAL, 3 * FRAME_INTERVAL]
    assert [f.data for f in frames] == [b"<10><11>", b"<12><13><14>", b"<15>"]


@pytest.mark.parametrize("order", [(1, 0, 2), (2, 0, 1), (2, 1, 0), (0, 2, 1)])
def test_packets_out_of_order_within_a_frame(order: tuple[int, int, int]) -> None:
    assembler = started()
    packets = frame_packets(1, 1, 3)
    outputs = [push(assembler, packets[i], 0.03) for i in order]
    assert outputs[:2] == [(False, []), (False, [])]
    assert outputs[2] == (False, [AssembledFrame(joined(packets), FRAME_INTERVAL, False, 0.03)])


def test_retransmission_within_the_timeout_releases_the_frame_and_the_whole_ones_behind_it() -> None:
    assembler = started()
    a, b, c = frame_packets(1, 1, 3), frame_packets(4, 2, 2), frame_packets(6, 3, 2)
    missing = a[1]
    assert push_all(assembler, [a[0], a[2]], 1.0) == (False, [])
    assert push_all(assembler, b, 1.1) == (False, [])  # whole, but behind the incomplete one
    assert push_all(assembler, c, 1.2) == (False, [])
    asked, frames = push(assembler, missing, 1.0 + HOLE - 0.05)
    assert not asked
    assert [f.data for f in frames] == [joined(a), joined(b), joined(c)]
    assert [f.timestamp for f in frames] == [FRAME_INTERVAL, 2 * FRAME_INTERVAL, 3 * FRAME_INTERVAL]
    assert [f.after_loss for f in frames] == [False, False, False]
    assert assembler.frames_dropped == 0


def test_a_hole_older_than_the_timeout_asks_for_a_keyframe_and_drops_the_frame() -> None:
    assembler = started()
    a, b, c, d = (
        frame_packets(1, 1, 3),
        frame_packets(4, 2, 3),
        frame_packets(7, 3, 2),
        frame_packets(9, 4, 1),
    )
    assert push_all(assembler, [a[0], a[2]], 1.0) == (False, [])  # a[1] is lost for good
    assert push_all(assembler, b, 1.0 + HOLE) == (False, [])  # not yet longer than the timeout
    asked, frames = push(assembler, c[0], 1.0 + HOLE + 0.01)
    assert asked
    assert [(f.data, f.after_loss) for f in frames] == [(joined(b), True)]  # none of frame a
    assert assembler.frames_dropped == 1
    # the stream goes on normally; the lost packet, arriving now, is too late and ignored
    assert push(assembler, a[1], 1.6) == (False, [])
    assert push_all(assembler, c[1:] + d, 1.6) == (
        False,
        [
            AssembledFrame(joined(c), 3 * FRAME_INTERVAL, False, 1.6),
            AssembledFrame(b"<9>", 4 * FRAME_INTERVAL, False, 1.6),
        ],
    )
    assert assembler.frames_dropped == 1


def test_the_hole_timeout_counts_from_when_the_current_hole_appeared() -> None:
    # A slow source (a shared screen sends a frame a second or less): one hole is filled by a
    # retransmission, then the frame's marker packet is lost and that shows only when the next
    # frame arrives. Its retransmission must get the whole timeout, not what the first left.
    assembler = started()
    a, b = frame_packets(1, 1, 4), frame_packets(5, 2, 2)
    assert push_all(assembler, [a[0], a[2]], 1.0) == (False, [])
    assert push(assembler, a[1], 1.05) == (False, [])  # the first hole is filled
    assert push(assembler, b[0], 1.0 + HOLE + 0.2) == (False, [])  # the marker packet a[3] is missing
    assert push(assembler, a[3], 1.0 + HOLE + 0.25) == (
        False,
        [AssembledFrame(joined(a), FRAME_INTERVAL, False, 1.0 + HOLE + 0.25)],
    )
    assert push(assembler, b[1], 1.8)[1][0].data == joined(b)
    assert assembler.frames_dropped == 0


def test_duplicates_and_late_copies_are_ignored() -> None:
    assembler = started(capacity=3)  # a late copy that was held would overflow it below
    a, b = frame_packets(1, 1, 3), frame_packets(4, 2, 3)
    assert push_all(assembler, a[:2], 0.03) == (False, [])
    assert push(assembler, Packet(2, a[1].timestamp, payload=b"copy"), 0.03) == (False, [])
    assert push(assembler, a[2], 0.03)[1][0].data == joined(a)  # the first copy was kept
    for packet in a:  # copies of a frame already handed out
        assert push(assembler, packet, 0.04) == (False, [])
    asked, frames = push_all(assembler, b + b, 0.06)
    assert not asked and [(f.data, f.after_loss) for f in frames] == [(joined(b), False)]


def test_sequence_numbers_wrapping_around_inside_frames() -> None:
    assembler = started(first_seq=65532)
    a, b = frame_packets(65533, 1, 4), frame_packets(1, 2, 2)
    assert [p.seq for p in a + b] == [65533, 65534, 65535, 0, 1, 2]
    lost = a[2]
    assert push_all(assembler, [p for p in a + b if p is not lost], 0.1) == (False, [])
    asked, frames = push(assembler, lost, 0.2)
    assert not asked
    assert [(f.data, f.after_loss) for f in frames] == [(joined(a), False), (joined(b), False)]
    assert b"<65535><0>" in frames[0].data


def test_a_frame_without_a_marker_bit_is_ended_by_the_next_timestamp() -> None:
    assembler = started()
    a = [Packet(1, FRAME_INTERVAL, starts=True), Packet(2, FRAME_INTERVAL)]
    next_frame = Packet(3, 2 * FRAME_INTERVAL)
    assert push_all(assembler, a, 0.03) == (False, [])
    assert push(assembler, next_frame, 0.06) == (
        False,
        [AssembledFrame(b"<1><2>", FRAME_INTERVAL, False, 0.03)],
    )


def test_lost_marker_packet_retransmitted_in_time_releases_both_frames() -> None:
    assembler = started()
    a, b = frame_packets(1, 1, 3), frame_packets(4, 2, 3)
    assert push_all(assembler, a[:2] + b, 0.03) == (False, [])
    asked, frames = push(assembler, a[2], 0.2)
    assert not asked and [f.data for f in frames] == [joined(a), joined(b)]


def test_lost_marker_packet_gives_the_next_frame_up_after_the_timeout() -> None:
    assembler = started()
    a, b, c = frame_packets(1, 1, 3), frame_packets(4, 2, 3), frame_packets(7, 3, 1)
    assert push_all(assembler, a[:2] + b, 1.0) == (False, [])
    asked, frames = push(assembler, c[0], 1.0 + HOLE + 0.01)
    assert asked
    assert [(f.data, f.after_loss) for f in frames] == [(joined(b), True), (joined(c), False)]
    assert assembler.frames_dropped == 1


def test_after_a_lost_marker_a_frame_not_recognised_as_a_start_is_dropped_too() -> None:
    # H264 P frames are not recognised as frame starts: after the loss, the first frame to come
    # out is the one after the next marker bit.
    assembler = started()
    a, b, c = (
        frame_packets(1, 1, 3),
        frame_packets(4, 2, 3, starts=False),
        frame_packets(7, 3, 2, starts=False),
    )
    assert push_all(assembler, a[:2] + b, 1.0) == (False, [])
    asked, frames = push(assembler, c[0], 1.0 + HOLE + 0.01)
    assert asked and frames == []
    assert push(assembler, c[1], 1.6) == (False, [AssembledFrame(joined(c), 3 * FRAME_INTERVAL, True, 1.6)])


def test_joining_in_the_middle_of_a_frame_waits_for_the_next_one() -> None:
    assembler = FrameAssembler(hole_timeout=HOLE)
    partial = frame_packets(1, 1, 3)[1:]
    whole = frame_packets(4, 2, 2, starts=False)  # found by the marker before it
    assert push_all(assembler, partial, 0.0) == (False, [])
    assert push_all(assembler, whole, 0.03) == (
        False,
        [AssembledFrame(joined(whole), 2 * FRAME_INTERVAL, True, 0.03)],
    )


def test_a_full_buffer_gives_up_the_incomplete_frame() -> None:
    assembler = started(capacity=4)
    a, b = frame_packets(1, 1, 3), frame_packets(4, 2, 3)
    assert push_all(assembler, [a[0], a[2], *b[:2]], 0.03) == (False, [])  # four held, a[1] missing
    asked, frames = push(assembler, b[2], 0.04)  # a fifth: more than the capacity, long before the timeout
    assert asked
    assert [(f.data, f.after_loss) for f in frames] == [(joined(b), True)]
    assert assembler.frames_dropped == 1


def test_a_full_buffer_without_any_frame_start_keeps_giving_up() -> None:
    assembler = started(capacity=3)
    held = [Packet(seq, FRAME_INTERVAL) for seq in (2, 3, 4)]  # seq 1 missing, none starts a frame
    assert push_all(assembler, held, 0.03) == (False, [])
    assert push(assembler, Packet(5, FRAME_INTERVAL), 0.04) == (True, [])
    assert push(assembler, Packet(6, FRAME_INTERVAL), 0.05) == (True, [])
    assert assembler.frames_dropped == 2
    asked, frames = push_all(assembler, frame_packets(7, 2, 2), 0.06)  # a keyframe at last
    assert not asked
    assert [(f.data, f.after_loss) for f in frames] == [(b"<7><8>", True)]


def test_frames_dropped_counts_each_given_up_frame() -> None:
    assembler = started()
    seq, now = 1, 1.0
    for index in (1, 2):
        a, b = frame_packets(seq, 2 * index - 1, 3), frame_packets(seq + 3, 2 * index, 1)
        push_all(assembler, [a[0], a[2]], now)
        asked, frames = push_all(assembler, b, now + HOLE + 0.01)
        assert asked and [(f.data, f.after_loss) for f in frames] == [(joined(b), True)]
        assert assembler.frames_dropped == index
        seq, now = seq + 4, now + 1.0
