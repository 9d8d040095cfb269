"""The worker's own settings and its processes: one worker per process, SIGTERM and SIGINT passed
on to every one, a process that ends on its own stops the rest (ECS replaces the task), and the
health check that needs every process's heartbeat."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path

import pytest

from media_worker import settings_names as names
from media_worker.config import WorkerConfig
from media_worker.health import alive_file, alive_files, healthy
from media_worker.processes import child_environment, run_processes
from media_worker.sizing import VISITS_PER_PROCESS

# Stands in for `python -m media_worker`: says who it is, then waits for SIGTERM (or fails at once
# when it is the process FAIL_INDEX names).
CHILD = f"""
import os, signal, sys, time
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
index = os.environ[{names.PROCESS_INDEX!r}]
print("child", os.environ[{names.WORKER_ID!r}], index, os.environ[{names.PROCESSES!r}], flush=True)
if index == os.environ.get("FAIL_INDEX"):
    sys.exit(3)
time.sleep(60)
sys.exit(9)
"""


def config(env: Mapping[str, str] | None = None) -> WorkerConfig:
    return WorkerConfig.from_env({names.SECRET: "s", **(env or {})})


def test_defaults_one_process_with_the_measured_capacity_and_no_metric() -> None:
    settings = config()
    assert (settings.processes, settings.process_index) == (1, None)
    assert settings.capacity == VISITS_PER_PROCESS
    assert settings.metrics_namespace is None


def test_the_stack_settings_are_read() -> None:
    settings = config(
        {
            names.PROCESSES: "4",
            names.CAPACITY: "9",
            names.METRICS_NAMESPACE: "eClinic",
            names.SERVICE: "eclinic-media-worker",
        }
    )
    assert (settings.processes, settings.capacity) == (4, 9)
    assert (settings.metrics_namespace, settings.service_name) == ("eClinic", "eclinic-media-worker")


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_process_count_must_be_a_positive_number(value: str) -> None:
    with pytest.raises(SystemExit, match=names.PROCESSES):
        config({names.PROCESSES: value})


def test_each_child_is_a_single_worker_with_its_own_id() -> None:
    env = child_environment({names.PROCESSES: "2", "OTHER": "kept"}, "task-1", 2)
    assert env == {
        names.PROCESSES: "1",
        names.WORKER_ID: "task-1-2",
        names.PROCESS_INDEX: "2",
        "OTHER": "kept",
    }
    child = config(env)
    assert (child.worker_id, child.processes, child.process_index) == ("task-1-2", 1, 2)


def run(processes: int, fail_index: str = "", stop_with: int | None = None) -> int:
    env = {**os.environ, "FAIL_INDEX": fail_index}
    if stop_with is not None:
        # The signal arrives at this process, as SIGTERM from ECS arrives at the container's.
        threading.Timer(1.5, os.kill, (os.getpid(), stop_with)).start()
    settings = config({names.WORKER_ID: "task-9", names.PROCESSES: str(processes)})
    return run_processes(settings, env, command=[sys.executable, "-c", CHILD])


@pytest.mark.parametrize("stop_with", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_every_process_and_the_parent_exits_0(
    stop_with: int, capfd: pytest.CaptureFixture[str]
) -> None:
    assert run(3, stop_with=stop_with) == 0
    started = sorted(line for line in capfd.readouterr().out.splitlines() if line.startswith("child"))
    assert started == ["child task-9-1 1 1", "child task-9-2 2 1", "child task-9-3 3 1"]


def test_a_process_that_ends_on_its_own_stops_the_others_and_fails_the_parent(
    capfd: pytest.CaptureFixture[str],
) -> None:
    started = time.monotonic()
    assert run(2, fail_index="2") == 1
    assert time.monotonic() - started < 30  # process 1 was stopped, not left to its 60 s sleep
    assert "child task-9-1 1 1" in capfd.readouterr().out


def test_the_health_check_wants_every_process_fresh(tmp_path: Path) -> None:
    base = tmp_path / "alive"
    assert alive_files(1, base) == [base]
    assert alive_files(2, base) == [tmp_path / "alive-1", tmp_path / "alive-2"]
    assert alive_file(None, base) == base
    assert not healthy(2, base)
    for path in alive_files(2, base):
        path.touch()
    now = (tmp_path / "alive-1").stat().st_mtime
    assert healthy(2, base, now=now + 10)
    assert not healthy(3, base, now=now + 10)  # a process that never connected
    os.utime(tmp_path / "alive-2", (now - 100, now - 100))
    assert not healthy(2, base, now=now + 10)  # one that stopped touching its file
    assert not healthy(1, base)  # one process alone uses the plain file
