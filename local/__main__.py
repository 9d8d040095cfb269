"""`python -m local` (what `make run` runs): the whole of eClinic on 127.0.0.1.

Starts the gateway first so that `/health` can say "starting", then moto and the resources,
then reports ready. Ctrl-C (or SIGTERM) stops everything.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from aiohttp import web

from local import aws_standin, demo
from local.gateway import LocalGateway


async def serve(host: str, port: int) -> None:
    import app as eclinic

    ready = False
    gateway = LocalGateway(eclinic, ready=lambda: ready)
    runner = web.AppRunner(gateway.application(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    base_url = f"http://{host}:{port}"
    print(f"eClinic is starting on {base_url} ...", flush=True)

    loop = asyncio.get_running_loop()
    stand_in = await loop.run_in_executor(None, aws_standin.start)
    # The app reads its settings (and PynamoDB its credentials) from this process's environment.
    os.environ.update(aws_standin.base_environment(stand_in.endpoint, base_url))
    await loop.run_in_executor(None, aws_standin.bootstrap, os.environ)
    ready = True
    print_welcome(base_url)

    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    print("\nStopping eClinic ...", flush=True)
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
        f"  Health            {base_url}/health",
        "",
        f"Demo logins (password {demo.DEMO_PASSWORD}):",
        *(f"  {c.email:<22} {c.name:<14} {demo.GROUPS[c.group]}" for c in demo.CLINICIANS),
        "",
        "Press Ctrl-C to stop.",
    ]
    print("\n".join(lines), flush=True)


def main() -> int:
    port = int(os.environ.get("ECLINIC_PORT", "8000"))
    host = os.environ.get("ECLINIC_HOST", "127.0.0.1")
    asyncio.run(serve(host, port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
