"""The forwarding relay's frame logic and codec order, checked without a network or a peer.

The relay forwards what browsers encoded, so `media_worker.frames` alone decides when a frame
is whole, whether it is a keyframe and whether frames were lost before it, and
`media_worker.codecs` decides which codec each leg uses so that no leg needs a transcode. A
mistake in either shows up in a visit only as frozen or garbled video, so these tests pin the
logic down packet by packet: real VP8 and H264 frames from PyAV's encoders, hand-built RTP
payload headers, a fake clock for the hole timeout, and aiortc's own SDP and transceiver for
the codec preferences.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np
import pytest
from aiortc import RTCPeerConnection, RTCRtpCodecCapability, RTCRtpSender
from aiortc.sdp import MediaDescription, SessionDescription

from media_worker.codecs import offered_codecs, preferences
from media_worker.frames import (
    AssembledFrame,
    AudioSequencer,
    FrameAssembler,
    Unwrapper,
    h264_nal_types,
    is_keyframe,
    starts_frame,
)
from tests.threads import run_async

# -- Unwrapper -----------------------------------------------------------------------------


def unwrapped(bits: int, values: Iterable[int]) -> list[int]:
    unwrapper = Unwrapper(bits)
    return [unwrapper.unwrap(value) for value in values]


def test_sequence_numbers_keep_growing_across_the_16_bit_wrap() -> None:
    assert unwrapped(16, [65533, 65534, 65535, 0, 1]) == [65533, 65534, 65535, 65536, 65537]


def test_sequence_numbers_grow_across_many_wraps() -> None:
    steps = [(i * 20_000) % 65536 for i in range(12)]
    assert unwrapped(16, steps) == [i * 20_000 for i in range(12)]


def test_sequence_number_reordered_just_before_the_wrap_stays_below_it() -> None:
    assert unwrapped(16, [65534, 0, 65535, 1, 2]) == [65534, 65536, 65535, 65537, 65538]


def test_sequence_numbers_going_back_a_little_are_not_taken_for_a_wrap() -> None:
    assert unwrapped(16, [1000, 1005, 1002, 1001, 1006]) == [1000, 1005, 1002, 1001, 1006]
    # right after the start, a step back below zero is a step back, not almost a whole cycle on
    assert unwrapped(16, [3, 65535, 4]) == [3, -1, 4]


def test_a_step_back_does_not_move_the_reference_point() -> None:
    # candidates are taken around the highest value so far (65536), not around the late 65535:
    # 32767 is then the nearer one ahead, not exactly half a cycle back
    assert unwrapped(16, [65535, 0, 65535, 32767]) == [65535, 65536, 65535, 65536 + 32767]


def test_timestamps_keep_growing_across_the_32_bit_wrap() -> None:
    top = 1 << 32
    assert unwrapped(32, [top - 6000, top - 3000, 0, 3000]) == [top - 6000, top - 3000, top, top + 3000]


def test_timestamp_reordered_around_the_32_bit_wrap() -> None:
    top = 1 << 32
    assert unwrapped(32, [top - 3000, 1500, top - 1500, 4500]) == [
        top - 3000,
        top + 1500,
        top - 1500,
        top + 4500,
    ]


# -- is_keyframe and h264_nal_types on real encoder output ---------------------------------


def encode(codec: str, frames: int, **settings: object) -> list[av.Packet]:
    """A few tiny frames of a moving square, through one of PyAV's encoders, flushed."""
    context = av.CodecContext.create(codec, "w")
    context.width, context.height, context.pix_fmt = 64, 48, "yuv420p"
    context.bit_rate, context.time_base = 200_000, Fraction(1, 30)
    for name, value in settings.items():
        setattr(context, name, value)
    packets = []
    for index in range(frames):
        image = np.full((48, 64, 3), 40 * index, dtype=np.uint8)
        image[5 * index : 5 * index + 10, 5 * index : 5 * index + 10] = 255
        frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
        frame.pts = index
        packets += context.encode(frame)
    packets += context.encode(None)
    return packets


