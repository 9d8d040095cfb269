"""Runs `python -m local` (what `make run` runs) as a real process on a free port."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

import pytest
import requests

from chalicelib import settings_names as app_settings
from local import settings_names as local_settings

ROOT = Path(__file__).resolve().parents[2]
WORKER_SECRET = "local-run-worker-secret-for-tests"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TempDirs(Protocol):
    """Where a run's log goes: pytest's tmp_path_factory, or a benchmark's own temp dir."""

    def mktemp(self, basename: str) -> Path: ...


class LocalRun:
    def __init__(self, process: subprocess.Popen[str], base_url: str, log_path: Path | None = None) -> None:
        self.process = process
        self.base_url = base_url
        self.log_path = log_path

    def url(self, path: str) -> str:
        return self.base_url + path

    def cognito(self) -> tuple[Any, dict[str, str]]:
        """A Cognito client on the run's AWS stand-in, as an operator's own tools would make
        it from `/_local/aws`, and what that route said."""
        from local import aws_standin

        aws = requests.get(self.url("/_local/aws"), timeout=10).json()
        client = aws_standin.operator_client(aws, "cognito-idp")
        return client, aws


@pytest.fixture(scope="session")
def local_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRun]:
    with started_local_run(tmp_path_factory) as run:
        yield run


@contextlib.contextmanager
def started_local_run(
    tmp_path_factory: TempDirs, settings: Mapping[str, str] | None = None, healthy_within: float = 60
) -> Iterator[LocalRun]:
    """`python -m local` on a free port until healthy; `settings` are further ECLINIC_* variables.
    The benchmarks start theirs here too (bench/stack.py), given longer to become healthy."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ECLINIC_"))}
    env[local_settings.PORT] = str(port)
    env[app_settings.WORKER_SECRET] = WORKER_SECRET
    env.update(settings or {})
    # A file, not a pipe: nobody reads a pipe during the tests, and a full one would block the run.
    log_path = tmp_path_factory.mktemp("local-run") / "output.log"
    print(f"local run output: {log_path}")
    log = log_path.open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "local"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    run = LocalRun(process, f"http://127.0.0.1:{port}", log_path)
    deadline = time.monotonic() + healthy_within
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"local run exited early:\n{log_path.read_text()}")
        try:
            if requests.get(run.url("/health"), timeout=1).status_code == 200:
                break
        except (requests.ConnectionError, requests.Timeout):  # not up yet, or busy starting
            pass
        time.sleep(0.2)
    else:
        process.kill()
        raise RuntimeError(f"local run did not become healthy within {healthy_within:g} s")
    try:
        yield run
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
