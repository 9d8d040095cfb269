"""One visit: the peer connection of each seat (clinician, patient, up to two guests) and the
relay between them.

Each browser holds one RTCPeerConnection to the worker and offers; the worker answers with
one complete SDP (aiortc does not trickle). Which m-line carries what is said nowhere in the
SDP: eclinic_protocol.mlines states it by index (own media out and the first other seat's in,
the clinician's screen share, then a receive-only pair per further other seat), and the worker
maps every m-line of a seat's offer by that rule. What the seat sends there is published as the
source (seat, slot); every m-line that receives is fed from (`m_line_source`, slot), with a track
of its own. A new offer on the same connection renegotiates: a pair added for a guest who
joined gets new legs (starting on a keyframe) while the running legs go on untouched; a pair
the page set `inactive` (its seat emptied) is answered `inactive` and its sender idles. An offer
from a different browser connection (a reload) replaces the old peer.

The worker creates the transceivers for an offer's new m-lines itself, before applying it, so
that it can set the codec order of its answer (`codecs.CodecPlan`). When a page's m-lines would
take other codecs now than they did when it answered (a Safari-like guest offering H264 only
came later), the worker asks that page to offer again (`on_renegotiate`), once per peer
connection; until then, and where no codec is shared, the relay transcodes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiortc import RTCIceCandidate, RTCSessionDescription
from aiortc.rtcrtptransceiver import RTCRtpTransceiver
from aiortc.sdp import SessionDescription, candidate_from_sdp

from eclinic_protocol.mlines import (
    AUDIO,
    MAX_M_LINES,
    SEATS,
    VIDEO,
    answer_direction,
    m_line_sent,
    m_line_slot,
    m_line_source,
)
from media_worker.codecs import CodecPlan, offered_codecs, preferences
from media_worker.forwarding import SourceKey
from media_worker.peers import Peer, PeerSet
from media_worker.relay import ForwardingRelay, Relay

log = logging.getLogger("media_worker.visit")

RECEIVING = ("recvonly", "sendrecv")  # directions in which the worker receives on an m-line
SENDING = ("sendonly", "sendrecv")  # ... and sends


@dataclass(frozen=True)
class MLine:
    """One m-line of a seat's offer: where it is in the layout and its transceiver here."""

    index: int
    transceiver: RTCRtpTransceiver
    offered: str  # the page's direction

    @property
    def slot(self) -> str:
        return m_line_slot(self.index)

    @property
    def usable(self) -> bool:
        """In the layout, and of the kind the layout has there (anything else is answered inactive)."""
        kind = AUDIO if self.slot == AUDIO else VIDEO
        return self.index < MAX_M_LINES and self.transceiver.kind == kind

    def answer(self, seat: str) -> str:
        """The worker's direction: the layout's mirror, `inactive` where the page set it so."""
        if not self.usable:
            return "inactive"
        return answer_direction(seat, self.index, self.offered if self.offered == "inactive" else None)

    @property
    def carries(self) -> bool:
        """What the worker negotiated on it leaves it active (after the answer)."""
        return self.transceiver.currentDirection not in (None, "inactive")


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
        self._on_renegotiate = on_renegotiate or (lambda seat: None)
        self.codecs = CodecPlan()
        self._published: dict[SourceKey, tuple[Peer, RTCRtpTransceiver]] = {}
        self._asked_again: set[tuple[str, str]] = set()  # browser peers asked to offer again

    @property
    def active(self) -> bool:
        return bool(self._peers.of_appointment(self.appointment_id))

    @property
    def leg_codecs(self) -> dict[str, str]:
        """Seat -> the video codec its camera's leg negotiated."""
        return {seat: codec for seat in SEATS if (codec := self.codecs.leg(seat)) is not None}

    def peer(self, seat: str) -> Peer | None:
        return self._peers.get((self.appointment_id, seat))

    async def offer(self, seat: str, browser_peer: tuple[str, str], sdp: str) -> str:
        if seat not in SEATS:
            raise ValueError(f"unknown seat {seat!r}")
        peer = self.peer(seat)
        if peer is None or peer.browser_peer != browser_peer:
            peer = await self._peers.create((self.appointment_id, seat), browser_peer)
        offer = SessionDescription.parse(sdp)
        self._prepare_transceivers(peer, offer)
        await peer.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        lines = _m_lines(peer, offer)
        for line in lines:
            line.transceiver.direction = line.answer(seat)
        await peer.pc.setLocalDescription(await peer.pc.createAnswer())
        answer = str(peer.pc.localDescription.sdp)
        usable = [line for line in lines if line.usable]
        self._publish(peer, usable)
        self._subscribe(peer, usable, SessionDescription.parse(answer))
        self._ask_again()
        return answer

    async def add_candidate(self, seat: str, browser_peer: tuple[str, str], candidate: Any) -> None:
        peer = self.peer(seat)
        if peer is None or peer.browser_peer != browser_peer:
            return
        parsed = _candidate(candidate)
        if parsed is not None:
            await peer.pc.addIceCandidate(parsed)

    async def leave(self, seat: str, connection: str) -> bool:
        """Closes the seat's peer if it is still the one of browser connection `connection`
        (any, when empty): a `leave` that crossed a reload must not end the new peer."""
        peer = self.peer(seat)
        if peer is None or (connection and peer.browser_peer[0] != connection):
            return False
        await self._peers.close(peer)
        return True

    async def close(self) -> None:
        for peer in self._peers.of_appointment(self.appointment_id):
            await self._peers.close(peer)
        self.relay.close()

    def peer_closed(self, peer: Peer) -> None:
        """The peer's sources stop; every receiver fed from them waits, idle, for the seat's next
        peer (a reload, a guest who rejoins) to publish again."""
        if self.peer(peer.role) is None:
            self.codecs.forget(peer.role)
        for key, (publisher, transceiver) in list(self._published.items()):
            if publisher is peer:
                del self._published[key]
                self.relay.unpublish(key, transceiver)

    def _prepare_transceivers(self, peer: Peer, offer: SessionDescription) -> None:
        """A transceiver for each new m-line of the offer, with the worker's codec order."""
        seat = peer.role
        self.codecs.offered[seat] = {
            index: offered_codecs(media) for index, media in enumerate(offer.media) if media.kind == "video"
        }
        known = {t.mid for t in peer.pc.getTransceivers()}
        for index, media in enumerate(offer.media):
            if media.kind not in ("audio", "video") or media.rtp.muxId in known:
                continue
            transceiver = peer.pc.addTransceiver(media.kind, direction="recvonly")
            video = media.kind == "video" and index < MAX_M_LINES
            wanted = self.codecs.wanted(seat, index) if video else None
            transceiver.setCodecPreferences(preferences(media.kind, offered_codecs(media), wanted))

    def _publish(self, peer: Peer, lines: list[MLine]) -> None:
        """What the seat sends becomes its source; an m-line it stopped sending on (a screen
        share stopped: `inactive`) no longer feeds it."""
        for line in lines:
            if not m_line_sent(peer.role, line.index):
                continue
            key = (peer.role, line.slot)
            published = self._published.get(key)
            here = published is not None and published[1] is line.transceiver
            if line.transceiver.currentDirection in RECEIVING and not here:
                self._published[key] = (peer, line.transceiver)
                self.relay.publish(key, line.transceiver)
            elif line.transceiver.currentDirection not in RECEIVING and here:
                del self._published[key]
                self.relay.unpublish(key, line.transceiver)

    def _subscribe(self, peer: Peer, lines: list[MLine], answer: SessionDescription) -> None:
        """Feeds every m-line the browser receives on from the seat the layout names there, in
        the codec negotiated on it; an inactive one idles."""
        seat = peer.role
        negotiated = {m.rtp.muxId: m.rtp.codecs[0].name for m in answer.media if m.rtp.codecs}
        self.codecs.negotiated[seat] = {}
        for line in lines:
            codec = negotiated.get(line.transceiver.mid or "")
            if codec is None:
                continue
            if line.slot != AUDIO and line.carries:
                self.codecs.negotiated[seat][line.index] = codec
            source = m_line_source(seat, line.index)
            if source is not None and line.transceiver.currentDirection in SENDING:
                self.relay.subscribe((source, line.slot), line.transceiver, codec)
            else:
                self.relay.unsubscribe(line.transceiver)

    def _ask_again(self) -> None:
        """Asks each page whose m-lines would now take other codecs to offer again, once per
        peer connection (a two-party visit: the first browser, when an H264-only one joined)."""
        for seat in SEATS:
            peer = self.peer(seat)
            if peer is None or peer.browser_peer in self._asked_again or not self.codecs.would_change(seat):
                continue
            self._asked_again.add(peer.browser_peer)
            log.info("asking the %s's browser to offer again, so that more legs forward", seat)
            self._on_renegotiate(seat)


def _m_lines(peer: Peer, offer: SessionDescription) -> list[MLine]:
    """The offer's audio and video m-lines with their transceivers, by index in the offer."""
    by_mid = {t.mid: t for t in peer.pc.getTransceivers()}
    return [
        MLine(index, by_mid[media.rtp.muxId], media.direction or "sendrecv")
        for index, media in enumerate(offer.media)
        if media.kind in ("audio", "video") and media.rtp.muxId in by_mid
    ]


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
