"""The media workers' deployment against the worker itself: the load metric the worker publishes
is the one the scaling policy tracks (published through moto's CloudWatch and read back the way
the policy reads it), and the task's size follows from the vCPUs and media_worker.sizing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from media_worker import settings_names as worker_settings
from media_worker.config import WorkerConfig
from media_worker.health import LoadMetric
from media_worker.sizing import VISITS_PER_PROCESS
from tests.conftest import AwsStack
from tests.infra.conftest import INFRA, container_environment, resources, visits_policy, worker_container


def test_the_load_metric_lands_where_the_scaling_policy_looks(
    synthesized: dict[str, Any], aws: AwsStack
) -> None:
    import boto3

    # moto's server (the session's stand-in), not mock_aws: that would reset the server's state
    # under every other test of the session.
    template = synthesized["json"]
    spec = visits_policy(template)["CustomizedMetricSpecification"]
    # The worker's settings exactly as the container gets them from the stack.
    config = WorkerConfig.from_env(
        {**container_environment(template), worker_settings.REGION: "eu-central-1"}
    )
    assert config.metrics_namespace, "the stack must turn the load metric on"
    # The task role may publish into that namespace and no other.
    (grant,) = [
        statement
        for policy in resources(template, "AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Action"] == "cloudwatch:PutMetricData"
    ]
    assert grant["Condition"] == {"StringEquals": {"cloudwatch:namespace": config.metrics_namespace}}

    # boto3 takes the stand-in's address from AWS_ENDPOINT_URL, which the fixture sets.
    LoadMetric(config.metrics_namespace, config.service_name, config.region).publish(3, config.capacity, 1)
    cloudwatch = boto3.client(
        "cloudwatch",
        region_name=config.region,
        endpoint_url=aws.endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    now = datetime.now(UTC)

    def datapoints(metric_name: str) -> list[float]:
        answer = cloudwatch.get_metric_statistics(
            Namespace=spec["Namespace"],
            MetricName=metric_name,
            Dimensions=spec["Dimensions"],
            StartTime=now - timedelta(minutes=5),
            EndTime=now + timedelta(minutes=5),
            Period=60,
            Statistics=[spec["Statistic"]],
        )
        return [point[spec["Statistic"]] for point in answer["Datapoints"]]

    assert datapoints(spec["MetricName"]) == [3.0]
    assert datapoints("Capacity") == [float(VISITS_PER_PROCESS)]
    assert datapoints("TranscodedStreams") == [1.0]
    (listed,) = cloudwatch.list_metrics(Namespace=spec["Namespace"], MetricName=spec["MetricName"])["Metrics"]
    assert listed["Dimensions"] == spec["Dimensions"]


def workers_template(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, vcpus: int) -> dict[str, Any]:
    """MediaWorkers alone, in a bare stack (no Chalice package: fast), sized for `vcpus`."""
    monkeypatch.syspath_prepend(str(INFRA))
    import aws_cdk as cdk
    from aws_cdk import aws_kms as kms
    from aws_cdk import aws_s3 as s3
    from aws_cdk import aws_secretsmanager as secretsmanager
    from aws_cdk.assertions import Template
    from eclinic_infra.worker import MediaWorkers, WorkerSizing

    stack = cdk.Stack(cdk.App(outdir=str(tmp_path)), "Workers")
    MediaWorkers(
        stack,
        "MediaWorkers",
        ws_url="wss://example.invalid/api",
        worker_secret=secretsmanager.Secret(stack, "WorkerSecret"),
        bucket=s3.Bucket(stack, "Files"),
        files_key=kms.Key(stack, "FilesKey"),
        udp_ports="40000-40999",
        sizing=WorkerSizing(vcpus),
        max_tasks=3,
    )
    return dict(Template.from_stack(stack).to_json())


def test_a_bigger_task_runs_a_worker_process_per_vcpu(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    template = workers_template(tmp_path, monkeypatch, vcpus=4)
    (task,) = resources(template, "AWS::ECS::TaskDefinition").values()
    assert (task["Properties"]["Cpu"], task["Properties"]["Memory"]) == ("4096", "8192")
    environment = {e["Name"]: e["Value"] for e in worker_container(template)["Environment"]}
    assert environment[worker_settings.PROCESSES] == "4"
    # Each process registers as its own worker with the capacity of one process ...
    assert environment[worker_settings.CAPACITY] == str(VISITS_PER_PROCESS)
    # ... and publishes its own ActiveVisits: the policy's average is visits per process.
    assert visits_policy(template)["TargetValue"] == VISITS_PER_PROCESS - 1
    cpu_policy = next(
        p["Properties"]["TargetTrackingScalingPolicyConfiguration"]
        for p in resources(template, "AWS::ApplicationAutoScaling::ScalingPolicy").values()
        if "PredefinedMetricSpecification" in p["Properties"]["TargetTrackingScalingPolicyConfiguration"]
    )
    assert cpu_policy["TargetValue"] == 80  # the share of a core steady forwarding may take
    (target,) = resources(template, "AWS::ApplicationAutoScaling::ScalableTarget").values()
    assert (target["Properties"]["MinCapacity"], target["Properties"]["MaxCapacity"]) == (1, 3)


def test_worker_sizes_are_fargate_sizes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(INFRA))
    from eclinic_infra.worker import WorkerSizing

    sizing = WorkerSizing(2)
    assert (sizing.cpu, sizing.memory_mib, sizing.processes) == (2048, 4096, 2)
    assert sizing.visits_per_task == 2 * VISITS_PER_PROCESS
    with pytest.raises(ValueError, match="worker_vcpus"):
        WorkerSizing(3)


def test_the_old_capacity_context_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(INFRA))
    import aws_cdk as cdk
    from eclinic_infra.stack import EclinicStack

    app = cdk.App(outdir=str(tmp_path), context={"worker_capacity": 2})
    with pytest.raises(ValueError, match="worker_vcpus"):
        EclinicStack(app, "EclinicStack")
