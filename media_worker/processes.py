"""One worker process per vCPU: with ECLINIC_WORKER_PROCESSES above one, the entry point starts
that many `python -m media_worker` children, each its own worker (id `<worker id>-<n>`, its own
heartbeat file), forwards SIGTERM and SIGINT to them and waits for them. A child that ends on its
own stops the others and the container exits non-zero: ECS replaces the task, nothing restarts here.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from types import FrameType

from media_worker.config import WorkerConfig
from media_worker.settings_names import PROCESS_INDEX, PROCESSES, WORKER_ID

log = logging.getLogger("media_worker")
POLL_SECONDS = 0.2


def child_environment(env: Mapping[str, str], worker_id: str, index: int) -> dict[str, str]:
    """What child `index` (1, 2, ...) runs with: the container's settings, as a single worker."""
    return {**env, PROCESSES: "1", WORKER_ID: f"{worker_id}-{index}", PROCESS_INDEX: str(index)}


def run_processes(
    config: WorkerConfig, env: Mapping[str, str] | None = None, command: Sequence[str] | None = None
) -> int:
    """Runs `config.processes` workers (`python -m media_worker` each, unless `command` says
    otherwise) until a signal stops them. Exit status 0 when every one stopped cleanly after the
    signal, 1 when any failed or ended before it."""
    env = os.environ if env is None else env
    command = [sys.executable, "-m", "media_worker"] if command is None else list(command)
    children: dict[str, subprocess.Popen[bytes]] = {}  # by worker id
    signalled: set[str] = set()
    stop_signal: int | None = None

    def stop_children() -> None:
        """Passes the stop signal on, once, to every child still running."""
        for name, child in children.items():
            if stop_signal is not None and name not in signalled and child.poll() is None:
                child.send_signal(stop_signal)
                signalled.add(name)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        nonlocal stop_signal
        stop_signal = stop_signal or signum
        stop_children()

    def running() -> bool:
        return None in [child.poll() for child in children.values()]  # polls (and reaps) every one

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    ended_early: list[str] = []
    try:
        log.info("media worker %s starting %d processes", config.worker_id, config.processes)
        for index in range(1, config.processes + 1):
            if stop_signal is not None:
                break
            child_env = child_environment(env, config.worker_id, index)
            children[child_env[WORKER_ID]] = subprocess.Popen(  # noqa: S603 - this worker's own entry point
                command, env=child_env, preexec_fn=die_with_parent
            )
        while running():
            if stop_signal is None:
                ended_early = [name for name, child in children.items() if child.returncode is not None]
                if ended_early:
                    log.error("worker process %s ended on its own: stopping the others", ended_early)
                    stop_signal = signal.SIGTERM
            stop_children()  # also any child that started while a signal arrived
            time.sleep(POLL_SECONDS)
        if stop_signal is None:  # every one ended at once, and nothing asked them to
            ended_early = list(children)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    failed = sorted({*ended_early, *(name for name, child in children.items() if child.returncode != 0)})
    if failed:
        log.error("media worker %s stopped; these processes failed: %s", config.worker_id, failed)
        return 1
    log.info("media worker %s stopped, all %d processes", config.worker_id, len(children))
    return 0


def die_with_parent() -> None:
    """Linux: a child gets SIGTERM if this process dies without stopping it (kill -9)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
