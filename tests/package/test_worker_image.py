"""The media worker's Dockerfile, as far as it can be proven without a Docker engine: its
requirements install into a fresh virtual environment, and the worker starts from the very
command the image runs, registers with the local run, and stops cleanly on SIGTERM; with
ECLINIC_WORKER_PROCESSES=2 (a 2 vCPU task) the same command runs two workers, and the container
health check the stack uses watches both."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from media_worker.health import HEALTH_CHECK_COMMAND, alive_file
from tests.local.conftest import ROOT, WORKER_SECRET, LocalRun
from tests.local.conftest import local_run as local_run

DOCKERFILE = ROOT / "media_worker" / "Dockerfile"


def dockerfile() -> dict[str, object]:
    text = DOCKERFILE.read_text()
    requirements = re.search(r"^RUN pip install -r (\S+)$", text, re.M)
    command = re.search(r"^CMD (\[.*\])$", text, re.M)
    workdir = re.search(r"^WORKDIR (\S+)$", text, re.M)
    assert requirements and command and workdir, "the Dockerfile lost its RUN pip install, CMD or WORKDIR"
    return {
        "requirements": requirements.group(1),
        "cmd": json.loads(command.group(1)),
        "workdir": workdir.group(1),
    }


def test_the_image_holds_the_worker_only() -> None:
    text = DOCKERFILE.read_text()
    copies = re.findall(r"^COPY (\S+) ", text, re.M)
    assert copies == ["requirements.txt", "."]  # the build context is media_worker/ alone
    assert "USER" in text  # not root


@pytest.mark.slow
def test_requirements_install_fresh_and_the_entry_point_runs(tmp_path: Path, local_run: LocalRun) -> None:
    spec = dockerfile()
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    # The image copies its context (media_worker/) to WORKDIR/media_worker.
    requirements = ROOT / str(spec["requirements"]).removeprefix(str(spec["workdir"]) + "/")
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "-r", str(requirements)],
        check=True,
        timeout=900,
    )
    app = image_layout(tmp_path)
    command = [str(python) if part == "python" else part for part in spec["cmd"]]  # type: ignore[union-attr]
    env = worker_env(local_run, ECLINIC_WORKER_ID="image-entry-point", ECLINIC_WORKER_CAPACITY="1")
    process = subprocess.Popen(
        command, cwd=app, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        assert local_run.log_path is not None
        deadline = time.monotonic() + 60
        while '"worker_id":"image-entry-point"' not in local_run.log_path.read_text():
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            assert time.monotonic() < deadline, "the worker did not register"
            time.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    assert "media worker image-entry-point stopped" in output
    assert "Traceback" not in output
    assert os.path.exists(python)


def children_of(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:  # the parent's pid, after the state
            found.append(int(stat.parent.name))
    return found


def worker_env(local_run: LocalRun, **settings: str) -> dict[str, str]:
    """What the task definition gives the container, pointed at the local run."""
    return {
        "PATH": "/usr/bin:/bin",
        "ECLINIC_WORKER_WS_URL": local_run.base_url.replace("http://", "ws://") + "/ws",
        "ECLINIC_WORKER_SECRET": WORKER_SECRET,
        "AWS_REGION": "us-east-1",
        **settings,
    }


def image_layout(tmp_path: Path) -> Path:
    """WORKDIR holding the media_worker package, as the image lays the code out."""
    app = tmp_path / "app"
    shutil.copytree(ROOT / "media_worker", app / "media_worker", ignore=shutil.ignore_patterns("__pycache__"))
    return app


@pytest.mark.slow
def test_the_entry_point_runs_one_worker_per_process(tmp_path: Path, local_run: LocalRun) -> None:
    spec = dockerfile()
    app = image_layout(tmp_path)
    command = [sys.executable if part == "python" else part for part in spec["cmd"]]  # type: ignore[union-attr]
    env = worker_env(
        local_run,
        ECLINIC_WORKER_ID="task-7f3a",
        ECLINIC_WORKER_PROCESSES="2",
        ECLINIC_WORKER_HEARTBEAT="1",  # the heartbeat files are touched every second
    )
    started = time.time()
    output_path = tmp_path / "worker.log"
    with output_path.open("w") as output:
        process = subprocess.Popen(command, cwd=app, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        assert local_run.log_path is not None
        deadline = time.monotonic() + 60
        wanted = ('"worker_id":"task-7f3a-1"', '"worker_id":"task-7f3a-2"')
        while not all(w in local_run.log_path.read_text() for w in wanted):
            assert process.poll() is None, output_path.read_text()
            assert time.monotonic() < deadline, "two workers did not register"
            time.sleep(0.2)
        # Each process keeps its own heartbeat file fresh, and the stack's health check sees both.
        files = [alive_file(1), alive_file(2)]
        while not all(f.exists() and f.stat().st_mtime >= started for f in files):
            assert time.monotonic() < deadline, "the workers did not touch their heartbeat files"
            time.sleep(0.2)
        check = [sys.executable if part == "python" else part for part in HEALTH_CHECK_COMMAND]
        health = subprocess.run(check, cwd=app, env=env, capture_output=True, timeout=30)
        assert health.returncode == 0, health
        children = children_of(process.pid)
        assert len(children) == 2, children
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    log = output_path.read_text()
    assert process.returncode == 0, log
    assert "media worker task-7f3a-1 stopped" in log and "media worker task-7f3a-2 stopped" in log
    assert "Traceback" not in log
    assert not [pid for pid in children if Path(f"/proc/{pid}").exists()]  # both gone, none orphaned
