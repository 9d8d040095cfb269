"""`python -m local` (what `make run` runs): the whole of eClinic on 127.0.0.1.

Starts the gateway first so that `/health` can say "starting", then moto and the resources,
then the media worker as a process of its own; `/health` says ok once the worker has
registered. Ctrl-C (or SIGTERM) stops everything, the worker first.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

from aiohttp import web

from local import aws_standin, demo
from local import settings_names as local_settings
from local.gateway import LocalServer
from media_worker import settings_names as worker_settings
from media_worker.processes import die_with_parent


class Readiness:
    """Up once the AWS stand-in is bootstrapped and a media worker has said hello; `/health`
    says so only after the run has printed its welcome, so that the two never disagree."""

    def __init__(self) -> None:
        self.aws = False
        self.announced = False
        self._bound = False
        self._worker_seen_at = 0.0

    def __call__(self) -> bool:
        return self.aws and self.worker_registered()

    def worker_registered(self) -> bool:
        if time.monotonic() - self._worker_seen_at < 5:
            return True
        from chalicelib.config import Settings
        from chalicelib.realtime.connections import live_workers
        from chalicelib.realtime.dynamo_connections import DynamoConnectionRegistry
        from chalicelib.store.models import bind_models

        if not self._bound:  # once: rebinding resets connections that handlers may be using
            bind_models(Settings.from_env())
            self._bound = True
        workers = live_workers(DynamoConnectionRegistry(), datetime.now(UTC))
        if workers:  # live_workers lists the workers that said hello
            self._worker_seen_at = time.monotonic()
            return True
        return False


def start_worker(ws_url: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.update({worker_settings.WS_URL: ws_url, worker_settings.WORKER_ID: "local-worker-1"})
    return subprocess.Popen([sys.executable, "-m", "media_worker"], env=env, preexec_fn=die_with_parent)


async def serve(host: str, port: int) -> None:
    import app as eclinic

    readiness = Readiness()
    gateway = LocalServer(eclinic, ready=lambda: readiness.aws)
    gateway.health_check = lambda: readiness.announced
    runner = web.AppRunner(gateway.application(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    base_url = f"http://{host}:{port}"
    print(f"eClinic is starting on {base_url} ...", flush=True)

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    stand_in = await loop.run_in_executor(None, aws_standin.start)
    # The app reads its settings (and PynamoDB its credentials) from this process's environment.
    # The app's pushes reach the management API on loopback, the one Host it answers to.
    management_url = f"http://127.0.0.1:{port}"
    os.environ.update(aws_standin.base_environment(stand_in.endpoint, base_url, management_url))
    await loop.run_in_executor(None, aws_standin.bootstrap, os.environ)
    gateway.aws_details = aws_standin.details(os.environ)
    readiness.aws = True
    worker = start_worker(f"ws://{host}:{port}/ws")
    deadline = time.monotonic() + 60
    while not stop.is_set() and time.monotonic() < deadline:
        if await loop.run_in_executor(None, readiness):
            print_welcome(base_url)
            readiness.announced = True
            break
        if worker.poll() is not None:
            print("The media worker could not start; video calls will not work.", flush=True)
            break
        await asyncio.sleep(0.2)
    await stop.wait()
    print("\nStopping eClinic ...", flush=True)
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
        try:
            await loop.run_in_executor(None, worker.wait, 15)
        except subprocess.TimeoutExpired:
            worker.kill()
    await runner.cleanup()
    stand_in.stop()
    print("Stopped.", flush=True)


def print_welcome(base_url: str) -> None:
    lines = [
        "",
        "eClinic is running.",
        f"  Clinic schedule   {base_url}/",
        f"  REST API          {base_url}/api",
        f"  WebSocket         ws://{base_url.removeprefix('http://')}/ws",
        f"  Mailbox           {base_url}/_local/mailbox",
        f"  AWS stand-in      {base_url}/_local/aws (endpoint and user pool for aws-cli, boto3)",
        f"  Health            {base_url}/health",
        "",
        f"Demo logins (password {demo.DEMO_PASSWORD}):",
        *(f"  {c.email:<22} {c.name:<14} {demo.GROUPS[c.group]}" for c in demo.CLINICIANS),
        "",
        "Press Ctrl-C to stop.",
    ]
    print("\n".join(lines), flush=True)


def main() -> int:
    port = int(os.environ.get(local_settings.PORT, "8000"))
    host = os.environ.get(local_settings.HOST, "127.0.0.1")
    asyncio.run(serve(host, port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
