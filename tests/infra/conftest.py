"""The CDK stack, synthesized in process once per test session (no AWS credentials, no network
to AWS), for every test module of tests/infra."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
PREFIX = "eclinic-prod-"


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # `chalice package` wants one; no call is made
    sys.path.insert(0, str(INFRA))
    import aws_cdk as cdk
    from eclinic_infra.stack import EclinicStack

    cwd = Path.cwd()
    # `chalice package` loads the app with the stage's environment variables set in os.environ
    # (CDK tokens, here): put the environment back for the tests that follow.
    saved_environment = dict(os.environ)
    os.chdir(tmp_path_factory.mktemp("chalice-out"))  # the Chalice construct writes chalice.out/ here
    try:
        app = cdk.App(
            outdir=str(tmp_path_factory.mktemp("cdk.out")),
            context={"stage": "prod", "author_groups": "cardiology:Cardiology,dermatology:Dermatology"},
        )
        stack = EclinicStack(app, "EclinicStack")
        assembly = app.synth()
    finally:
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(saved_environment)
        sys.path.remove(str(INFRA))
    template_path = Path(assembly.directory) / "EclinicStack.template.json"
    yield {"stack": stack, "json": json.loads(template_path.read_text()), "path": template_path}


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def worker_container(template: dict[str, Any]) -> dict[str, Any]:
    (task,) = resources(template, "AWS::ECS::TaskDefinition").values()
    (container,) = task["Properties"]["ContainerDefinitions"]
    return dict(container)


def visits_policy(template: dict[str, Any]) -> dict[str, Any]:
    """The target tracking policy on the workers' own metric (not the CPU one)."""
    (spec,) = [
        p["Properties"]["TargetTrackingScalingPolicyConfiguration"]
        for p in resources(template, "AWS::ApplicationAutoScaling::ScalingPolicy").values()
        if "CustomizedMetricSpecification" in p["Properties"]["TargetTrackingScalingPolicyConfiguration"]
    ]
    return dict(spec)


def container_environment(
    template: dict[str, Any], placeholder: str = "set-at-deploy-time"
) -> dict[str, str]:
    """The worker container's environment as the task would see it: its variables and its secrets
    (values CloudFormation resolves at deploy time stand in as `placeholder`)."""
    container = worker_container(template)
    environment = {
        e["Name"]: e["Value"] if isinstance(e["Value"], str) else placeholder
        for e in container["Environment"]
    }
    environment.update({s["Name"]: placeholder for s in container.get("Secrets", [])})
    return environment
