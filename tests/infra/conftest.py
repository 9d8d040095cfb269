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

from chalicelib import settings_names as app_settings

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
PREFIX = "eclinic-prod-"


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
    # `chalice package` wants a region; no call is made.
    os.environ.setdefault(app_settings.DEFAULT_REGION, "us-east-1")
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


def rendered(value: Any) -> Any:
    """A template value as a string where it is one: Fn::Join, Ref and Fn::GetAtt become text with
    `${Name}` / `${Name.Attribute}` where CloudFormation puts the value (as Fn::Sub writes them)."""
    if isinstance(value, dict) and len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Ref":
            return "${" + argument + "}"
        if key == "Fn::GetAtt":
            return "${" + ".".join(argument) + "}"
        if key == "Fn::Join":
            separator, parts = argument
            return separator.join(str(rendered(part)) for part in parts)
        if key == "Fn::Sub" and isinstance(argument, str):
            return argument
    if isinstance(value, list):
        return [rendered(v) for v in value]
    return value


NO_VALUE = object()


def deployed(template: dict[str, Any], value: Any, parameters: dict[str, str] | None = None) -> Any:
    """`value` with these parameter values (the others at their defaults): conditions, Fn::If,
    Fn::Join and parameters resolved; a resource stays `${Name}`, an attribute `${Name.Attr}`."""
    parameters = parameters or {}

    def parameter(name: str) -> Any:
        spec = template["Parameters"][name]
        given = parameters.get(name, spec.get("Default", ""))
        return str(given).split(",") if spec["Type"] == "CommaDelimitedList" else given

    def condition(name: str) -> bool:
        return bool(evaluate(template["Conditions"][name]))

    def evaluate(v: Any) -> Any:
        if isinstance(v, dict) and len(v) == 1:
            ((key, argument),) = v.items()
            if key == "Ref":
                if argument == "AWS::NoValue":
                    return NO_VALUE
                if argument in template.get("Parameters", {}):
                    return parameter(argument)
                return "${" + argument + "}"
            if key == "Fn::GetAtt":
                return "${" + ".".join(argument) + "}"
            if key == "Fn::If":
                name, when_true, when_false = argument
                return evaluate(when_true if condition(name) else when_false)
            if key == "Fn::Equals":
                left, right = (evaluate(a) for a in argument)
                return str(left) == str(right)
            if key == "Fn::Not":
                return not evaluate(argument[0])
            if key == "Fn::And":
                return all(evaluate(a) for a in argument)
            if key == "Condition":
                return condition(argument)
            if key == "Fn::Join":
                separator, parts = argument
                joined = evaluate(parts)
                return separator.join(str(p) for p in (joined if isinstance(joined, list) else [joined]))
        if isinstance(v, list):
            return [x for x in (evaluate(x) for x in v) if x is not NO_VALUE]
        if isinstance(v, dict):
            return {k: x for k, x in ((k, evaluate(x)) for k, x in v.items()) if x is not NO_VALUE}
        return v

    return evaluate(value)
