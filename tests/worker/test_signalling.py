"""The worker's websocket on its own, against a small websocket server: credential in the
URL, hello on every (re)connect, heartbeats, and calls untouched by a dropped connection."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import websockets

from media_worker.signalling import SignallingClient
from tests.threads import run_async


def test_reconnects_and_says_hello_again_without_touching_calls() -> None:
    async def run() -> None:
        seen: list[tuple[int, dict[str, Any], str]] = []
        connections = 0

        async def server(socket: Any) -> None:
            nonlocal connections
            connections += 1
            number = connections
            async for raw in socket:
                seen.append((number, json.loads(raw), socket.request.path))
                if number == 1:
                    await socket.close()  # like API Gateway after 2 hours
                    return

        handled: list[dict[str, Any]] = []
        calls_in_progress = {"visit-1": "connected"}

        async def on_message(message: dict[str, Any]) -> None:
            handled.append(message)

        async with websockets.serve(server, "127.0.0.1", 0) as listening:
            port = listening.sockets[0].getsockname()[1]
            client = SignallingClient(
                f"ws://127.0.0.1:{port}/ws",
                "s3cret",
                on_message,
                hello=lambda: {
                    "type": "worker_hello",
                    "worker_id": "w-1",
                    "capacity": 2,
                    "load": len(calls_in_progress),
                },
                status=lambda: {"type": "worker_status", "capacity": 2, "load": 1, "draining": False},
                heartbeat_seconds=0.2,
            )
            stop = asyncio.Event()
            task = asyncio.create_task(client.run(stop))
            async with asyncio.timeout(10):
                while not [s for s in seen if s[0] == 2 and s[1]["type"] == "worker_status"]:
                    await asyncio.sleep(0.05)
            stop.set()
            await task

        hellos = [(number, message) for number, message, _ in seen if message["type"] == "worker_hello"]
        assert [number for number, _ in hellos] == [1, 2]  # hello again after the reconnect
        assert all(message["worker_id"] == "w-1" and message["load"] == 1 for _, message in hellos)
        assert all(path == "/ws?worker_token=s3cret" for _, _, path in seen)
        assert calls_in_progress == {"visit-1": "connected"}
        assert client.connections_made == 2

    run_async(run, timeout=60)


def test_the_outgoing_queue_is_bounded() -> None:
    async def run() -> None:
        async def ignore(message: dict[str, Any]) -> None:
            return None

        client = SignallingClient("ws://127.0.0.1:9/ws", "x", ignore, hello=dict, status=dict)
        for index in range(1000):
            client.send({"type": "worker_status", "n": index})
        assert client._outgoing.qsize() == 256
        assert client._outgoing.get_nowait()["n"] == 1000 - 256  # the oldest were dropped

    run_async(run)
