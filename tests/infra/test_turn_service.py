"""The TURN service (coturn on an EC2 Auto Scaling group behind a Network Load Balancer) in the
synthesized template: its listeners, who may talk to whom, what its instances may read, their
start script, scaling, alarms, and the TURN URLs the functions give browsers. Then the start
script's own program against Debian's coturn and moto's Secrets Manager: a rotation reaches a
running coturn, which accepts the current and the previous secret, with no restart."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import shutil
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import AwsStack
from tests.infra.conftest import INFRA, resources

TURN_FILES = INFRA / "turn"
WORLD = ("0.0.0.0/0", "::/0")
DOMAIN = "turn.clinic.example"
ZONE = "Z0123456789EXAMPLE"
NO_VALUE = object()


# -- the template as CloudFormation would deploy it ------------------------------------------------


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


# -- listeners and the certificate ------------------------------------------------------------------


def test_browsers_reach_turn_on_udp_and_tcp_3478_and_on_443(synthesized: dict[str, Any]) -> None:
    template = synthesized["json"]
    _, balancer = only(template, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    properties = balancer["Properties"]
    assert (properties["Type"], properties["Scheme"]) == ("network", "internet-facing")
    attributes = {a["Key"]: a["Value"] for a in properties["LoadBalancerAttributes"]}
    assert attributes["load_balancing.cross_zone.enabled"] == "true"  # one warm instance, two zones

    for parameters in ({}, {"TurnDomain": DOMAIN}):
        by_port = listeners(template, parameters)
        assert set(by_port) == {3478, 443}
        # One listener for both transports on 3478 (an NLB cannot have a UDP and a TCP one on a port).
        assert by_port[3478]["Protocol"] == "TCP_UDP"
        turn = target_group(template, by_port[3478])
        assert (turn["Protocol"], turn["Port"], turn["HealthCheckProtocol"]) == ("TCP_UDP", 3478, "TCP")
        # 443 goes to coturn's plain TCP listener: TURN over TLS is TURN over TCP inside TLS.
        tls = target_group(template, by_port[443])
        assert (tls["Protocol"], tls["Port"]) == ("TCP", 3478)

    # No domain: plain TCP on 443 (turn:...:443?transport=tcp) and no certificate.
    plain = listeners(template, {})[443]
    assert plain["Protocol"] == "TCP" and "Certificates" not in plain and "SslPolicy" not in plain
    certificate_name, certificate = only(template, "AWS::CertificateManager::Certificate")
    assert not exists(template, certificate, {})

    # A domain: TLS with the domain's ACM certificate, TLS 1.2 and 1.3 only.
    tls = listeners(template, {"TurnDomain": DOMAIN})[443]
    assert tls["Protocol"] == "TLS"
    assert tls["Certificates"] == [{"CertificateArn": "${" + certificate_name + "}"}]
    assert tls["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert exists(template, certificate, {"TurnDomain": DOMAIN})
    issued = deployed(template, certificate["Properties"], {"TurnDomain": DOMAIN})
    assert (issued["DomainName"], issued["ValidationMethod"]) == (DOMAIN, "DNS")
    # Validated by the operator's own DNS record, or through the hosted zone when one is named,
    # which then also points the name at the balancer.
    assert "DomainValidationOptions" not in issued
    with_zone = {"TurnDomain": DOMAIN, "TurnHostedZoneId": ZONE}
    validated = deployed(template, certificate["Properties"], with_zone)
    assert validated["DomainValidationOptions"] == [{"DomainName": DOMAIN, "HostedZoneId": ZONE}]
    _, record = only(template, "AWS::Route53::RecordSet")
    assert not exists(template, record, {"TurnDomain": DOMAIN}) and exists(template, record, with_zone)
    balancer_name, _ = only(template, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    alias = deployed(template, record["Properties"], with_zone)
    assert (alias["Name"], alias["Type"], alias["HostedZoneId"]) == (DOMAIN, "A", ZONE)
    assert alias["AliasTarget"]["DNSName"] == "${" + balancer_name + ".DNSName}"


# -- who may talk to whom ----------------------------------------------------------------------------


def test_nothing_but_the_turn_ports_is_open_to_the_internet(synthesized: dict[str, Any]) -> None:
    template = synthesized["json"]
    groups = security_groups(template)
    world_open = {
        (rule["GroupId"]["Fn::GetAtt"][0], ports(rule))
        for rule in ingress_rules(template)
        if rule.get("CidrIp") in WORLD or rule.get("CidrIpv6") in WORLD
    }
    assert world_open == {
        (groups["balancer"], ("udp", 3478, 3478)),
        (groups["balancer"], ("tcp", 3478, 3478)),
        (groups["balancer"], ("tcp", 443, 443)),
        # The workers' own media range (browsers' UDP straight to the worker), as before.
        (groups["workers"], ("udp", 40000, 40999)),
    }


def test_the_instances_take_turn_from_the_balancer_and_relay_with_the_workers_only(
    synthesized: dict[str, Any],
) -> None:
    template = synthesized["json"]
    groups = security_groups(template)
    into_instances = {
        (rule["SourceSecurityGroupId"]["Fn::GetAtt"][0], ports(rule))
        for rule in ingress_rules(template)
        if rule["GroupId"] == group_id(groups["instances"])
    }
    assert into_instances == {
        (groups["balancer"], ("udp", 3478, 3478)),
        (groups["balancer"], ("tcp", 3478, 3478)),
        # The relayed addresses: coturn's relay range, for the workers' answers and checks.
        (groups["workers"], ("udp", 49152, 65535)),
    }
    # Out of the instances: relayed media to the workers' media range, HTTPS to AWS's APIs and
    # HTTP to Ubuntu's package mirrors; nothing else (no allow-all).
    out = egress_rules(template, groups["instances"])
    assert {(ports(r), r.get("CidrIp") or r["DestinationSecurityGroupId"]["Fn::GetAtt"][0]) for r in out} == {
        (("udp", 40000, 40999), groups["workers"]),
        (("tcp", 443, 443), "0.0.0.0/0"),
        (("tcp", 80, 80), "0.0.0.0/0"),
    }
    # The workers take the relayed media from the TURN instances by name, not only as "anyone".
    assert (groups["instances"], ("udp", 40000, 40999)) in {
        (rule["SourceSecurityGroupId"]["Fn::GetAtt"][0], ports(rule))
        for rule in ingress_rules(template)
        if rule["GroupId"] == group_id(groups["workers"]) and "SourceSecurityGroupId" in rule
    }
    # The balancer forwards (and health-checks) to the instances' 3478 and nothing else.
    assert {ports(r) for r in egress_rules(template, groups["balancer"])} == {
        ("udp", 3478, 3478),
        ("tcp", 3478, 3478),
    }


# -- the instances -------------------------------------------------------------------------------------


def instance_role(template: dict[str, Any]) -> str:
    _, launch = only(template, "AWS::EC2::LaunchTemplate")
    profile = launch["Properties"]["LaunchTemplateData"]["IamInstanceProfile"]["Arn"]["Fn::GetAtt"][0]
    (role,) = template["Resources"][profile]["Properties"]["Roles"]
    return str(role["Ref"])


def test_the_instances_may_read_the_turn_secret_and_nothing_else(synthesized: dict[str, Any]) -> None:
    template = synthesized["json"]
    role = instance_role(template)
    statements = [
        statement
        for policy in resources(template, "AWS::IAM::Policy").values()
        if {"Ref": role} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    (secret,) = [
        name
        for name, s in resources(template, "AWS::SecretsManager::Secret").items()
        if "TURN" in s["Properties"]["Description"]
    ]
    assert statements == [
        {"Action": "secretsmanager:GetSecretValue", "Effect": "Allow", "Resource": {"Ref": secret}}
    ]
    # Session Manager for operators, instead of an SSH port.
    managed = template["Resources"][role]["Properties"]["ManagedPolicyArns"]
    assert [m["Fn::Join"][1][-1] for m in managed] == [":iam::aws:policy/AmazonSSMManagedInstanceCore"]
    # The functions' role reads the same secret (and signs with its AWSCURRENT).
    assert any(
        statement["Action"] == "secretsmanager:GetSecretValue" and {"Ref": secret} in statement["Resource"]
        for policy in resources(template, "AWS::IAM::Policy").values()
        if "FunctionRole" in json.dumps(policy["Properties"]["Roles"])
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    )


def user_data(template: dict[str, Any]) -> str:
    _, launch = only(template, "AWS::EC2::LaunchTemplate")
    return str(deployed(template, launch["Properties"]["LaunchTemplateData"]["UserData"]["Fn::Base64"]))


def test_the_instances_start_coturn_with_the_repository_s_script(synthesized: dict[str, Any]) -> None:
    template = synthesized["json"]
    text = user_data(template)
    assert len(text.encode()) < 16 * 1024, "EC2 takes at most 16 KB of user data"
    for name in ("eclinic_turn.py", "turnserver.conf"):
        assert (TURN_FILES / name).read_text().rstrip() in text, name
    assert text.rstrip().endswith((TURN_FILES / "bootstrap.sh").read_text().rstrip())
    (secret,) = [
        name
        for name, s in resources(template, "AWS::SecretsManager::Secret").items()
        if "TURN" in s["Properties"]["Description"]
    ]
    assert f"export ECLINIC_TURN_SECRET_ARN='${{{secret}}}'" in text
    # coturn may relay to the workers' subnets, which are the VPC's public ones.
    subnets = [s["Properties"]["CidrBlock"] for s in resources(template, "AWS::EC2::Subnet").values()]
    assert f"export ECLINIC_TURN_PEER_CIDRS='{','.join(subnets)}'" in text
    _, launch = only(template, "AWS::EC2::LaunchTemplate")
    data = launch["Properties"]["LaunchTemplateData"]
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    assert data["MetadataOptions"]["HttpPutResponseHopLimit"] == 1
    assert data["NetworkInterfaces"][0]["AssociatePublicIpAddress"] is True
    assert data["Monitoring"] == {"Enabled": True}
    assert data["InstanceType"] == "t4g.small"
    (volume,) = data["BlockDeviceMappings"]
    assert volume["Ebs"]["Encrypted"] is True
    # Ubuntu 24.04 LTS for the instance type's architecture, resolved at deploy time.
    image = data["ImageId"]["Ref"]
    assert template["Parameters"][image]["Default"] == (
        "/aws/service/canonical/ubuntu/server/24.04/stable/current/arm64/hvm/ebs-gp3/ami-id"
    )


def test_the_group_keeps_one_warm_instance_and_scales_on_bandwidth_and_cpu(
    synthesized: dict[str, Any],
) -> None:
    template = synthesized["json"]
    group_name, group = only(template, "AWS::AutoScaling::AutoScalingGroup")
    properties = group["Properties"]
    assert (properties["MinSize"], properties["MaxSize"]) == ("1", "4")
    assert properties["HealthCheckType"] == "ELB"
    assert properties["InstanceMaintenancePolicy"] == {
        "MinHealthyPercentage": 100,
        "MaxHealthyPercentage": 200,
    }
    assert sorted(t["Ref"] for t in properties["TargetGroupARNs"]) == sorted(
        resources(template, "AWS::ElasticLoadBalancingV2::TargetGroup")
    )
    for target in resources(template, "AWS::ElasticLoadBalancingV2::TargetGroup").values():
        delay = {a["Key"]: a["Value"] for a in target["Properties"]["TargetGroupAttributes"]}
        assert delay["deregistration_delay.timeout_seconds"] == "900"  # a call relayed there goes on
    policies = {
        p["Properties"]["TargetTrackingConfiguration"]["PredefinedMetricSpecification"][
            "PredefinedMetricType"
        ]: p["Properties"]
        for p in resources(template, "AWS::AutoScaling::ScalingPolicy").values()
    }
    assert set(policies) == {"ASGAverageNetworkOut", "ASGAverageCPUUtilization"}
    for policy in policies.values():
        assert policy["AutoScalingGroupName"] == {"Ref": group_name}
    # 60% of t4g.small's 128 Mbit/s baseline, in bytes per minute (NetworkOut's samples).
    network = policies["ASGAverageNetworkOut"]["TargetTrackingConfiguration"]["TargetValue"]
    assert network == 128_000_000 / 8 * 60 * 0.6
    assert policies["ASGAverageCPUUtilization"]["TargetTrackingConfiguration"]["TargetValue"] == 70


def test_turn_alarms_go_to_the_alarm_topic(synthesized: dict[str, Any]) -> None:
    template = synthesized["json"]
    topic = template["Outputs"]["AlarmTopicArn"]["Value"]
    group_name, _ = only(template, "AWS::AutoScaling::AutoScalingGroup")
    target_groups = resources(template, "AWS::ElasticLoadBalancingV2::TargetGroup")
    alarms = {
        a["Properties"]["AlarmDescription"]: a["Properties"]
        for a in resources(template, "AWS::CloudWatch::Alarm").values()
        if "TURN" in a["Properties"]["AlarmDescription"]
    }
    assert len(alarms) == 5
    for alarm in alarms.values():
        assert alarm["AlarmActions"] == [topic]
    by_metric: dict[str, list[dict[str, Any]]] = {}
    for alarm in alarms.values():
        by_metric.setdefault(alarm["MetricName"], []).append(alarm)
    (cpu,) = by_metric["CPUUtilization"]
    assert (cpu["Namespace"], cpu["Threshold"]) == ("AWS/EC2", 85)
    assert cpu["Dimensions"] == [{"Name": "AutoScalingGroupName", "Value": {"Ref": group_name}}]
    (network,) = by_metric["NetworkOut"]
    assert network["Threshold"] == 128_000_000 / 8 * 60 * 0.8 and network["Statistic"] == "Average"
    # An unhealthy host behind either target group, and none healthy at all (missing data: breaching).
    unhealthy = by_metric["UnHealthyHostCount"]
    watched = {
        json.dumps(d["Value"]) for a in unhealthy for d in a["Dimensions"] if d["Name"] == "TargetGroup"
    }
    assert watched == {json.dumps({"Fn::GetAtt": [name, "TargetGroupFullName"]}) for name in target_groups}
    (none_healthy,) = by_metric["HealthyHostCount"]
    assert none_healthy["ComparisonOperator"] == "LessThanThreshold" and none_healthy["Threshold"] == 1
    assert none_healthy["TreatMissingData"] == "breaching"
    # A launch that failed is a message of its own, like a stopped worker task.
    (rule,) = [
        r
        for r in resources(template, "AWS::Events::Rule").values()
        if "EC2 Instance Launch Unsuccessful" in json.dumps(r["Properties"]["EventPattern"])
    ]
    assert rule["Properties"]["EventPattern"]["detail"] == {"AutoScalingGroupName": [{"Ref": group_name}]}
    assert [t["Arn"] for t in rule["Properties"]["Targets"]] == [topic]


# -- what the functions give browsers --------------------------------------------------------------------


def test_the_functions_turn_urls_name_this_service(synthesized: dict[str, Any]) -> None:
    from eclinic_infra.stack import FUNCTIONS

    from chalicelib.config import Settings

    template = synthesized["json"]
    balancer, _ = only(template, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    host = "${" + balancer + ".DNSName}"
    own = [f"turn:{host}:3478?transport=udp", f"turn:{host}:3478?transport=tcp"]
    cases = [
        ({}, [*own, f"turn:{host}:443?transport=tcp"]),
        ({"TurnDomain": DOMAIN}, [*own, f"turns:{DOMAIN}:443?transport=tcp"]),
        # TurnUrls, when given, names TURN servers of the operator's own instead.
        (
            {"TurnUrls": "turn:elsewhere.example:3478?transport=udp"},
            ["turn:elsewhere.example:3478?transport=udp"],
        ),
    ]
    for name in FUNCTIONS:
        variables = template["Resources"][name]["Properties"]["Environment"]["Variables"]
        assert "ECLINIC_TURN_SECRET_ARN" in variables, name
        for parameters, expected in cases:
            urls = deployed(template, variables["ECLINIC_TURN_URLS"], parameters)
            # ... read by the functions' own settings as the TURN entry's URLs.
            assert Settings.from_env({"ECLINIC_TURN_URLS": urls}).turn_urls == tuple(expected), (
                name,
                parameters,
            )
    assert deployed(template, template["Outputs"]["TurnUrlsInUse"]["Value"]) == ",".join(cases[0][1])
    assert template["Outputs"]["TurnHost"]["Value"] == {"Fn::GetAtt": [balancer, "DNSName"]}


def test_turn_sizing_follows_the_instance_type(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(INFRA))
    from eclinic_infra.turn import TurnSizing

    assert TurnSizing().architecture == "arm64"
    bigger = TurnSizing("c7i.large", 781, max_instances=8)
    assert bigger.architecture == "amd64"
    assert bigger.target_bytes_per_minute == round(781_000_000 / 8 * 60 * 0.6)
    # Another type without its baseline would scale on t4g.small's figure: refused.
    with pytest.raises(ValueError, match="turn_baseline_mbps"):
        TurnSizing("c7g.medium")
    with pytest.raises(ValueError, match="turn_max_instances"):
        TurnSizing(max_instances=0)


# -- the start script's program against coturn and Secrets Manager -----------------------------------------

MAGIC_COOKIE = 0x2112A442
ALLOCATE, ALLOCATE_OK, ALLOCATE_ERROR = 0x0003, 0x0103, 0x0113
USERNAME, MESSAGE_INTEGRITY, ERROR_CODE, REALM, NONCE, XOR_RELAYED, TRANSPORT = (
    0x0006, 0x0008, 0x0009, 0x0014, 0x0015, 0x0016, 0x0019,
)  # fmt: skip


def stun_attribute(kind: int, value: bytes) -> bytes:
    return struct.pack("!HH", kind, len(value)) + value + b"\0" * (-len(value) % 4)


def stun_message(kind: int, attributes: list[bytes], key: bytes | None = None) -> bytes:
    transaction, body = os.urandom(12), b"".join(attributes)
    if key is not None:  # MESSAGE-INTEGRITY covers the header with its own length counted in
        header = struct.pack("!HHI", kind, len(body) + 24, MAGIC_COOKIE) + transaction
        body += stun_attribute(MESSAGE_INTEGRITY, hmac.new(key, header + body, hashlib.sha1).digest())
    return struct.pack("!HHI", kind, len(body), MAGIC_COOKIE) + transaction + body


def stun_parse(data: bytes) -> tuple[int, dict[int, bytes]]:
    kind, length, _ = struct.unpack("!HHI", data[:8])
    found, at = {}, 20
    while at < 20 + length:
        attribute, size = struct.unpack("!HH", data[at : at + 4])
        found[attribute] = data[at + 4 : at + 4 + size]
        at += 4 + size + (-size % 4)
    return kind, found


def allocate(port: int, username: str, password: str) -> str:
    """What coturn answers a TURN Allocate (RFC 8656) with these long-term credentials, as a
    browser sends it: "allocated" or the error code."""
    transport = stun_attribute(TRANSPORT, bytes([17, 0, 0, 0]))  # UDP
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        client.settimeout(5)
        client.sendto(stun_message(ALLOCATE, [transport]), ("127.0.0.1", port))
        kind, challenge = stun_parse(client.recv(2048))
        assert kind == ALLOCATE_ERROR and challenge[ERROR_CODE][2:4] == bytes(
            [4, 1]
        )  # 401: credentials, please
        realm, nonce = challenge[REALM], challenge[NONCE]
        key = hashlib.md5(b"%s:%s:%s" % (username.encode(), realm, password.encode())).digest()  # noqa: S324
        request = [transport, stun_attribute(USERNAME, username.encode()), stun_attribute(REALM, realm)]
        client.sendto(
            stun_message(ALLOCATE, [*request, stun_attribute(NONCE, nonce)], key), ("127.0.0.1", port)
        )
        kind, answer = stun_parse(client.recv(2048))
    if kind == ALLOCATE_OK:
        assert XOR_RELAYED in answer
        return "allocated"
    code = answer[ERROR_CODE]
    return str(code[2] * 100 + code[3])


def credential_from(secret: str) -> tuple[str, str]:
    """A TURN REST credential as chalicelib/auth/turn_credentials.py makes one."""
    from chalicelib.auth.turn_credentials import password

    username = f"{int(time.time()) + 600}:{secrets.token_hex(8)}"
    return username, password(secret.encode(), username)


def free_port() -> int:
    """A port free for both UDP and TCP: coturn listens on both."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, socket.socket() as tcp:
            udp.bind(("127.0.0.1", 0))
            port = int(udp.getsockname()[1])
            try:
                tcp.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


