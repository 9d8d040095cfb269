"""The worker's websocket to the WebSocket API: connect, say hello, heartbeat, reconnect.

API Gateway cuts a connection after 2 hours and after 10 idle minutes; the worker then
reconnects and says hello again with the same worker id, and the calls it relays go on
untouched (media does not flow through this socket). Outgoing messages wait in a bounded
queue; incoming ones are handed to the worker one task each, with a bound on how many run.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import websockets

from eclinic_protocol.envelope import Error
from eclinic_protocol.errors import ProtocolError

log = logging.getLogger("media_worker.signalling")

OUTGOING_QUEUE = 256
CONCURRENT_HANDLERS = 32
MAX_BACKOFF_SECONDS = 15.0

Handler = Callable[[dict[str, Any]], Awaitable[None]]


class SignallingClient:
    def __init__(
        self,
        url: str,
        credential: str,
        on_message: Handler,
        hello: Callable[[], dict[str, Any]],
        status: Callable[[], dict[str, Any]],
        heartbeat_seconds: float = 20.0,
    ) -> None:
        self._url = f"{url}{'&' if '?' in url else '?'}worker_token={credential}"
        self._on_message = on_message
        self._hello = hello
        self._status = status
        self._heartbeat_seconds = heartbeat_seconds
        self._outgoing: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=OUTGOING_QUEUE)
        self._handlers = asyncio.Semaphore(CONCURRENT_HANDLERS)
        self._tasks: set[asyncio.Task[None]] = set()
        self.connected = asyncio.Event()
        self.connections_made = 0

    def send(self, message: dict[str, Any]) -> None:
        """Queues a message; when the queue is full the oldest is dropped (it is stale by then)."""
        if self._outgoing.full():
            dropped = self._outgoing.get_nowait()
            log.warning("outgoing queue full, dropped a %s message", dropped.get("type"))
        self._outgoing.put_nowait(message)

    async def run(self, stop: asyncio.Event) -> None:
        backoff = 0.5
        while not stop.is_set():
            try:
                async with websockets.connect(self._url, open_timeout=15, max_size=256 * 1024) as socket:
                    backoff = 0.5
                    self.connections_made += 1
                    await socket.send(json.dumps(self._hello()))
                    self.connected.set()
                    await self._serve(socket, stop)
            except (OSError, websockets.exceptions.WebSocketException, TimeoutError) as exc:
                log.warning("signalling connection lost (%s); reconnecting", type(exc).__name__)
            finally:
                self.connected.clear()
            if not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), backoff)
                backoff = min(MAX_BACKOFF_SECONDS, backoff * 2)

    async def _serve(self, socket: Any, stop: asyncio.Event) -> None:
        writer = asyncio.create_task(self._write(socket))
        beater = asyncio.create_task(self._heartbeat())
        stopper = asyncio.create_task(stop.wait())
        reader = asyncio.create_task(self._read(socket))
        try:
            await asyncio.wait({reader, stopper, writer}, return_when=asyncio.FIRST_COMPLETED)
            if stop.is_set():
                await self._flush(socket)
        finally:
            for task in (writer, beater, stopper, reader):
                task.cancel()
            await socket.close()

    async def _read(self, socket: Any) -> None:
        async for raw in socket:
            try:
                message = json.loads(raw)
            except ValueError:
                continue
            if not isinstance(message, dict):
                continue
            if message.get("type") == Error.TYPE:
                try:
                    refused = Error.parse(message)
                except ProtocolError:
                    continue
                log.warning("server refused a message: %s (%s)", refused.code, refused.ref)
                continue
            await self._handlers.acquire()
            task = asyncio.create_task(self._handle(message))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _handle(self, message: dict[str, Any]) -> None:
        try:
            await self._on_message(message)
        except Exception:
            log.exception("handling a %s message failed", message.get("type"))
        finally:
            self._handlers.release()

    async def _write(self, socket: Any) -> None:
        while True:
            message = await self._outgoing.get()
            await socket.send(json.dumps(message))

    async def _flush(self, socket: Any) -> None:
        while not self._outgoing.empty():
            await socket.send(json.dumps(self._outgoing.get_nowait()))

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self._heartbeat_seconds)
            self.send(self._status())
