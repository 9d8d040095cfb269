"""Which codec each leg of a visit uses, so that the relay can forward instead of transcode.

Every browser the product supports can send and receive VP8, and every one but some iOS
builds and in-app views prefers it; iOS Safari always has H264 constrained baseline with
packetization-mode 1. So the worker's answer orders VP8 first, then H264 constrained
baseline, then H264 baseline, unless the other participant's leg already uses a codec that
this browser offers too: then that one comes first, and both legs share it.
"""

from __future__ import annotations

from aiortc import RTCRtpCodecCapability, RTCRtpSender
from aiortc.sdp import MediaDescription

VIDEO_ORDER = ("VP8", "H264")
# Within H264: constrained baseline first (what iOS Safari sends), then baseline.
H264_PROFILE_ORDER = ("42e01f", "42001f")


def offered_codecs(media: MediaDescription) -> set[str]:
    """The codecs a browser offered on one m-line that the relay can forward."""
    names = set()
    for codec in media.rtp.codecs:
        if codec.name == "H264" and str(codec.parameters.get("packetization-mode", "0")) != "1":
            continue
        names.add(codec.name)
    return names


def preferences(kind: str, offered: set[str], other_leg: str | None) -> list[RTCRtpCodecCapability]:
    """The worker's codec preferences for one m-line of its answer, most preferred first."""
    capabilities = RTCRtpSender.getCapabilities(kind).codecs
    if kind != "video":
        return sorted(capabilities, key=lambda c: c.name.lower() != "opus")
    order = list(VIDEO_ORDER)
    if other_leg in order and other_leg in offered:
        order.remove(other_leg)
        order.insert(0, other_leg)

    def rank(codec: RTCRtpCodecCapability) -> tuple[int, int]:
        if codec.name == "rtx":
            return (len(order), 0)
        profile = str(codec.parameters.get("profile-level-id", "")).lower()
        within = H264_PROFILE_ORDER.index(profile) if profile in H264_PROFILE_ORDER else 0
        return (order.index(codec.name) if codec.name in order else len(order), within)

    return sorted(capabilities, key=rank)
