"""The live schedule against the real local run, with real websocket clients."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable

import pytest
import requests
import websockets

from tests.local.conftest import LocalRun
from tests.local.live_client import appointment_is, invite, login
from tests.simulated_browser import WebSocketClient
from tests.threads import run_async


def ws(run: LocalRun) -> str:
    return run.base_url.replace("http://", "ws://") + "/ws"


def unique_email() -> str:
    return f"pat.{uuid.uuid4().hex[:10]}@example.com"


def play(scenario: Callable[[], Awaitable[None]]) -> None:
    run_async(scenario)


def test_presence_take_race_chat_exit_and_leave(local_run: LocalRun) -> None:
    tokens = {who: login(local_run.base_url, f"{who}@clinic.example") for who in ("ada", "ben", "cyd")}
    created, link = invite(local_run.base_url, tokens["ada"], unique_email())
    appointment_id = created["id"]

    async def scenario() -> None:
        ada = await WebSocketClient.open(ws(local_run), id_token=tokens["ada"])
        ben = await WebSocketClient.open(ws(local_run), id_token=tokens["ben"])
        cyd = await WebSocketClient.open(ws(local_run), id_token=tokens["cyd"])
        patient = await WebSocketClient.open(ws(local_run), token=link)
        await ada.wait_for(appointment_is(appointment_id, "waiting"))
        await ben.wait_for(appointment_is(appointment_id, "waiting"))

        # the take race: both at once, exactly one wins
        await asyncio.gather(
            ada.send(type="take", appointment_id=appointment_id),
            ben.send(type="take", appointment_id=appointment_id),
        )
        taken = await ben.wait_for(appointment_is(appointment_id, "in_session"))
        winner = taken["appointment"]["taken_by"]
        loser = ben if winner == "ada@clinic.example" else ada
        winner_client = ada if loser is ben else ben
        error = await loser.wait_for(lambda m: m.get("type") == "error")
        assert (error["code"], error["ref"]) == ("conflict", "take")
        assert (await patient.wait_for(lambda m: m.get("type") == "status"))["status"] == "in_session"

        # chat both ways, nobody else
        await patient.send(type="chat", appointment_id=appointment_id, text="Hello, can you hear me?")
        await winner_client.send(type="chat", appointment_id=appointment_id, text="Yes, loud and clear.")
        for client in (patient, winner_client):
            await client.wait_for(lambda m: m.get("type") == "chat" and m["text"] == "Yes, loud and clear.")
            await client.wait_for(lambda m: m.get("type") == "chat" and m["from"] == "patient")

        # exit without ending: the patient stays online
        await winner_client.send(type="hangup", appointment_id=appointment_id, mode="exit")
        await ada.wait_for(appointment_is(appointment_id, "waiting"))
        await patient.wait_for(lambda m: m.get("type") == "status" and m["status"] == "waiting")

        # take again, then leave: completed, and the patient is told
        await loser.send(type="take", appointment_id=appointment_id)
        await ada.wait_for(appointment_is(appointment_id, "in_session"))
        await loser.send(type="hangup", appointment_id=appointment_id, mode="leave")
        ended = await patient.wait_for(lambda m: m.get("type") == "session_ended")
        assert ended["message"]
        await ben.wait_for(appointment_is(appointment_id, "completed"))

        await asyncio.sleep(0.3)
        assert not [m for m in cyd.received if m.get("type") == "appointment"]
        for client in (ada, ben, cyd, patient):
            await client.close()

    play(scenario)


def test_closing_the_patients_page_turns_the_dot_back(local_run: LocalRun) -> None:
    token = login(local_run.base_url, "ben@clinic.example")
    created, link = invite(local_run.base_url, token, unique_email())

    async def scenario() -> None:
        ben = await WebSocketClient.open(ws(local_run), id_token=token)
        first = await WebSocketClient.open(ws(local_run), token=link)
        second = await WebSocketClient.open(ws(local_run), token=link)
        await ben.wait_for(appointment_is(created["id"], "waiting"))
        await first.close()
        await asyncio.sleep(0.5)
        assert not [
            m
            for m in ben.received
            if m.get("type") == "appointment" and m["appointment"]["status"] == "scheduled"
        ]
        await second.close()
        await ben.wait_for(appointment_is(created["id"], "scheduled"))
        await ben.close()

    play(scenario)


def test_cancel_while_online_tells_and_disconnects_the_patient(local_run: LocalRun) -> None:
    token = login(local_run.base_url, "ada@clinic.example")
    created, link = invite(local_run.base_url, token, unique_email())

    async def scenario() -> None:
        patient = await WebSocketClient.open(ws(local_run), token=link)
        await asyncio.sleep(0.3)
        loop = asyncio.get_running_loop()
        answer = await loop.run_in_executor(
            None,
            lambda: requests.post(
                f"{local_run.base_url}/api/appointments/{created['id']}/cancel",
                headers={"Authorization": f"Bearer {token}"},
                timeout=10,
            ),
        )
        assert answer.status_code == 200
        cancelled = await patient.wait_for(lambda m: m.get("type") == "cancelled")
        assert "cancelled" in cancelled["message"]
        await asyncio.wait_for(patient._reader, 10)  # the server closed the socket
        with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
            await websockets.connect(f"{ws(local_run)}?token={link}")
        assert refused.value.response.status_code == 410

    play(scenario)


@pytest.mark.parametrize("query", ["", "?id_token=garbage", "?token=" + "A" * 43, "?token=short"])
def test_refused_connects_never_open(local_run: LocalRun, query: str) -> None:
    async def scenario() -> None:
        with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
            await websockets.connect(f"{ws(local_run)}{query}")
        assert refused.value.response.status_code in (401, 404)

    play(scenario)


def test_bad_messages_get_errors_and_the_connection_stays_usable(local_run: LocalRun) -> None:
    token = login(local_run.base_url, "cyd@clinic.example")

    async def scenario() -> None:
        cyd = await WebSocketClient.open(ws(local_run), id_token=token)
        bad = [
            "not json",
            "[]",
            json.dumps({"type": "fly"}),
            json.dumps({"type": "ping", "pad": "x" * 40000}),
        ]
        for raw in bad:
            await cyd.socket.send(raw)
            error = await cyd.wait_for(lambda m: m.get("type") == "error")
            assert error["code"] == "validation_error" and error["message"]
            cyd.received.clear()
        await cyd.send(type="take", appointment_id=str(uuid.uuid4()))
        assert (await cyd.wait_for(lambda m: m.get("type") == "error"))["code"] == "not_found"
        await cyd.send(type="ping")
        await cyd.wait_for(lambda m: m.get("type") == "pong")
        await cyd.close()

    play(scenario)