@pytest.fixture(scope="module")
def vp8_frames() -> list[bytes]:
    packets = encode("libvpx", 3)
    assert [p.is_keyframe for p in packets] == [True, False, False]  # what the encoder says
    return [bytes(p) for p in packets]


@pytest.fixture(scope="module")
def h264_frames() -> list[bytes]:
    packets = encode("libx264", 3, profile="Baseline", options={"tune": "zerolatency"})
    assert [p.is_keyframe for p in packets] == [True, False, False]
    return [bytes(p) for p in packets]


def test_vp8_keyframe_and_delta_frames(vp8_frames: list[bytes]) -> None:
    assert [is_keyframe("VP8", frame) for frame in vp8_frames] == [True, False, False]


def test_vp8_keyframe_needs_a_clear_p_bit(vp8_frames: list[bytes]) -> None:
    keyframe = vp8_frames[0]
    assert not is_keyframe("VP8", bytes([keyframe[0] | 0x01]) + keyframe[1:])


def test_vp8_frame_too_short_for_the_start_code_is_no_keyframe(vp8_frames: list[bytes]) -> None:
    assert not is_keyframe("VP8", vp8_frames[0][:5])
    assert not is_keyframe("VP8", b"")


def test_h264_idr_access_unit_carries_parameter_sets_and_an_idr_slice(h264_frames: list[bytes]) -> None:
    types = h264_nal_types(h264_frames[0])
    assert {5, 7, 8} <= set(types)
    assert types.index(7) < types.index(8) < types.index(5)  # SPS, PPS, then the slice
    assert is_keyframe("H264", h264_frames[0])


def test_h264_p_frames_are_non_idr_slices(h264_frames: list[bytes]) -> None:
    for frame in h264_frames[1:]:
        assert h264_nal_types(frame) == [1]
        assert not is_keyframe("H264", frame)


def test_h264_nal_types_with_3_and_4_byte_start_codes() -> None:
    access_unit = b"\x00\x00\x00\x01\x67\x42\xc0\x1f" + b"\x00\x00\x01\x68\xce" + b"\x00\x00\x01\x65\x88\x84"
    assert h264_nal_types(access_unit) == [7, 8, 5]
    assert h264_nal_types(b"\x00\x00\x01\x41\x9a\x00\x00\x01") == [1]  # a trailing start code alone
    assert h264_nal_types(b"\x41\x9a") == []


@pytest.mark.parametrize("data", [b"", b"\x01\x02", b"\x00\x00\x01\x41"])
def test_audio_is_always_a_keyframe(data: bytes) -> None:
    assert is_keyframe("opus", data)


# -- starts_frame on hand-built RTP payloads -----------------------------------------------


def vp8_payload(
    *, start: bool, partition: int = 0, extended: bool = False, non_reference: bool = False
) -> bytes:
    """An RFC 7741 payload descriptor (with a 15-bit picture id when extended) and some data."""
    first = (0x80 if extended else 0) | (0x20 if non_reference else 0) | (0x10 if start else 0) | partition
    descriptor = bytes([first]) + (b"\x80\x81\x23" if extended else b"")
    return descriptor + b"\x50\x03\x00\x9d\x01\x2a"


@pytest.mark.parametrize(
    ("payload", "starts"),
    [
        (vp8_payload(start=True), True),
        (vp8_payload(start=True, extended=True), True),
        (vp8_payload(start=True, non_reference=True), True),
        (vp8_payload(start=False), False),
        (vp8_payload(start=False, extended=True), False),
        (vp8_payload(start=True, partition=1), False),
        (vp8_payload(start=True, partition=7, extended=True), False),
        (b"", False),
    ],
)
def test_vp8_frame_start(payload: bytes, starts: bool) -> None:
    assert starts_frame("VP8", payload) is starts


def nal_header(nal_type: int, nri: int = 3) -> int:
    return nri << 5 | nal_type


def single_nal(nal_type: int) -> bytes:
    return bytes([nal_header(nal_type)]) + b"\x88\x84\x21"


