"""The media worker's Dockerfile, as far as it can be proven without a Docker engine: its
requirements install into a fresh virtual environment, and the worker starts from the very
command the image runs, registers with the local run, and stops cleanly on SIGTERM; with
ECLINIC_WORKER_PROCESSES=2 (a 2 vCPU task) the same command runs two workers, and the container
health check the stack uses watches both. The build context is the repository root, of which
the image takes media_worker/ and eclinic_protocol/ only."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TypedDict

import pytest

from media_worker import settings_names as worker_settings
from media_worker.health import HEALTH_CHECK_COMMAND, alive_file
from tests.local.conftest import ROOT, WORKER_SECRET, LocalRun
from tests.local.conftest import local_run as local_run

DOCKERFILE = ROOT / "media_worker" / "Dockerfile"


class ImageSpec(TypedDict):
    """What the worker's Dockerfile installs, runs and where."""

    requirements: str
    cmd: list[str]
    workdir: str


def dockerfile() -> ImageSpec:
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
    # The build context is the repository root; the image takes the worker and the protocol.
    assert copies == ["media_worker/requirements.txt", "eclinic_protocol", "media_worker"]
    assert "USER" in text  # not root


def test_the_build_context_lets_in_the_worker_and_the_protocol_only() -> None:
    rules = [line for line in (ROOT / ".dockerignore").read_text().splitlines() if line and line[0] != "#"]
    assert rules[0] == "*"  # everything out, then
    assert {"!media_worker", "!eclinic_protocol"} == {r for r in rules if r.startswith("!")}


def test_the_stack_builds_the_image_from_the_root_with_this_dockerfile() -> None:
    """Read from the stack's source (importing it would start the CDK's node process)."""
    source = ROOT / "infra" / "eclinic_infra" / "worker.py"
    tree = ast.parse(source.read_text())
    constants = {
        node.targets[0].id: ast.unparse(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
    }
    assert constants["REPOSITORY_ROOT"] == "Path(__file__).resolve().parents[2]"  # infra/eclinic_infra/..
    assert ROOT / ast.literal_eval(constants["WORKER_DOCKERFILE"]) == DOCKERFILE
    (asset,) = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "from_asset"
    ]
    assert ast.unparse(asset.args[0]) == "str(REPOSITORY_ROOT)"
    assert {k.arg: ast.unparse(k.value) for k in asset.keywords}["file"] == "WORKER_DOCKERFILE"


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
    command = [str(python) if part == "python" else part for part in spec["cmd"]]
    env = worker_env(
        local_run, {worker_settings.WORKER_ID: "image-entry-point", worker_settings.CAPACITY: "1"}
    )
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


def worker_env(local_run: LocalRun, settings: Mapping[str, str]) -> dict[str, str]:
    """What the task definition gives the container, pointed at the local run."""
    return {
        "PATH": "/usr/bin:/bin",
        worker_settings.WS_URL: local_run.base_url.replace("http://", "ws://") + "/ws",
        worker_settings.SECRET: WORKER_SECRET,
        worker_settings.REGION: "us-east-1",
        **settings,
    }


def image_layout(tmp_path: Path) -> Path:
    """WORKDIR holding the media_worker and eclinic_protocol packages, as the image lays the
    code out."""
    app = tmp_path / "app"
    for package in ("media_worker", "eclinic_protocol"):
        shutil.copytree(ROOT / package, app / package, ignore=shutil.ignore_patterns("__pycache__"))
    return app


@pytest.mark.slow
def test_the_entry_point_runs_one_worker_per_process(tmp_path: Path, local_run: LocalRun) -> None:
    spec = dockerfile()
    app = image_layout(tmp_path)
    command = [sys.executable if part == "python" else part for part in spec["cmd"]]
    env = worker_env(
        local_run,
        {
            worker_settings.WORKER_ID: "task-7f3a",
            worker_settings.PROCESSES: "2",
            worker_settings.HEARTBEAT: "1",  # the heartbeat files are touched every second
        },
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
