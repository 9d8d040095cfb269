"""The worker's explicit set of peer connections, with their lifecycle.

Every RTCPeerConnection the worker makes is here, and only here. A peer that fails or closes
is removed and closed; one still not connected after the connect timeout is closed too; and
`close_all` (SIGTERM) closes every one of them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiortc import RTCBundlePolicy, RTCConfiguration, RTCIceServer, RTCPeerConnection

log = logging.getLogger("media_worker.peers")

PeerKey = tuple[str, str]  # (appointment id, seat): one peer per seat of a visit


def peer_configuration(stun_urls: list[str]) -> RTCConfiguration:
    """How the worker's peers gather and bundle.

    ICE servers are always explicit: left unset, aiortc would ask Google's public STUN server,
    which a locked-down network cannot reach (and a hanging DNS lookup holds up shutdown).
    One transport carries every m-line, as browsers offer: with aiortc's default ("balanced"),
    a second video m-line (the screen share) is left on a transport that never starts.
    """
    return RTCConfiguration(
        iceServers=[RTCIceServer(urls=url) for url in stun_urls],
        bundlePolicy=RTCBundlePolicy.MAX_BUNDLE,
    )


@dataclass(eq=False)
class Peer:
    key: PeerKey
    browser_peer: tuple[str, str]  # (websocket connection, peer id) of the browser that offered
    pc: RTCPeerConnection
    created_at: float = field(default_factory=time.monotonic)

    @property
    def appointment_id(self) -> str:
        return self.key[0]

    @property
    def role(self) -> str:
        """The peer's seat (clinician, patient, guest-1, guest-2)."""
        return self.key[1]

    @property
    def seat(self) -> str:
        return self.key[1]


class PeerSet:
    def __init__(
        self,
        connect_timeout: float,
        on_closed: Callable[[Peer], Awaitable[None]] | None = None,
        configuration: RTCConfiguration | None = None,
    ) -> None:
        self._peers: dict[PeerKey, Peer] = {}
        self._connect_timeout = connect_timeout
        self._on_closed = on_closed
        self._configuration = configuration or peer_configuration([])
        self._watchdogs: set[asyncio.Task[None]] = set()

    def __len__(self) -> int:
        return len(self._peers)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(list(self._peers.values()))

    def get(self, key: PeerKey) -> Peer | None:
        return self._peers.get(key)

    def of_appointment(self, appointment_id: str) -> list[Peer]:
        return [p for p in self._peers.values() if p.appointment_id == appointment_id]

    async def create(self, key: PeerKey, browser_peer: tuple[str, str]) -> Peer:
        """A new peer for `key`; one that was there before (a reload) is closed first."""
        old = self._peers.get(key)
        if old is not None:
            await self.close(old)
        peer = Peer(key, browser_peer, RTCPeerConnection(self._configuration))
        self._peers[key] = peer

        @peer.pc.on("connectionstatechange")
        async def on_state() -> None:
            state = peer.pc.connectionState
            log.info("peer %s/%s is %s", peer.role, peer.appointment_id[:8], state)
            if state in ("failed", "closed"):
                await self.close(peer)

        watchdog = asyncio.create_task(self._watch(peer))
        self._watchdogs.add(watchdog)
        watchdog.add_done_callback(self._watchdogs.discard)
        return peer

    async def _watch(self, peer: Peer) -> None:
        await asyncio.sleep(self._connect_timeout)
        if self._peers.get(peer.key) is peer and peer.pc.connectionState != "connected":
            log.warning(
                "peer %s/%s stuck in %s; closing it",
                peer.role,
                peer.appointment_id[:8],
                peer.pc.connectionState,
            )
            await self.close(peer)

    async def close(self, peer: Peer) -> None:
        if self._peers.get(peer.key) is not peer:
            return
        del self._peers[peer.key]
        await peer.pc.close()
        if self._on_closed is not None:
            await self._on_closed(peer)

    async def close_all(self) -> None:
        for peer in list(self._peers.values()):
            await self.close(peer)
        for watchdog in list(self._watchdogs):
            watchdog.cancel()