def stap_a(*nal_types: int) -> bytes:
    payload = bytes([nal_header(24)])
    for nal_type in nal_types:
        nal = single_nal(nal_type)
        payload += len(nal).to_bytes(2, "big") + nal
    return payload


def fu_a(nal_type: int, *, start: bool = False, end: bool = False) -> bytes:
    fu_header = (0x80 if start else 0) | (0x40 if end else 0) | nal_type
    return bytes([nal_header(28), fu_header]) + b"\x88\x84"


@pytest.mark.parametrize(
    ("payload", "starts"),
    [
        (single_nal(7), True),  # SPS
        (single_nal(8), True),  # PPS
        (single_nal(5), True),  # a whole IDR slice
        (single_nal(1), False),  # a P slice: not a place a receiver can start
        (stap_a(7, 8), True),
        (stap_a(7, 8, 5), True),
        (stap_a(1, 1), False),
        (bytes([nal_header(24), 0x00]), False),  # STAP-A cut short before its first NAL unit
        (fu_a(5, start=True), True),
        (fu_a(5), False),  # a middle fragment
        (fu_a(5, end=True), False),
        (fu_a(1, start=True), False),
        (bytes([nal_header(28)]), False),  # FU-A without its FU header
        (b"", False),
    ],
)
def test_h264_frame_start(payload: bytes, starts: bool) -> None:
    assert starts_frame("H264", payload) is starts


def test_other_codecs_start_a_frame_with_every_payload() -> None:
    assert starts_frame("opus", b"\x78")
    assert not starts_frame("opus", b"")


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
    asked, frames = False, []
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


# -- AudioSequencer ------------------------------------------------------------------------


def sequenced(timestamps: Iterable[int]) -> list[int | None]:
    sequencer = AudioSequencer()
    return [sequencer.push(timestamp) for timestamp in timestamps]


def test_audio_forwards_increasing_timestamps() -> None:
    assert sequenced([960, 1920, 2880, 4800]) == [960, 1920, 2880, 4800]


def test_audio_drops_reordered_and_duplicate_packets() -> None:
    assert sequenced([960, 2880, 1920, 2880, 3840]) == [960, 2880, None, None, 3840]


def test_audio_timestamps_across_the_32_bit_wrap() -> None:
    top = 1 << 32
    assert sequenced([top - 1920, top - 960, 0, top - 960, 960]) == [
        top - 1920,
        top - 960,
        top,
        None,
        top + 960,
    ]


# -- codecs --------------------------------------------------------------------------------


def labels(codecs: Iterable[RTCRtpCodecCapability]) -> list[str]:
    """'VP8', 'rtx', 'H264/42e01f': a codec's name, and its profile for H264."""
    return [f"{c.name}/{c.parameters['profile-level-id']}" if c.name == "H264" else c.name for c in codecs]


DEFAULT_VIDEO = ["VP8", "H264/42e01f", "H264/42001f", "rtx"]
H264_FIRST = ["H264/42e01f", "H264/42001f", "VP8", "rtx"]


@pytest.mark.parametrize(
    ("offered", "other_leg", "expected"),
    [
        ({"VP8", "H264", "rtx"}, None, DEFAULT_VIDEO),
        ({"H264", "rtx"}, None, DEFAULT_VIDEO),  # without another leg, the order is the default
        ({"VP8", "H264", "rtx"}, "VP8", DEFAULT_VIDEO),
        ({"VP8", "H264", "rtx"}, "H264", H264_FIRST),
        ({"H264"}, "H264", H264_FIRST),
        ({"VP8", "rtx"}, "H264", DEFAULT_VIDEO),  # this browser cannot share the other leg's H264
        ({"VP8", "H264", "rtx"}, "AV1", DEFAULT_VIDEO),  # not one the relay forwards
    ],
)
def test_video_preferences(offered: set[str], other_leg: str | None, expected: list[str]) -> None:
    assert labels(preferences("video", offered, other_leg)) == expected


