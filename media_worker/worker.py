"""The worker: takes signalling messages from the server and runs the visits they name.

Messages from the server: `offer` and `candidate` (from a browser), `capture` (after the
patient's consent), `end` (the session is over or has moved). To the server: `answer`,
`captured` / `capture_failed`, `renegotiate` (ask one browser to offer again, so that both
legs share a codec), and `worker_hello` / `worker_status` with its load.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from aiortc import RTCConfiguration

from media_worker.config import WorkerConfig
from media_worker.health import LoadMetric, mark_alive
from media_worker.peers import Peer, PeerSet, peer_configuration
from media_worker.relay import RELAYS, Relay
from media_worker.screenshots import ConsentRefused, ScreenshotTaker
from media_worker.signalling import SignallingClient
from media_worker.storage import ImageStore
from media_worker.visit import Visit

log = logging.getLogger("media_worker")


def browser_peer(message: dict[str, Any]) -> tuple[str, str]:
    """One RTCPeerConnection of one browser connection: a new one is a new peer here."""
    return str(message.get("from")), str(message.get("peer_id", ""))


class Worker:
    def __init__(
        self,
        config: WorkerConfig,
        store: ImageStore,
        relay_factory: Callable[[], Relay] | None = None,
        rtc_configuration: RTCConfiguration | None = None,
    ) -> None:
        self.config = config
        self.peers = PeerSet(
            config.connect_timeout,
            self._peer_closed,
            rtc_configuration or peer_configuration(list(config.stun_urls)),
        )
        self.visits: dict[str, Visit] = {}
        self.screenshots = ScreenshotTaker(store)
        self.draining = False
        self._relay_factory = relay_factory or RELAYS[config.relay]
        self._locks: dict[str, asyncio.Lock] = {}
        self.signalling = SignallingClient(
            config.ws_url,
            config.credential,
            self.on_message,
            hello=self.hello,
            status=self.status,
            heartbeat_seconds=config.heartbeat_seconds,
        )

    # -- what the server hears -------------------------------------------------------------

    @property
    def load(self) -> int:
        return sum(1 for visit in self.visits.values() if visit.active)

    @property
    def transcoded_streams(self) -> int:
        """Streams of the running visits that had to be decoded and re-encoded (no shared codec)."""
        return sum(visit.relay.transcoded_streams for visit in self.visits.values())

    def hello(self) -> dict[str, Any]:
        return {
            "type": "worker_hello",
            "worker_id": self.config.worker_id,
            "capacity": self.config.capacity,
            "load": self.load,
        }

    def status(self) -> dict[str, Any]:
        return {
            "type": "worker_status",
            "capacity": self.config.capacity,
            "load": self.load,
            "draining": self.draining,
        }

    # -- what the server says --------------------------------------------------------------

    async def on_message(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        appointment_id = message.get("appointment_id")
        if kind == "worker_welcome" or not isinstance(appointment_id, str):
            return
        async with self._lock(appointment_id):
            if kind == "offer":
                await self._offer(appointment_id, message)
            elif kind == "candidate":
                visit = self.visits.get(appointment_id)
                if visit is not None:
                    await visit.add_candidate(
                        str(message.get("role")), browser_peer(message), message.get("candidate")
                    )
            elif kind == "capture":
                await self._capture(appointment_id, message)
            elif kind == "end":
                await self._end(appointment_id)

    async def _offer(self, appointment_id: str, message: dict[str, Any]) -> None:
        if self.draining:
            return
        visit = self.visits.get(appointment_id)
        if visit is None:
            visit = Visit(
                appointment_id,
                self.peers,
                self._relay_factory(),
                lambda role: self.signalling.send(
                    {"type": "renegotiate", "appointment_id": appointment_id, "role": role}
                ),
            )
            self.visits[appointment_id] = visit
        before = self.load
        answer = await visit.offer(str(message.get("role")), browser_peer(message), str(message.get("sdp")))
        self.signalling.send(
            {
                "type": "answer",
                "appointment_id": appointment_id,
                "role": message.get("role"),
                "to": message.get("from"),
                "peer_id": message.get("peer_id"),
                "sdp": answer,
            }
        )
        if self.load != before:
            self.signalling.send(self.status())

    async def _capture(self, appointment_id: str, message: dict[str, Any]) -> None:
        visit = self.visits.get(appointment_id)
        request_id = str(message.get("request_id"))
        try:
            if visit is None:
                raise ConsentRefused("no such visit on this worker")
            captured = await self.screenshots.capture(
                visit.relay, request_id, str(message.get("key")), str(message.get("not_after"))
            )
        except (ConsentRefused, TimeoutError) as exc:
            log.warning("screenshot %s not taken: %s", request_id[:8], exc)
            self.signalling.send(
                {
                    "type": "capture_failed",
                    "appointment_id": appointment_id,
                    "request_id": request_id,
                    "reason": str(exc),
                }
            )
            return
        self.signalling.send(
            {
                "type": "captured",
                "appointment_id": appointment_id,
                "request_id": request_id,
                "key": captured.key,
                "width": captured.width,
                "height": captured.height,
            }
        )

    async def _end(self, appointment_id: str) -> None:
        visit = self.visits.pop(appointment_id, None)
        if visit is not None:
            await visit.close()
            self.signalling.send(self.status())

    async def _peer_closed(self, peer: Peer) -> None:
        visit = self.visits.get(peer.appointment_id)
        if visit is None:
            return
        visit.peer_closed(peer)
        if not visit.active:
            self.visits.pop(peer.appointment_id, None)
            visit.relay.close()
            self.signalling.send(self.status())

    def _lock(self, appointment_id: str) -> asyncio.Lock:
        if appointment_id not in self._locks:
            if len(self._locks) > 1024:
                self._locks = {k: v for k, v in self._locks.items() if v.locked() or k in self.visits}
            self._locks[appointment_id] = asyncio.Lock()
        return self._locks[appointment_id]

    # -- lifecycle -------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        signalling = asyncio.create_task(self.signalling.run(stop))
        housekeeping = asyncio.create_task(self._housekeeping())
        await stop.wait()
        housekeeping.cancel()
        await self.drain()
        await signalling

    async def _housekeeping(self) -> None:
        """Heartbeat file for the health check, load metric for autoscaling."""
        metric = (
            LoadMetric(self.config.metrics_namespace, self.config.service_name, self.config.region)
            if self.config.metrics_namespace
            else None
        )
        loop = asyncio.get_running_loop()
        while True:
            if self.signalling.connected.is_set():
                mark_alive()
            if metric is not None:
                await loop.run_in_executor(
                    None, metric.publish, self.load, self.config.capacity, self.transcoded_streams
                )
            await asyncio.sleep(self.config.heartbeat_seconds)

    async def drain(self) -> None:
        """Tells the server this worker is going (it moves the visits) and closes every peer."""
        self.draining = True
        self.signalling.send(self.status())
        await self.peers.close_all()
        for visit in list(self.visits.values()):
            visit.relay.close()
        self.visits.clear()
