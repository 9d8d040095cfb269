"""One visit: the patient's and the clinician's peer connections and the relay between them.

Each browser holds one RTCPeerConnection to the worker and offers; the worker answers with
one complete SDP (aiortc does not trickle). The m-lines are matched by order:
  patient:   audio (sendrecv), video camera (sendrecv), video screen share (recvonly)
  clinician: audio (sendrecv), video camera (sendrecv), video screen share (sendonly, when on)
A new offer on the same connection renegotiates (screen share on or off); an offer from a
different browser connection (a reload) replaces the old peer.
"""

from __future__ import annotations

import logging
from typing import Any

from aiortc import MediaStreamTrack, RTCIceCandidate, RTCSessionDescription
from aiortc.rtcrtptransceiver import RTCRtpTransceiver
from aiortc.sdp import candidate_from_sdp

from media_worker.peers import Peer, PeerSet
from media_worker.relay import DecodingRelay, Relay

log = logging.getLogger("media_worker.visit")

OTHER = {"patient": "clinician", "clinician": "patient"}
VIDEO_SLOTS = ("video", "screen")


class Visit:
    def __init__(self, appointment_id: str, peers: PeerSet, relay: Relay | None = None) -> None:
        self.appointment_id = appointment_id
        self._peers = peers
        self.relay: Relay = relay or DecodingRelay()

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
        await peer.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        self._attach_outgoing(peer)
        await peer.pc.setLocalDescription(await peer.pc.createAnswer())
        return str(peer.pc.localDescription.sdp)

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

    def _wire(self, peer: Peer) -> None:
        pc = peer.pc

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            source = (peer.role, _slot(pc.getTransceivers(), track))
            self.relay.publish(source, track)

            @track.on("ended")
            def on_ended() -> None:
                self.relay.unpublish(source, track)

    def _attach_outgoing(self, peer: Peer) -> None:
        """Gives every m-line the browser can receive on a track from the other participant."""
        other = OTHER[peer.role]
        videos = 0
        for transceiver in peer.pc.getTransceivers():
            if transceiver.kind == "audio":
                slot = "audio"
            else:
                slot = VIDEO_SLOTS[min(videos, 1)]
                videos += 1
            if transceiver.sender.track is not None or (peer.role == "clinician" and slot == "screen"):
                continue  # already fed; and nothing goes back on the clinician's own screen share
            transceiver.sender.replaceTrack(self.relay.outgoing((other, slot), transceiver.kind))
            transceiver.direction = "sendrecv" if slot != "screen" else "sendonly"


def _slot(transceivers: list[RTCRtpTransceiver], track: MediaStreamTrack) -> str:
    if track.kind == "audio":
        return "audio"
    videos = [t for t in transceivers if t.kind == "video"]
    for index, transceiver in enumerate(videos):
        if transceiver.receiver.track is track:
            return VIDEO_SLOTS[min(index, 1)]
    return "video"


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
