"""Each leg's codec order (`media_worker.codecs`), so that no leg needs a transcode: the
preferences against aiortc's own SDP and transceiver, and what a browser's offer lists.
Split from test_frames.py, which checks the frame logic.
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from aiortc import RTCPeerConnection, RTCRtpCodecCapability, RTCRtpCodecParameters, RTCRtpSender
from aiortc.sdp import MediaDescription, SessionDescription

from media_worker.codecs import offered_codecs, preferences
from tests.threads import run_async

# -- codecs --------------------------------------------------------------------------------


def labels(codecs: Iterable[RTCRtpCodecCapability | RTCRtpCodecParameters]) -> list[str]:
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
