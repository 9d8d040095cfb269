"""The TURN service (coturn on an EC2 Auto Scaling group behind a Network Load Balancer) in the
synthesized template: its listeners, who may talk to whom, what its instances may read, their
start script, scaling, alarms, and the TURN URLs the functions give browsers. The start
script's own program against Debian's coturn is test_turn_rotation.py's."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib import settings_names as app_settings
from tests.infra.conftest import INFRA, deployed, resources
from tests.infra.turn_template import (
    egress_rules,
    exists,
    group_id,
    ingress_rules,
    listeners,
    only,
    ports,
    security_groups,
    target_group,
)

TURN_FILES = INFRA / "turn"
WORLD = ("0.0.0.0/0", "::/0")
DOMAIN = "turn.clinic.example"
ZONE = "Z0123456789EXAMPLE"


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
        assert app_settings.TURN_SECRET_ARN in variables, name
        for parameters, expected in cases:
            urls = deployed(template, variables[app_settings.TURN_URLS], parameters)
            # ... read by the functions' own settings as the TURN entry's URLs.
            assert Settings.from_env({app_settings.TURN_URLS: urls}).turn_urls == tuple(expected), (
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
