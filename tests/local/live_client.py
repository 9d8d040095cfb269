"""A small websocket client for tests against the local run: collects every message and
waits for the one a test expects."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Callable
from typing import Any

import requests
import websockets

PASSWORD = "Clinic-Demo-2026!"
Predicate = Callable[[dict[str, Any]], bool]


class Client:
    def __init__(self, socket: Any) -> None:
        self.socket = socket
        self.received: list[dict[str, Any]] = []
        self._arrived = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, ws_url: str, **query: str) -> Client:
        params = "&".join(f"{k}={v}" for k, v in query.items())
        return cls(await websockets.connect(f"{ws_url}?{params}", max_size=2**20))

    async def _read(self) -> None:
        try:
            async for raw in self.socket:
                self.received.append(json.loads(raw))
                self._arrived.set()
        except websockets.exceptions.ConnectionClosed:
            pass
        finally:
            self._arrived.set()

    async def send(self, **message: Any) -> None:
        await self.socket.send(json.dumps(message))

    async def wait_for(self, predicate: Predicate, timeout: float = 10) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + timeout
        seen = 0
        while True:
            for message in self.received[seen:]:
                if predicate(message):
                    return message
            seen = len(self.received)
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"no matching message; got {self.received[-5:]}")
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), remaining)
            if self.socket.state.name == "CLOSED" and all(not predicate(m) for m in self.received):
                raise AssertionError(f"closed without a matching message; got {self.received[-5:]}")

    async def close(self) -> None:
        await self.socket.close()
        await self._reader


def appointment_is(appointment_id: str, status: str) -> Predicate:
    return lambda m: (
        m.get("type") == "appointment"
        and m["appointment"]["id"] == appointment_id
        and m["appointment"]["status"] == status
    )


def login(base_url: str, email: str) -> str:
    answer = requests.post(
        f"{base_url}/api/auth/login", json={"email": email, "password": PASSWORD}, timeout=10
    )
    answer.raise_for_status()
    return str(answer.json()["id_token"])


def invite(base_url: str, token: str, email: str, group: str = "cardiology") -> tuple[dict[str, Any], str]:
    from datetime import UTC, datetime, timedelta

    created = requests.post(
        f"{base_url}/api/appointments",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "starts_at": (datetime.now(UTC) + timedelta(minutes=30)).isoformat(),
            "patient_name": "Pat Live",
            "patient_email": email,
            "group": group,
        },
        timeout=10,
    ).json()
    messages = requests.get(f"{base_url}/_local/mailbox.json", timeout=10).json()["messages"]
    (mail,) = [m for m in messages if m["to"] == [email]]
    match = re.search(r"/visit/([A-Za-z0-9_-]{43})", mail["text"])
    assert match
    return created, match.group(1)
