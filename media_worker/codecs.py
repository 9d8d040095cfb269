"""Which codec each leg of a visit uses, so that the relay can forward instead of transcode.

Every browser the product supports can send and receive VP8, and every one but some iOS
builds and in-app views prefers it; iOS Safari always has H264 constrained baseline with
packetization-mode 1. So the worker's answer orders VP8 first, then H264 constrained
baseline, then H264 baseline, unless another codec lets more legs forward: `CodecPlan` says
which, per m-line.

A video m-line carries one codec both ways. On an m-line the page sends on (its camera, the
clinician's screen share) the plan prefers a codec every participant offered, and among those
the one most other legs already use; failing a shared one, the one most other legs use. On an
m-line that only receives, it prefers the codec its source sends. A page whose m-lines would
take other codecs if it offered again now (it answered before a Safari-like guest came) is
asked to, once per peer connection; a transcoder runs only where a receiver shares no codec
with its source.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from aiortc import RTCRtpCodecCapability, RTCRtpSender
from aiortc.sdp import MediaDescription

from eclinic_protocol.mlines import M_LINES, SCREEN, VIDEO, m_line_sent, m_line_slot, m_line_source

VIDEO_ORDER = ("VP8", "H264")
# Within H264: constrained baseline first (what iOS Safari sends), then baseline.
H264_PROFILE_ORDER = ("42e01f", "42001f")
CAMERA_INDEX = M_LINES.index(VIDEO)
SCREEN_INDEX = M_LINES.index(SCREEN)


def offered_codecs(media: MediaDescription) -> set[str]:
    """The codecs a browser offered on one m-line that the relay can forward."""
    names = set()
    for codec in media.rtp.codecs:
        if codec.name == "H264" and str(codec.parameters.get("packetization-mode", "0")) != "1":
            continue
        names.add(codec.name)
    return names


def most_used(candidates: Iterable[str], in_use: Iterable[str]) -> str | None:
    """Of the video codecs in `candidates`, the one most legs in `in_use` have (ties and none in
    use: VIDEO_ORDER's order); None when no candidate is a codec the relay forwards."""
    usable = [c for c in VIDEO_ORDER if c in set(candidates)]
    if not usable:
        return None
    counts = Counter(in_use)
    return max(usable, key=lambda c: (counts[c], -VIDEO_ORDER.index(c)))


def preferences(kind: str, offered: set[str], preferred: str | None) -> list[RTCRtpCodecCapability]:
    """The worker's codec preferences for one m-line of its answer, most preferred first."""
    capabilities = RTCRtpSender.getCapabilities(kind).codecs
    if kind != "video":
        return sorted(capabilities, key=lambda c: c.name.lower() != "opus")
    order = list(VIDEO_ORDER)
    if preferred in order and preferred in offered:
        order.remove(preferred)
        order.insert(0, preferred)

    def rank(codec: RTCRtpCodecCapability) -> tuple[int, int]:
        if codec.name == "rtx":
            return (len(order), 0)
        profile = str(codec.parameters.get("profile-level-id", "")).lower()
        within = H264_PROFILE_ORDER.index(profile) if profile in H264_PROFILE_ORDER else 0
        return (order.index(codec.name) if codec.name in order else len(order), within)

    return sorted(capabilities, key=rank)


class CodecPlan:
    """The video codecs of one visit's m-lines: what each seat's browser offered on each, what
    each negotiated, and what each would best take now. Seats without a peer are forgotten."""

    def __init__(self) -> None:
        self.offered: dict[str, dict[int, set[str]]] = {}  # seat -> m-line index -> codecs
        self.negotiated: dict[str, dict[int, str]] = {}  # seat -> m-line index -> codec (active ones)

    def forget(self, seat: str) -> None:
        self.offered.pop(seat, None)
        self.negotiated.pop(seat, None)

    def leg(self, seat: str) -> str | None:
        """The codec of the seat's camera m-line: what its browser sends its camera in."""
        return self.negotiated.get(seat, {}).get(CAMERA_INDEX)

    def sent(self, seat: str, slot: str) -> str | None:
        """The codec the seat's browser sends `slot` (camera or screen) in, when known."""
        if slot == SCREEN:
            return self.negotiated.get(seat, {}).get(SCREEN_INDEX) or self.leg(seat)
        return self.leg(seat)

    def wanted(self, seat: str, index: int) -> str | None:
        """The codec the m-line at `index` of the seat's page would best take now."""
        offered = self.offered.get(seat, {}).get(index, set())
        if not m_line_sent(seat, index):
            source = m_line_source(seat, index)
            codec = self.sent(source, m_line_slot(index)) if source is not None else None
            if codec in offered:
                return codec
        others = [other for other in self.offered if other != seat]
        shared = offered.intersection(*(self.offered[o].get(CAMERA_INDEX, set()) for o in others))
        in_use = [codec for other in others if (codec := self.leg(other)) is not None]
        return most_used(shared or offered, in_use)

    def would_change(self, seat: str) -> bool:
        """Whether an active m-line of the seat would take another codec if it offered again."""
        negotiated = self.negotiated.get(seat, {})
        return any(self.wanted(seat, index) != codec for index, codec in negotiated.items())
