"""The worker: takes signalling messages from the server and runs the visits they name.

Every message is defined in eclinic_protocol: from the server (`to_worker`, parsed strictly on
arrival: one that does not parse is logged and dropped) `offer` and `candidate` (from a
browser, naming its seat), `capture` (after the patient's consent), `leave` (one participant
has gone: its peer closes, the visit goes on while any peer remains), `end` (the session is
over or has moved); to the server (`from_worker`) `answer`, `captured` / `capture_failed`,
`renegotiate` (ask one browser to offer again, so that more legs share a codec), and
`worker_hello` / `worker_status` with its load.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiortc import RTCConfiguration

from eclinic_protocol import from_worker, to_worker
from eclinic_protocol.envelope import Message
from eclinic_protocol.errors import ProtocolError
from media_worker.config import WorkerConfig
from media_worker.health import LoadMetric, mark_alive
from media_worker.peers import Peer, PeerSet, peer_configuration
from media_worker.relay import RELAYS, Relay
from media_worker.screenshots import ConsentRefused, ScreenshotTaker
from media_worker.signalling import SignallingClient
from media_worker.storage import ImageStore
from media_worker.visit import Visit

log = logging.getLogger("media_worker")


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
        return from_worker.WorkerHello(
            worker_id=self.config.worker_id, capacity=self.config.capacity, load=self.load
        ).to_json()

    def status(self) -> dict[str, Any]:
        return from_worker.WorkerStatus(
            capacity=self.config.capacity, load=self.load, draining=self.draining
        ).to_json()

    # -- what the server says --------------------------------------------------------------

    async def on_message(self, body: Mapping[str, Any]) -> None:
        try:
            message = to_worker.WORKER_RECEIVES.parse(body)
        except ProtocolError as exc:
            log.warning("dropped a %s message from the server: %s", body.get("type"), exc.message)
            return
        handle = self.handlers().get(type(message))
        appointment_id = getattr(message, "appointment_id", None)
        if handle is None or appointment_id is None:
            return  # worker_welcome; error (the signalling client logs it)
        async with self._lock(appointment_id):
            await handle(message)

    def handlers(self) -> dict[type[Message], Callable[[Any], Awaitable[None]]]:
        """What the worker does with each message about a visit; the others it ignores."""
        return {
            to_worker.Offer: self._offer,
            to_worker.Candidate: self._candidate,
            to_worker.Capture: self._capture,
            to_worker.End: self._end,
            to_worker.Leave: self._leave,
        }

    async def _offer(self, offer: to_worker.Offer) -> None:
        if self.draining:
            return
        appointment_id = offer.appointment_id
        visit = self.visits.get(appointment_id)
        if visit is None:
            visit = Visit(
                appointment_id,
                self.peers,
                self._relay_factory(),
                lambda seat: self.signalling.send(
                    from_worker.Renegotiate(appointment_id=appointment_id, seat=seat).to_json()
                ),
            )
            self.visits[appointment_id] = visit
        before = self.load
        sdp = await visit.offer(offer.seat, offer.browser_peer, offer.sdp)
        answer = from_worker.Answer(
            appointment_id=appointment_id, to=offer.sender, sdp=sdp, seat=offer.seat, peer_id=offer.peer_id
        )
        self.signalling.send(answer.to_json())
        if self.load != before:
            self.signalling.send(self.status())

    async def _candidate(self, candidate: to_worker.Candidate) -> None:
        visit = self.visits.get(candidate.appointment_id)
        if visit is not None:
            await visit.add_candidate(candidate.seat, candidate.browser_peer, candidate.candidate)

    async def _capture(self, capture: to_worker.Capture) -> None:
        appointment_id, request_id = capture.appointment_id, capture.request_id
        visit = self.visits.get(appointment_id)
        try:
            if visit is None:
                raise ConsentRefused("no such visit on this worker")
            captured = await self.screenshots.capture(visit.relay, request_id, capture.key, capture.not_after)
        except (ConsentRefused, TimeoutError) as exc:
            log.warning("screenshot %s not taken: %s", request_id[:8], exc)
            failed = from_worker.CaptureFailed(appointment_id=appointment_id, request_id=request_id)
            self.signalling.send(failed.to_json())
            return
        done = from_worker.Captured(
            appointment_id=appointment_id, request_id=request_id, width=captured.width, height=captured.height
        )
        self.signalling.send(done.to_json())

    async def _end(self, end: to_worker.End) -> None:
        visit = self.visits.pop(end.appointment_id, None)
        if visit is not None:
            await visit.close()
            self.signalling.send(self.status())

    async def _leave(self, leave: to_worker.Leave) -> None:
        """Closes that seat's peer; `_peer_closed` does the rest (and ends an empty visit)."""
        visit = self.visits.get(leave.appointment_id)
        if visit is not None and not await visit.leave(leave.seat, leave.sender):
            log.info("leave of the %s seat: no such peer (already gone, or reloaded)", leave.seat)

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
