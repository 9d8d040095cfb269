"""What the container platform and the operators see of a worker: a heartbeat file for the
container health check, and its load as a CloudWatch metric for autoscaling."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger("media_worker.health")

ALIVE_FILE = Path("/tmp/eclinic-worker-alive")  # noqa: S108 - the container's own /tmp
METRIC_NAME = "ActiveVisits"


def mark_alive(path: Path = ALIVE_FILE) -> None:
    """Touched while the worker is connected; the health check fails when it grows old."""
    path.touch()


class LoadMetric:
    """Publishes the worker's active visits (namespace from ECLINIC_METRICS_NAMESPACE)."""

    def __init__(self, namespace: str, service: str, region: str) -> None:
        self._namespace = namespace
        self._service = service
        self._region = region
        self._client: Any = None

    def publish(self, active_visits: int, capacity: int) -> None:
        if self._client is None:
            import boto3

            self._client = boto3.client("cloudwatch", region_name=self._region)
        dimensions = [{"Name": "Service", "Value": self._service}]
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
                    {"MetricName": "Capacity", "Dimensions": dimensions, "Value": capacity, "Unit": "Count"},
                ],
            )
        except Exception as exc:  # a missed data point must never disturb the calls
            log.warning("could not publish the load metric: %s", type(exc).__name__)
