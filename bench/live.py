"""Issue 3's figures on the local run: presence latency, and fan-out to 50 clinicians while
500 patients connect and disconnect in waves."""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections import defaultdict
from typing import Any

import websockets

from bench.stack import invite_many, local_run, login, percentile


def ws_url(base: str) -> str:
    return base.replace("http://", "ws://") + "/ws"


async def presence_latency(base: str, trials: int) -> dict[str, Any]:
    token = login(base, "ada@clinic.example")
    appointments = invite_many(base, token, 10, "presence")
    arrivals: dict[tuple[str, str], asyncio.Future[float]] = {}
    loop = asyncio.get_running_loop()

    async with websockets.connect(f"{ws_url(base)}?id_token={token}") as clinician:

        async def read() -> None:
            async for raw in clinician:
                message = json.loads(raw)
                if message.get("type") != "appointment":
                    continue
                key = (message["appointment"]["id"], message["appointment"]["status"])
                future = arrivals.get(key)
                if future is not None and not future.done():
                    future.set_result(time.perf_counter())

        reader = asyncio.create_task(read())
        latencies = []
        for trial in range(trials):
            appointment_id, link = appointments[trial % len(appointments)]
            arrivals[(appointment_id, "waiting")] = loop.create_future()
            arrivals[(appointment_id, "scheduled")] = loop.create_future()
            started = time.perf_counter()
            patient = await websockets.connect(f"{ws_url(base)}?token={link}")
            arrived = await asyncio.wait_for(arrivals[(appointment_id, "waiting")], 10)
            latencies.append((arrived - started) * 1000)
            await patient.close()
            await asyncio.wait_for(arrivals[(appointment_id, "scheduled")], 10)
        reader.cancel()
    return {
        "trials": trials,
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "max_ms": round(max(latencies), 1),
    }


async def fan_out(base: str, clinicians: int, patients: int, waves: int) -> dict[str, Any]:
    token = login(base, "ben@clinic.example")
    appointments = invite_many(base, token, patients, "fanout")
    sent_at: dict[tuple[str, str], float] = {}
    received: dict[int, dict[tuple[str, str], float]] = defaultdict(dict)

    sockets = [
        await websockets.connect(f"{ws_url(base)}?id_token={token}", max_queue=None)
        for _ in range(clinicians)
    ]

    async def read(index: int, socket: Any) -> None:
        async for raw in socket:
            message = json.loads(raw)
            if message.get("type") == "appointment":
                key = (message["appointment"]["id"], message["appointment"]["status"])
                received[index][key] = time.perf_counter()

    readers = [asyncio.create_task(read(i, s)) for i, s in enumerate(sockets)]
    per_wave = patients // waves
    started = time.perf_counter()
    for wave in range(waves):
        batch = appointments[wave * per_wave : (wave + 1) * per_wave]
        for appointment_id, _ in batch:
            sent_at[(appointment_id, "waiting")] = time.perf_counter()
        connected = await asyncio.gather(
            *(websockets.connect(f"{ws_url(base)}?token={link}", open_timeout=300) for _, link in batch)
        )
        await _settle(received, clinicians, {(a, "waiting") for a, _ in batch})
        for appointment_id, _ in batch:
            sent_at[(appointment_id, "scheduled")] = time.perf_counter()
        await asyncio.gather(*(socket.close() for socket in connected))
        await _settle(received, clinicians, {(a, "scheduled") for a, _ in batch})
    elapsed = time.perf_counter() - started
    for reader in readers:
        reader.cancel()
    for socket in sockets:
        await socket.close()

    expected = set(sent_at)
    delivered = sum(len(expected & set(r)) for r in received.values())
    latencies = [(r[key] - sent_at[key]) * 1000 for r in received.values() for key in expected if key in r]
    return {
        "clinicians": clinicians,
        "patients": patients,
        "waves": waves,
        "changes": len(expected),
        "expected_deliveries": len(expected) * clinicians,
        "delivered": delivered,
        "every_clinician_got_every_change": delivered == len(expected) * clinicians,
        "seconds": round(elapsed, 1),
        "messages_per_second": round(delivered / elapsed, 1),
        "p50_latency_ms": round(statistics.median(latencies), 1),
        "p95_latency_ms": round(percentile(latencies, 95), 1),
    }


async def _settle(
    received: dict[int, dict[tuple[str, str], float]],
    clinicians: int,
    keys: set[tuple[str, str]],
    timeout: float = 120,
) -> None:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if all(keys <= set(received[i]) for i in range(clinicians)):
            return
        await asyncio.sleep(0.05)


def run(trials: int, clinicians: int, patients: int, waves: int) -> dict[str, Any]:
    with local_run() as base:
        presence = asyncio.run(presence_latency(base, trials))
        spread = asyncio.run(fan_out(base, clinicians, patients, waves))
    return {"presence_latency": presence, "fan_out": spread}
