"""The local gateway: one aiohttp server in front of the Chalice app.

HTTP requests go through Chalice's own `LocalGateway` (the same event shape API Gateway
sends). The app runs on one worker thread, as one Lambda container handles one event at a
time; Chalice keeps the current request on the app object, so calls must not overlap.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiohttp import web

from local import mailbox, texts
from local.host_guard import loopback_only
from local.reminders import TICK_SECONDS, ScheduleFirer
from local.websocket_gateway import WebSocketGateway

ReadinessCheck = Callable[[], bool]


SWEEP_SECONDS = 60


class LocalServer:
    def __init__(self, app_module: Any, ready: ReadinessCheck) -> None:
        from chalice.config import Config
        from chalice.local import LocalGateway as ChaliceLocalGateway

        chalice_app = app_module.app
        self._chalice = ChaliceLocalGateway(
            chalice_app, Config.create(chalice_stage="local", app_name="eclinic", lambda_timeout=60)
        )
        self._lambda = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lambda")
        self._ready = ready
        # What /health reports; the run command sets a check that includes the media worker.
        self.health_check: ReadinessCheck = ready
        # The same handler functions that API Gateway invokes on AWS, by their module names.
        self.websocket = WebSocketGateway(
            {
                route: getattr(app_module, config.name)
                for route, config in chalice_app.websocket_handlers.items()
            }
        )
        self._sweep = getattr(app_module, "sweep_stale_connections", None)
        # What EventBridge Scheduler invokes on AWS: the local run fires due reminder schedules.
        self._send_reminder = getattr(app_module, "send_reminder", None)
        self._firer: ScheduleFirer | None = None
        # What `/_local/aws` reports; the run command sets it once the stand-in is bootstrapped.
        self.aws_details: dict[str, str] | None = None

    def application(self) -> web.Application:
        # The one guard of every unauthenticated route: `/_local/...` and `/@connections/...`.
        application = web.Application(client_max_size=8 * 1024 * 1024, middlewares=[loopback_only])
        self.websocket.add_routes(application, "/ws")
        application.router.add_get("/health", self.health)
        application.router.add_get("/_local/mailbox", self.mailbox_page)
        application.router.add_get("/_local/mailbox.json", self.mailbox_json)
        application.router.add_get("/_local/sms.json", self.sms_json)
        application.router.add_get("/_local/aws", self.aws)
        application.router.add_route("*", "/{tail:.*}", self.rest)
        application.on_startup.append(self._start_sweeping)
        application.on_shutdown.append(self._close_sockets)
        application.on_cleanup.append(self._shutdown)
        return application

    async def _start_sweeping(self, application: web.Application) -> None:
        application["sweeper"] = asyncio.create_task(self._sweep_forever())
        application["reminders"] = asyncio.create_task(self._fire_reminders_forever())

    async def _fire_reminders_forever(self) -> None:
        """Every few seconds, the reminder schedules whose time has come go to the reminder
        function with their input (as Scheduler invokes it on AWS), then are deleted."""
        loop = asyncio.get_running_loop()
        next_tick = loop.time()
        while True:
            # A fixed rate: the time spent firing does not push the next look later.
            next_tick += TICK_SECONDS
            await asyncio.sleep(max(0.0, next_tick - loop.time()))
            next_tick = max(next_tick, loop.time() - TICK_SECONDS)
            if not self._ready() or self._send_reminder is None:
                continue
            try:
                if self._firer is None:
                    self._firer = await loop.run_in_executor(None, _schedule_firer)
                firer: ScheduleFirer = self._firer
                due = await loop.run_in_executor(None, _now_due, firer)
                for name, body in due:
                    try:
                        await loop.run_in_executor(self._lambda, self._send_reminder, body, None)
                        succeeded = True
                    except Exception as exc:
                        print(f"reminder {name} failed: {type(exc).__name__}", flush=True)
                        succeeded = False
                    await loop.run_in_executor(None, firer.fired, name, succeeded)
            except Exception as exc:  # the stand-in stopping, say: try again at the next tick
                print(f"reminder schedules not read: {type(exc).__name__}", flush=True)

    async def _sweep_forever(self) -> None:
        """Runs the scheduled sweep (an EventBridge schedule on AWS) once a minute."""
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            if self._ready() and self._sweep is not None:
                loop = asyncio.get_running_loop()
                event = scheduled_event()
                try:
                    await loop.run_in_executor(self._lambda, self._sweep, event, None)
                except Exception as exc:
                    print(f"sweep failed: {type(exc).__name__}", flush=True)

    async def _close_sockets(self, application: web.Application) -> None:
        application["sweeper"].cancel()
        application["reminders"].cancel()
        await self.websocket.close_all()

    async def health(self, request: web.Request) -> web.Response:
        loop = asyncio.get_running_loop()
        if await loop.run_in_executor(None, self.health_check):
            return web.json_response({"status": "ok"})
        return web.json_response({"status": "starting"}, status=503)

    # Parsing every mail takes a while once there are many: off the event loop, which serves
    # the websockets and fires the reminders meanwhile.
    async def mailbox_page(self, request: web.Request) -> web.Response:
        page = await asyncio.get_running_loop().run_in_executor(None, mailbox.page)
        return web.Response(text=page, content_type="text/html")

    async def mailbox_json(self, request: web.Request) -> web.Response:
        messages = await asyncio.get_running_loop().run_in_executor(None, mailbox.messages)
        return web.json_response({"messages": messages})

    async def sms_json(self, request: web.Request) -> web.Response:
        messages = await asyncio.get_running_loop().run_in_executor(None, texts.messages)
        return web.json_response({"messages": messages})

    async def aws(self, request: web.Request) -> web.Response:
        if self.aws_details is None:
            return _error(503, "internal", "eClinic is still starting; try again in a few seconds.")
        return web.json_response(self.aws_details)

    async def rest(self, request: web.Request) -> web.Response:
        if not self._ready():
            return _error(503, "internal", "eClinic is still starting; try again in a few seconds.")
        body = await request.read()
        headers = {k: v for k, v in request.headers.items()}
        loop = asyncio.get_running_loop()
        try:
            answer = await loop.run_in_executor(
                self._lambda,
                self._chalice.handle_request,
                request.method,
                request.path_qs,
                headers,
                body,
            )
        except Exception as exc:  # chalice.local.LocalGatewayException: no such route
            if type(exc).__name__ in ("ForbiddenError", "NotAuthorizedError"):
                return _error(404, "not_found", "There is nothing at this address.")
            raise
        return _to_response(answer)

    async def _shutdown(self, application: web.Application) -> None:
        self._lambda.shutdown(wait=False, cancel_futures=True)
        self.websocket.shutdown()


def _error(status: int, code: str, message: str) -> web.Response:
    return web.Response(
        status=status,
        text=json.dumps({"error": {"code": code, "message": message}}),
        content_type="application/json",
    )


def _to_response(answer: dict[str, Any]) -> web.Response:
    body = answer.get("body") or b""
    if answer.get("isBase64Encoded") and isinstance(body, str):
        body = base64.b64decode(body)
    elif isinstance(body, str):
        body = body.encode()
    response = web.Response(status=int(answer["statusCode"]), body=body)
    for name, value in (answer.get("headers") or {}).items():
        response.headers[name] = value
    for name, values in (answer.get("multiValueHeaders") or {}).items():
        for value in values:
            response.headers.add(name, value)
    return response


def _schedule_firer() -> ScheduleFirer:
    """Reads the reminders' group from the app's own settings (set once the stand-in is up)."""
    from chalicelib import aws
    from chalicelib.config import Settings

    settings = Settings.from_env()
    return ScheduleFirer(aws.client(settings, "scheduler"), settings.reminder_group)


def _now_due(firer: ScheduleFirer) -> list[tuple[str, dict[str, Any]]]:
    from datetime import UTC, datetime

    return firer.due(datetime.now(UTC))


def scheduled_event() -> dict[str, object]:
    """What an EventBridge schedule hands the function: Chalice reads every one of these fields."""
    import uuid
    from datetime import UTC, datetime

    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "000000000000",
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "us-east-1",
        "resources": [],
        "detail": {},
    }
