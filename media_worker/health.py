"""What the container platform and the operators see of a worker: a heartbeat file per worker
process for the container health check, and its load as a CloudWatch metric for autoscaling.

`python -m media_worker.health` is the container health check (HEALTH_CHECK_COMMAND; the stack
uses this very command): healthy while every worker process of the container has touched its
heartbeat file within STALE_AFTER_SECONDS, that is, while each is alive and connected.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

from media_worker.config import process_index, worker_processes

log = logging.getLogger("media_worker.health")

ALIVE_FILE = Path("/tmp/eclinic-worker-alive")  # noqa: S108 - the container's own /tmp
STALE_AFTER_SECONDS = 90  # a worker touches its file every heartbeat (20 s) while connected
HEALTH_CHECK_COMMAND = ("python", "-m", "media_worker.health")
METRIC_NAME = "ActiveVisits"
CAPACITY_METRIC_NAME = "Capacity"
TRANSCODED_METRIC_NAME = "TranscodedStreams"  # streams decoded and re-encoded: legs with no shared codec
SERVICE_DIMENSION = "Service"


def alive_file(index: int | None, base: Path = ALIVE_FILE) -> Path:
    """The heartbeat file of worker process `index` (None: the container's only process)."""
    return base if index is None else base.with_name(f"{base.name}-{index}")


def alive_files(processes: int, base: Path = ALIVE_FILE) -> list[Path]:
    """Every heartbeat file a container running `processes` worker processes keeps fresh."""
    if processes == 1:
        return [alive_file(None, base)]
    return [alive_file(index, base) for index in range(1, processes + 1)]


def mark_alive(path: Path | None = None) -> None:
    """Touched while the worker is connected; the health check fails when it grows old. By
    default, this process's own file (the entry point tells each process which one it is)."""
    (path or alive_file(process_index(os.environ))).touch()


def healthy(processes: int, base: Path = ALIVE_FILE, now: float | None = None) -> bool:
    now = time.time() if now is None else now
    for path in alive_files(processes, base):
        try:
            if now - path.stat().st_mtime >= STALE_AFTER_SECONDS:
                return False
        except FileNotFoundError:
            return False
    return True


class LoadMetric:
    """Publishes the worker's active visits, capacity and transcoded streams (namespace from
    ECLINIC_METRICS_NAMESPACE, Service dimension from ECLINIC_WORKER_SERVICE): what the stack's
    scaling policy tracks, and what the dashboard shows."""

    def __init__(self, namespace: str, service: str, region: str) -> None:
        self._namespace = namespace
        self._service = service
        self._region = region
        self._client: Any = None

    def publish(self, active_visits: int, capacity: int, transcoded_streams: int) -> None:
        if self._client is None:
            import boto3

            self._client = boto3.client("cloudwatch", region_name=self._region)
        dimensions = [{"Name": SERVICE_DIMENSION, "Value": self._service}]
        try:
            self._client.put_metric_data(
                Namespace=self._namespace,
                MetricData=[
                    {
                        "MetricName": METRIC_NAME,
                        "Dimensions": dimensions,
                        "Value": active_visits,
                        "Unit": "Count",
                    },
                    {
                        "MetricName": CAPACITY_METRIC_NAME,
                        "Dimensions": dimensions,
                        "Value": capacity,
                        "Unit": "Count",
                    },
                    {
                        "MetricName": TRANSCODED_METRIC_NAME,
                        "Dimensions": dimensions,
                        "Value": transcoded_streams,
                        "Unit": "Count",
                    },
                ],
            )
        except Exception as exc:  # a missed data point must never disturb the calls
            log.warning("could not publish the load metric: %s", type(exc).__name__)


if __name__ == "__main__":
    sys.exit(0 if healthy(worker_processes(os.environ)) else 1)