@pytest.mark.parametrize("other_leg", [None, "opus", "H264"])
def test_audio_preferences_put_opus_first(other_leg: str | None) -> None:
    ordered = labels(preferences("audio", {"opus", "PCMU"}, other_leg))
    rest = [name for name in labels(RTCRtpSender.getCapabilities("audio").codecs) if name != "opus"]
    assert ordered == ["opus", *rest]
    assert rest  # there are others to put after it


def offer_media(kind: str, codecs: list[RTCRtpCodecCapability] | None = None) -> MediaDescription:
    """The m-line of a real aiortc offer with one transceiver, with codec preferences if given."""

    async def offer() -> str:
        pc = RTCPeerConnection()
        try:
            transceiver = pc.addTransceiver(kind)
            if codecs is not None:
                transceiver.setCodecPreferences(codecs)
            return (await pc.createOffer()).sdp
        finally:
            await pc.close()

    (media,) = SessionDescription.parse(run_async(offer)).media
    return media


@pytest.mark.parametrize(
    ("kind", "offered", "other_leg"),
    [
        ("video", {"VP8", "H264", "rtx"}, None),
        ("video", {"VP8", "H264", "rtx"}, "H264"),
        ("video", {"VP8"}, "H264"),
        ("audio", {"opus"}, None),
    ],
)
def test_preferences_are_accepted_and_applied_by_a_transceiver(
    kind: str, offered: set[str], other_leg: str | None
) -> None:
    wanted = preferences(kind, offered, other_leg)
    media = offer_media(kind, wanted)
    offered_order = [label for label in labels(media.rtp.codecs) if label != "rtx"]
    assert offered_order == [label for label in labels(wanted) if label != "rtx"]
    assert ("rtx" in labels(media.rtp.codecs)) == (kind == "video")


def test_offered_codecs_of_a_real_aiortc_offer() -> None:
    assert offered_codecs(offer_media("video")) == {"VP8", "H264", "rtx"}
    assert offered_codecs(offer_media("audio")) == {"opus", "G722", "PCMU", "PCMA"}


def browser_video_media(*codec_lines: str) -> MediaDescription:
    """The video m-line of a hand-written browser offer; each codec: 'pt name [fmtp]'."""
    payload_types = [line.split()[0] for line in codec_lines]
    lines = [
        "v=0",
        "o=- 1 2 IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
        f"m=video 9 UDP/TLS/RTP/SAVPF {' '.join(payload_types)}",
        "c=IN IP4 0.0.0.0",
        "a=mid:0",
        "a=sendrecv",
        "a=rtcp-mux",
    ]
    for line in codec_lines:
        pt, name, *fmtp = line.split(maxsplit=2)
        lines.append(f"a=rtpmap:{pt} {name}/90000")
        lines += [f"a=fmtp:{pt} {fmtp[0]}"] if fmtp else []
    (media,) = SessionDescription.parse("\r\n".join(lines) + "\r\n").media
    return media


VP8_LINE = "96 VP8"
RTX_LINE = "97 rtx apt=96"
H264_MODE_1 = "102 H264 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"
H264_MODE_0 = "104 H264 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f"
H264_NO_MODE = "106 H264 profile-level-id=42e01f"  # packetization-mode defaults to 0


def test_offered_codecs_keep_h264_with_packetization_mode_1() -> None:
    media = browser_video_media(VP8_LINE, RTX_LINE, H264_MODE_1, H264_MODE_0)
    assert offered_codecs(media) == {"VP8", "rtx", "H264"}


def test_offered_codecs_skip_h264_the_relay_cannot_forward() -> None:
    media = browser_video_media(VP8_LINE, RTX_LINE, H264_MODE_0, H264_NO_MODE)
    assert offered_codecs(media) == {"VP8", "rtx"}
    # so a leg sharing the other's H264 is not tried with this browser
    assert labels(preferences("video", offered_codecs(media), "H264")) == DEFAULT_VIDEO


def test_offered_h264_lets_the_legs_share_it() -> None:
    media = browser_video_media(H264_MODE_0, H264_MODE_1, VP8_LINE)
    assert labels(preferences("video", offered_codecs(media), "H264")) == H264_FIRST
