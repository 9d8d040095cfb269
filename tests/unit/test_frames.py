"""The forwarding relay's frame logic, checked without a network or a peer.

The relay forwards what browsers encoded, so `media_worker.frames` alone decides when a frame
is whole, whether it is a keyframe and whether frames were lost before it, and
`media_worker.codecs` decides which codec each leg uses so that no leg needs a transcode. A
mistake in either shows up in a visit only as frozen or garbled video, so these tests pin the
logic down packet by packet: real VP8 and H264 frames from PyAV's encoders, hand-built RTP
payload headers. The frame assembler's tests are in test_frame_assembler.py (with a fake clock
for the hole timeout), the codec order's in test_codecs.py (aiortc's own SDP and transceiver).
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from typing import cast

import av
import numpy as np
import pytest

from media_worker.frames import (
    AudioSequencer,
    Unwrapper,
    h264_nal_types,
    is_keyframe,
    starts_frame,
)

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


def encode(codec: str, frames: int, **settings: object) -> list[av.Packet]:  # type: ignore[type-arg]
    """A few tiny frames of a moving square, through one of PyAV's encoders, flushed."""
    # PyAV types `create` as the base CodecContext; an encoder of video is a VideoCodecContext.
    context = cast(av.VideoCodecContext, av.CodecContext.create(codec, "w"))
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