class Rotation:
    """The TurnCredential secret in moto, rotated the way README's "TURN on AWS" says."""

    def __init__(self, aws: AwsStack, first: str) -> None:
        self.client = aws.client("secretsmanager")
        name = f"turn-rotation-{secrets.token_hex(4)}"
        self.arn = str(self.client.create_secret(Name=name, SecretString=first)["ARN"])

    def stage(self, value: str) -> str:
        answer = self.client.put_secret_value(
            SecretId=self.arn, SecretString=value, VersionStages=["AWSPENDING"]
        )
        return str(answer["VersionId"])

    def promote(self, version: str) -> None:
        stages = self.client.describe_secret(SecretId=self.arn)["VersionIdsToStages"]
        (current,) = [v for v, s in stages.items() if "AWSCURRENT" in s]
        self.client.update_secret_version_stage(
            SecretId=self.arn, VersionStage="AWSCURRENT", MoveToVersionId=version, RemoveFromVersionId=current
        )
        self.client.update_secret_version_stage(
            SecretId=self.arn, VersionStage="AWSPENDING", RemoveFromVersionId=version
        )


@pytest.fixture
def coturn_files(tmp_path: Path) -> Iterator[dict[str, Any]]:
    yield {
        "db": tmp_path / "turndb",
        "conf": tmp_path / "turnserver.conf",
        "log": tmp_path / "turnserver.log",
    }


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def running_coturn(files: dict[str, Path], port: int) -> Iterator[subprocess.Popen[bytes]]:
    """Debian's coturn with the configuration `configure` wrote, once it listens on `port`."""
    executable = shutil.which("turnserver")
    if executable is None:
        pytest.fail("Debian's coturn is not installed: `make test` installs it (apt-get install coturn)")
    process = subprocess.Popen(
        [executable, "-c", str(files["conf"]), f"--pidfile={files['db'].with_suffix('.pid')}"],
        stdout=files["log"].open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 15
        while not listening(port):
            assert process.poll() is None and time.monotonic() < deadline, files["log"].read_text()
            time.sleep(0.1)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=10)


