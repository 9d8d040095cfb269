"""Debian's coturn started with the repo's `local/coturn.conf`, for the TURN tests and the
call-setup benchmark: a free port, a fresh `use-auth-secret` secret, relaying from the machine's
own address (Firefox pairs no 127.0.0.1 relay candidate with the worker's candidates)."""

from __future__ import annotations

import contextlib
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.local.conftest import ROOT, free_port


def machine_address() -> str:
    """The address of the default route: coturn relays from it, as the worker listens on it."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("10.255.255.255", 1))  # no packet is sent
        return str(probe.getsockname()[0])


@dataclass
class Turn:
    port: int
    secret: str
    log: Path
    pid: int

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def allocations(self) -> int:
        return self.log_text().count("ALLOCATE processed, success")


@contextlib.contextmanager
def coturn(tmp: Path) -> Iterator[Turn]:
    """A running coturn whose verbose log is `tmp/turnserver.log`; stopped on leaving."""
    executable = shutil.which("turnserver")
    if executable is None:
        raise RuntimeError("Debian's coturn is not installed (apt-get install coturn; `make test` does it)")
    port, secret = free_port(), secrets.token_urlsafe(24)
    log = tmp / "turnserver.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [executable, "-c", str(ROOT / "local" / "coturn.conf"), f"--listening-port={port}",
             f"--static-auth-secret={secret}", f"--relay-ip={machine_address()}",
             "--log-file=stdout", "--verbose", f"--pidfile={tmp / 'turnserver.pid'}"],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 15
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"coturn did not listen:\n{log.read_text(errors='replace')}")
            time.sleep(0.1)
        yield Turn(port, secret, log, process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
