"""Business metrics for the operators' dashboard, as CloudWatch embedded metric format (EMF)
log lines through Powertools' Metrics: no API call and no extra permission on the request path.

Only on when ECLINIC_METRICS is "emf" (the stack sets it); the local run and the tests keep
their output free of metric lines.
"""

from __future__ import annotations

import functools
import os
from typing import Any

from chalicelib import settings_names as names

NAMESPACE = "eClinic"


@functools.cache
def _metrics() -> Any:
    from aws_lambda_powertools import Metrics

    return Metrics(namespace=NAMESPACE, service="eclinic-api")


def count(name: str) -> None:
    if os.environ.get(names.METRICS) != "emf":
        return
    from aws_lambda_powertools.metrics import MetricUnit

    metrics = _metrics()
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
    metrics.flush_metrics()
