"""Reading the synthesized TURN service as CloudFormation would deploy it (each value through
conftest's `deployed`): the listeners, target groups, security groups and rules the TURN
tests (test_turn_service.py) check."""

from __future__ import annotations

from typing import Any

from tests.infra.conftest import deployed, resources


def exists(template: dict[str, Any], resource: dict[str, Any], parameters: dict[str, str]) -> bool:
    name = resource.get("Condition")
    return name is None or bool(deployed(template, {"Condition": name}, parameters))


def only(template: dict[str, Any], kind: str) -> tuple[str, dict[str, Any]]:
    ((name, resource),) = resources(template, kind).items()
    return name, resource


def listeners(template: dict[str, Any], parameters: dict[str, str]) -> dict[int, dict[str, Any]]:
    return {
        listener["Properties"]["Port"]: deployed(template, listener["Properties"], parameters)
        for listener in resources(template, "AWS::ElasticLoadBalancingV2::Listener").values()
    }


def target_group(template: dict[str, Any], listener: dict[str, Any]) -> dict[str, Any]:
    (action,) = listener["DefaultActions"]
    name = action["TargetGroupArn"].strip("${}")
    return dict(template["Resources"][name]["Properties"])


def group_id(name: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [name, "GroupId"]}


def ingress_rules(template: dict[str, Any]) -> list[dict[str, Any]]:
    """Every ingress rule, inline or a resource of its own, with `GroupId` naming its group."""
    rules = [
        {**rule, "GroupId": group_id(name)}
        for name, group in resources(template, "AWS::EC2::SecurityGroup").items()
        for rule in group["Properties"].get("SecurityGroupIngress", [])
    ]
    rules += [r["Properties"] for r in resources(template, "AWS::EC2::SecurityGroupIngress").values()]
    return rules


def egress_rules(template: dict[str, Any], group: str) -> list[dict[str, Any]]:
    inline = template["Resources"][group]["Properties"].get("SecurityGroupEgress", [])
    separate = [
        r["Properties"]
        for r in resources(template, "AWS::EC2::SecurityGroupEgress").values()
        if r["Properties"]["GroupId"] == group_id(group)
    ]
    return [*inline, *separate]


def ports(rule: dict[str, Any]) -> tuple[str, int, int]:
    """Protocol and port range; an all-traffic rule (-1) has no ports: (-1, -1)."""
    return rule["IpProtocol"], rule.get("FromPort", -1), rule.get("ToPort", -1)


def security_groups(template: dict[str, Any]) -> dict[str, str]:
    """The logical ids of the balancer's, the TURN instances' and the workers' groups."""
    _, balancer = only(template, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    (balancer_group,) = balancer["Properties"]["SecurityGroups"]
    _, launch = only(template, "AWS::EC2::LaunchTemplate")
    (interface,) = launch["Properties"]["LaunchTemplateData"]["NetworkInterfaces"]
    (instance_group,) = interface["Groups"]
    (service,) = resources(template, "AWS::ECS::Service").values()
    (worker_group,) = service["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]["SecurityGroups"]
    return {
        "balancer": balancer_group["Fn::GetAtt"][0],
        "instances": instance_group["Fn::GetAtt"][0],
        "workers": worker_group["Fn::GetAtt"][0],
    }