def run_script(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """infra/turn/eclinic_turn.py as the instance's systemd units run it."""
    return subprocess.run(
        [sys.executable, str(TURN_FILES / "eclinic_turn.py"), *command],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_coturn_accepts_current_and_previous_secret_through_a_rotation_without_a_restart(
    aws: AwsStack, coturn_files: dict[str, Path]
) -> None:
    first, second, third = (secrets.token_urlsafe(36) for _ in range(3))
    rotation = Rotation(aws, first)
    port = free_port()
    env = {
        "ECLINIC_TURN_SECRET_ARN": rotation.arn,
        "ECLINIC_TURN_REALM": "eclinic",
        "ECLINIC_TURN_DB": str(coturn_files["db"]),
        "ECLINIC_TURN_RELAY_PORTS": "61000-61099",
        "ECLINIC_TURN_PEER_CIDRS": "10.0.0.0/17,10.0.128.0/17",
    }

    def sync() -> str:
        done = run_script(["sync"], env)
        assert done.returncode == 0, done.stderr
        assert first not in done.stdout + done.stderr and second not in done.stdout + done.stderr
        return done.stdout.strip()

    # The instance's boot: the configuration and the first read, then coturn.
    configured = run_script(
        ["configure", "--address", "127.0.0.1", "--port", str(port), "--output", str(coturn_files["conf"])],
        env,
    )
    assert configured.returncode == 0, configured.stderr
    conf = coturn_files["conf"].read_text()
    assert "allowed-peer-ip=10.0.0.4-10.0.127.254\nallowed-peer-ip=10.0.128.4-10.0.255.254" in conf
    assert "static-auth-secret" not in conf and "use-auth-secret" in conf
    assert sync() == "turn secrets: 1 accepted (changed)"
    with running_coturn(coturn_files, port) as process:
        log = coturn_files["log"].read_text(errors="replace")
        assert "Relay address to use: 127.0.0.1" in log
        assert (
            "White listing: 10.0.0.4-10.0.127.254" in log and "Black listing: 0.0.0.0-255.255.255.255" in log
        )

        assert allocate(port, *credential_from(first)) == "allocated"
        assert allocate(port, *credential_from(second)) == "401"
        assert sync() == "turn secrets: 1 accepted"  # nothing changed, nothing written

        # Rotation, step 1: the new value as AWSPENDING. coturn accepts it before any function uses it.
        pending = rotation.stage(second)
        assert sync() == "turn secrets: 2 accepted (changed)"
        assert allocate(port, *credential_from(first)) == "allocated"
        assert allocate(port, *credential_from(second)) == "allocated"
        # Step 2: it becomes AWSCURRENT; the old one, AWSPREVIOUS, still works (its credentials live on).
        rotation.promote(pending)
        sync()
        assert allocate(port, *credential_from(second)) == "allocated"
        assert allocate(port, *credential_from(first)) == "allocated"
        # The next rotation retires the first secret.
        rotation.promote(rotation.stage(third))
        assert sync() == "turn secrets: 2 accepted (changed)"
        assert allocate(port, *credential_from(third)) == "allocated"
        assert allocate(port, *credential_from(second)) == "allocated"
        assert allocate(port, *credential_from(first)) == "401"

        # Secrets Manager refusing (here: no such secret) changes nothing: coturn keeps accepting.
        failed = run_script(["sync"], {**env, "ECLINIC_TURN_SECRET_ARN": rotation.arn + "-gone"})
        assert failed.returncode != 0 and "ResourceNotFoundException" in failed.stderr
        assert allocate(port, *credential_from(third)) == "allocated"
        # All along one coturn process: nothing was restarted.
        assert process.poll() is None
    assert third not in coturn_files["log"].read_text(errors="replace")


def test_expired_credentials_are_refused(aws: AwsStack, coturn_files: dict[str, Path]) -> None:
    """coturn checks the expiry in the user name, as chalicelib's credentials expect."""
    from chalicelib.auth.turn_credentials import password

    secret = secrets.token_urlsafe(36)
    rotation, port = Rotation(aws, secret), free_port()
    env = {
        "ECLINIC_TURN_SECRET_ARN": rotation.arn,
        "ECLINIC_TURN_DB": str(coturn_files["db"]),
        "ECLINIC_TURN_RELAY_PORTS": "61100-61199",
    }
    run_script(
        ["configure", "--address", "127.0.0.1", "--port", str(port), "--output", str(coturn_files["conf"])],
        env,
    )
    assert run_script(["sync"], env).returncode == 0
    with running_coturn(coturn_files, port):
        expired = f"{int(time.time()) - 60}:{secrets.token_hex(8)}"
        assert allocate(port, expired, password(secret.encode(), expired)) == "401"
        username, credential = credential_from(secret)
        assert allocate(port, username, credential) == "allocated"
        assert allocate(port, username, base64.b64encode(b"not it").decode()) == "401"
