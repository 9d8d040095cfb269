"""One visit: the patient's and the clinician's peer connections and the relay between them.

Each browser holds one RTCPeerConnection to the worker and offers; the worker answers with
one complete SDP (aiortc does not trickle). The m-lines are matched by their order, which
eclinic_protocol.mlines states (audio, camera, the clinician's screen share) with the direction
each page offers on each; the worker answers the mirror of that. A new offer on the same
connection renegotiates (screen share on or off); an offer from a different browser
connection (a reload) replaces the old peer.

The worker creates the transceivers for an offer's new m-lines itself, before applying it, so
that it can set the codec order of its answer (`codecs.preferences`): a leg takes the codec the
other participant's leg already uses when this browser has it, and the relay forwards. When
the leg answered first could not know (a browser that offers VP8 and H264 answered with VP8,
then an H264-only one joins), the worker asks for that first browser to offer again
(`on_renegotiate`), and its new leg takes H264 too; until then the relay transcodes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from aiortc import MediaStreamTrack, RTCIceCandidate, RTCSessionDescription
from aiortc.rtcrtptransceiver import RTCRtpTransceiver
from aiortc.sdp import SessionDescription, candidate_from_sdp

from eclinic_protocol.mlines import AUDIO, VIDEO, VIDEO_SLOTS, answer_direction
from media_worker.codecs import offered_codecs, preferences
from media_worker.peers import Peer, PeerSet
from media_worker.relay import ForwardingRelay, Relay

log = logging.getLogger("media_worker.visit")

OTHER = {"patient": "clinician", "clinician": "patient"}


class Visit:
    def __init__(
        self,
        appointment_id: str,
        peers: PeerSet,
        relay: Relay | None = None,
        on_renegotiate: Callable[[str], None] | None = None,
    ) -> None:
        self.appointment_id = appointment_id
        self._peers = peers
        self.relay: Relay = relay or ForwardingRelay()
        self._on_renegotiate = on_renegotiate or (lambda role: None)
        self.leg_codecs: dict[str, str] = {}  # role -> the video codec its leg negotiated
        self._offered: dict[str, set[str]] = {}  # role -> the video codecs its browser offered
        self._asked_again: set[tuple[str, str]] = set()  # browser peers asked to offer again

    @property
    def active(self) -> bool:
        return bool(self._peers.of_appointment(self.appointment_id))

    async def offer(self, role: str, browser_peer: tuple[str, str], sdp: str) -> str:
        if role not in OTHER:
            raise ValueError(f"unknown role {role!r}")
        peer = self._peers.get((self.appointment_id, role))
        if peer is None or peer.browser_peer != browser_peer:
            peer = await self._peers.create((self.appointment_id, role), browser_peer)
            self._wire(peer)
        self._prepare_transceivers(peer, SessionDescription.parse(sdp))
        await peer.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        self._set_directions(peer)
        await peer.pc.setLocalDescription(await peer.pc.createAnswer())
        answer = str(peer.pc.localDescription.sdp)
        self._attach_outgoing(peer, SessionDescription.parse(answer))
        return answer

    async def add_candidate(self, role: str, browser_peer: tuple[str, str], candidate: Any) -> None:
        peer = self._peers.get((self.appointment_id, role))
        if peer is None or peer.browser_peer != browser_peer:
            return
        parsed = _candidate(candidate)
        if parsed is not None:
            await peer.pc.addIceCandidate(parsed)

    async def close(self) -> None:
        for peer in self._peers.of_appointment(self.appointment_id):
            await self._peers.close(peer)
        self.relay.close()

    def peer_closed(self, peer: Peer) -> None:
        """The peer's sources stop; the other participant's receivers wait for its next peer."""
        self.leg_codecs.pop(peer.role, None)
        for transceiver, slot in _slots(peer.pc.getTransceivers()):
            self.relay.unpublish((peer.role, slot), transceiver)

    def _wire(self, peer: Peer) -> None:
        pc = peer.pc

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            for transceiver, slot in _slots(pc.getTransceivers()):
                if transceiver.receiver.track is track:
                    self.relay.publish((peer.role, slot), transceiver)

    def _prepare_transceivers(self, peer: Peer, offer: SessionDescription) -> None:
        """A transceiver for each new m-line of the offer, with the worker's codec order."""
        known = {t.mid for t in peer.pc.getTransceivers()}
        cameras = [m for m in offer.media if m.kind == "video"]
        if cameras:
            self._offered[peer.role] = offered_codecs(cameras[0])
        for media in offer.media:
            if media.kind not in ("audio", "video") or media.rtp.muxId in known:
                continue
            transceiver = peer.pc.addTransceiver(media.kind, direction="recvonly")
            transceiver.setCodecPreferences(
                preferences(media.kind, offered_codecs(media), self.leg_codecs.get(OTHER[peer.role]))
            )

    def _set_directions(self, peer: Peer) -> None:
        for index, transceiver in enumerate(peer.pc.getTransceivers()):
            # Nothing goes back on the clinician's own screen share (recvonly there).
            transceiver.direction = answer_direction(peer.role, index)

    def _attach_outgoing(self, peer: Peer, answer: SessionDescription) -> None:
        """Feeds every m-line the browser can receive with the other participant's source."""
        other = OTHER[peer.role]
        negotiated = {m.rtp.muxId: m.rtp.codecs[0].name for m in answer.media if m.rtp.codecs}
        for transceiver, slot in _slots(peer.pc.getTransceivers()):
            codec = negotiated.get(transceiver.mid or "")
            if codec is None:
                continue
            if slot == VIDEO:
                self.leg_codecs[peer.role] = codec
            if transceiver.sender.track is not None or transceiver.direction == "recvonly":
                continue  # already fed, or the clinician's own screen share
            self.relay.subscribe((other, slot), transceiver, codec)
        mine, theirs = self.leg_codecs.get(peer.role), self.leg_codecs.get(other)
        other_peer = self._peers.get((self.appointment_id, other))
        if (
            mine
            and theirs
            and mine != theirs
            and mine in self._offered.get(other, set())
            and other_peer is not None
            and other_peer.browser_peer not in self._asked_again  # once per peer
        ):
            self._asked_again.add(other_peer.browser_peer)
            log.info("asking the %s's browser to offer again, for %s on both legs", other, mine)
            self._on_renegotiate(other)


def _slots(transceivers: list[RTCRtpTransceiver]) -> list[tuple[RTCRtpTransceiver, str]]:
    """Each transceiver with the slot it carries: m-lines are matched by order."""
    slots = []
    videos = 0
    for transceiver in transceivers:
        if transceiver.kind == AUDIO:
            slots.append((transceiver, AUDIO))
        else:
            slots.append((transceiver, VIDEO_SLOTS[min(videos, 1)]))
            videos += 1
    return slots


def _candidate(candidate: Any) -> RTCIceCandidate | None:
    """A browser's ICE candidate ({candidate, sdpMid, sdpMLineIndex}); None for end-of-candidates."""
    if isinstance(candidate, str):
        candidate = {"candidate": candidate}
    if not isinstance(candidate, dict):
        return None
    text = candidate.get("candidate")
    if not isinstance(text, str) or not text:
        return None
    parsed = candidate_from_sdp(text.split(":", 1)[1] if text.startswith("candidate:") else text)
    parsed.sdpMid = candidate.get("sdpMid")
    index = candidate.get("sdpMLineIndex")
    parsed.sdpMLineIndex = index if isinstance(index, int) else None
    return parsed
