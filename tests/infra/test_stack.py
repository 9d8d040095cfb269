"""The CDK stack, synthesized in process (no AWS credentials, no network to AWS) and checked
property by property; then cfn-lint over the template."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from chalicelib import settings_names as app_settings
from media_worker import settings_names as worker_settings
from tests.infra.conftest import PREFIX, deployed, resources, visits_policy, worker_container


def table_named(template: dict[str, Any], name: str) -> dict[str, Any]:
    (table,) = [
        t
        for t in resources(template, "AWS::DynamoDB::Table").values()
        if t["Properties"]["TableName"] == name
    ]
    return table


def test_tables_match_the_models(synthesized: dict[str, Any]) -> None:
    from eclinic_infra.stack import TABLES
    from eclinic_infra.tables import model_schema

    template = synthesized["json"]
    assert len(resources(template, "AWS::DynamoDB::Table")) == len(TABLES)
    for suffix, model in TABLES.items():
        spec = model_schema(model)
        table = table_named(template, PREFIX + suffix)
        properties = table["Properties"]
        keys = {k["KeyType"]: k["AttributeName"] for k in properties["KeySchema"]}
        assert keys == {kind: key[0] for kind, key in spec["keys"].items()}, suffix
        indexes = {
            i["IndexName"]: (
                {k["KeyType"]: k["AttributeName"] for k in i["KeySchema"]},
                i["Projection"]["ProjectionType"],
            )
            for i in properties.get("GlobalSecondaryIndexes", [])
        }
        expected = {
            name: ({kind: key[0] for kind, key in index["keys"].items()}, index["projection"])
            for name, index in spec["indexes"].items()
        }
        assert indexes == expected, suffix
        ttl = properties.get("TimeToLiveSpecification")
        assert (ttl["AttributeName"] if ttl else None) == spec["ttl"], suffix
        assert properties["BillingMode"] == "PAY_PER_REQUEST"
        assert properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
        assert properties["DeletionProtectionEnabled"] is True
        assert table["DeletionPolicy"] == "Retain"


def test_the_connections_table_expires_items(synthesized: dict[str, Any]) -> None:
    ttl = table_named(synthesized["json"], PREFIX + "connections")["Properties"]["TimeToLiveSpecification"]
    assert ttl == {"AttributeName": "expires_at", "Enabled": True}


def test_the_files_bucket_is_locked_down(synthesized: dict[str, Any]) -> None:
    template = synthesized["json"]
    (bucket,) = resources(template, "AWS::S3::Bucket").values()
    properties = bucket["Properties"]
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    (rule,) = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert properties["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 400
    # CORS (GET from the API's origin only) comes from a custom resource: test_security.
    assert "CorsConfiguration" not in properties
    (policy,) = resources(template, "AWS::S3::BucketPolicy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in statements
    )
    assert bucket["DeletionPolicy"] == "Retain"


def test_no_wildcard_action_on_a_wildcard_resource(synthesized: dict[str, Any]) -> None:
    template = synthesized["json"]
    documents = [p["Properties"]["PolicyDocument"] for p in resources(template, "AWS::IAM::Policy").values()]
    for role in resources(template, "AWS::IAM::Role").values():
        documents += [p["PolicyDocument"] for p in role["Properties"].get("Policies", [])]
    assert documents
    for document in documents:
        for statement in document["Statement"]:
            if statement["Effect"] != "Allow":
                continue
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            found = statement.get("Resource", [])
            resources_ = found if isinstance(found, list) else [found]
            assert "*" not in actions, statement
            if "*" in resources_:
                assert not any("*" in action for action in actions), statement


def test_the_functions_get_exactly_their_grants(synthesized: dict[str, Any]) -> None:
    template = synthesized["json"]
    functions = resources(template, "AWS::Serverless::Function")
    assert set(functions) >= {"APIHandler", "WebsocketConnect", "WebsocketMessage", "WebsocketDisconnect"}
    granted = set()
    for policy in resources(template, "AWS::IAM::Policy").values():
        if "FunctionRole" in json.dumps(policy["Properties"]["Roles"]):
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                if statement["Effect"] != "Allow":
                    continue
                actions = (
                    statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                )
                granted.update(actions)
    needed = {
        "ses:SendRawEmail", "events:PutEvents", "execute-api:ManageConnections", "dynamodb:Query",
        "secretsmanager:GetSecretValue", "ssm:GetParameter", "cognito-idp:ListGroups", "s3:PutObject",
        "cognito-idp:AdminInitiateAuth", "cognito-idp:AdminRespondToAuthChallenge",
    }  # fmt: skip
    assert needed <= granted
    assert not [a for a in granted if a.endswith(":*")]
    environment = functions["APIHandler"]["Properties"]["Environment"]["Variables"]
    names = (
        app_settings.TABLE_PREFIX, app_settings.USER_POOL_ID, app_settings.EVENT_BUS,
        app_settings.FILES_BUCKET, app_settings.LINK_SECRET_ARN, app_settings.WORKER_SECRET_ARN,
        app_settings.ENDPOINTS_PARAMETER, app_settings.ICE_SERVERS,
    )  # fmt: skip
    for name in names:
        assert name in environment, name
    assert environment[app_settings.TABLE_PREFIX] == PREFIX


def test_clinicians_pool(synthesized: dict[str, Any]) -> None:
    template = synthesized["json"]
    (pool,) = resources(template, "AWS::Cognito::UserPool").values()
    properties = pool["Properties"]
    assert properties["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert properties["Policies"]["PasswordPolicy"]["MinimumLength"] >= 12
    # Optional TOTP unless the RequireMfa parameter says otherwise (test_security).
    assert deployed(template, properties["MfaConfiguration"], {}) == "OPTIONAL"
    (client,) = resources(template, "AWS::Cognito::UserPoolClient").values()
    flows = client["Properties"]["ExplicitAuthFlows"]
    assert "ALLOW_ADMIN_USER_PASSWORD_AUTH" in flows and "ALLOW_USER_PASSWORD_AUTH" not in flows
    assert "ALLOW_USER_SRP_AUTH" not in flows
    groups = {
        g["Properties"]["GroupName"]: g["Properties"]["Description"]
        for g in resources(template, "AWS::Cognito::UserPoolGroup").values()
    }
    assert groups == {"cardiology": "Cardiology", "dermatology": "Dermatology"}


def test_mail_feedback_goes_to_a_topic(synthesized: dict[str, Any]) -> None:
    template = synthesized["json"]
    assert resources(template, "AWS::SES::ConfigurationSet")
    (destination,) = resources(template, "AWS::SES::ConfigurationSetEventDestination").values()
    spec = destination["Properties"]["EventDestination"]
    assert {"bounce", "complaint"} <= set(spec["MatchingEventTypes"]) and "SnsDestination" in spec


def test_media_workers_on_fargate(synthesized: dict[str, Any]) -> None:
    template = synthesized["json"]
    (service,) = resources(template, "AWS::ECS::Service").values()
    assert service["Properties"]["LaunchType"] == "FARGATE"
    assert service["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"] == "ENABLED"
    ingress = [
        rule
        for group in resources(template, "AWS::EC2::SecurityGroup").values()
        for rule in group["Properties"].get("SecurityGroupIngress", [])
    ]
    assert {"IpProtocol": "udp", "FromPort": 40000, "ToPort": 40999} in [
        {k: r[k] for k in ("IpProtocol", "FromPort", "ToPort")} for r in ingress
    ]
    container = worker_container(template)
    assert container["SystemControls"] == [
        {"Namespace": "net.ipv4.ip_local_port_range", "Value": "40000 40999"}
    ]
    assert [s["Name"] for s in container["Secrets"]] == [worker_settings.SECRET]
    # Every worker process of the task alive and connected: the worker's own check.
    assert container["HealthCheck"]["Command"] == ["CMD", "python", "-m", "media_worker.health"]
    worker_logs = container["LogConfiguration"]["Options"]["awslogs-group"]["Ref"]
    assert resources(template, "AWS::Logs::LogGroup")[worker_logs]["Properties"]["RetentionInDays"] == 30
    (target,) = resources(template, "AWS::ApplicationAutoScaling::ScalableTarget").values()
    assert target["Properties"]["MinCapacity"] == 1
    policies = resources(template, "AWS::ApplicationAutoScaling::ScalingPolicy").values()
    specs = [p["Properties"]["TargetTrackingScalingPolicyConfiguration"] for p in policies]
    assert any(
        s.get("PredefinedMetricSpecification", {}).get("PredefinedMetricType")
        == "ECSServiceAverageCPUUtilization"
        for s in specs
    )
    assert any(s.get("CustomizedMetricSpecification", {}).get("MetricName") == "ActiveVisits" for s in specs)


def test_default_worker_size_is_one_vcpu_one_process(synthesized: dict[str, Any]) -> None:
    """No worker_vcpus context: a 1 vCPU, 2 GiB task running one worker process that holds the
    visits media_worker.sizing names; the scaling target leaves that process one free slot."""
    from media_worker.sizing import VISITS_PER_PROCESS

    template = synthesized["json"]
    (task,) = resources(template, "AWS::ECS::TaskDefinition").values()
    assert (task["Properties"]["Cpu"], task["Properties"]["Memory"]) == ("1024", "2048")
    environment = {e["Name"]: e["Value"] for e in worker_container(template)["Environment"]}
    assert environment[worker_settings.PROCESSES] == "1"
    assert environment[worker_settings.CAPACITY] == str(VISITS_PER_PROCESS)
    policy = visits_policy(template)
    assert policy["TargetValue"] == VISITS_PER_PROCESS - 1
    assert policy["CustomizedMetricSpecification"]["Statistic"] == "Average"


def test_alarms_dashboard_and_outputs(synthesized: dict[str, Any]) -> None:
    template = synthesized["json"]
    alarms = resources(template, "AWS::CloudWatch::Alarm").values()
    described = " ".join(a["Properties"]["AlarmDescription"] for a in alarms)
    for words in (
        "errors",
        "throttles",
        "server errors",
        "throttled",
        "bounce rate",
        "CPU",
        "no media worker",
    ):
        assert words in described, words
    assert all(a["Properties"]["AlarmActions"] for a in alarms)
    assert resources(template, "AWS::CloudWatch::Dashboard")
    rules = resources(template, "AWS::Events::Rule").values()
    assert any("ECS Task State Change" in json.dumps(r["Properties"].get("EventPattern", {})) for r in rules)
    assert {"ClinicianPageUrl", "WebSocketUrl"} <= set(template["Outputs"])


def test_cfn_lint_finds_no_errors(synthesized: dict[str, Any]) -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "--format", "parseable", str(synthesized["path"])],
        capture_output=True,
        text=True,
        timeout=300,
    )
    errors = [line for line in result.stdout.splitlines() if ":E" in line]
    assert not errors, result.stdout


def test_key_properties_with_cdk_assertions(synthesized: dict[str, Any]) -> None:
    """The same promises, stated with aws_cdk.assertions against the stack object."""
    from aws_cdk.assertions import Match, Template

    template = Template.from_stack(synthesized["stack"])
    template.resource_count_is("AWS::DynamoDB::Table", 9)
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "TableName": PREFIX + "logins",
            "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
        },
    )
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "TableName": PREFIX + "appointments",
            "GlobalSecondaryIndexes": Match.array_with(
                [
                    Match.object_like(
                        {"IndexName": "group-starts_at-index", "Projection": {"ProjectionType": "ALL"}}
                    )
                ]
            ),
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        },
    )
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "BucketEncryption": Match.object_like({}),
        },
    )
    template.has_resource_properties(
        "AWS::ECS::Service",
        {"NetworkConfiguration": {"AwsvpcConfiguration": Match.object_like({"AssignPublicIp": "ENABLED"})}},
    )
    template.has_resource_properties(
        "AWS::Cognito::UserPool", {"AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True}}
    )
    template.has_resource_properties("AWS::ApplicationAutoScaling::ScalableTarget", {"MinCapacity": 1})
    template.resource_count_is("AWS::CloudWatch::Dashboard", 1)
    template.has_output("ClinicianPageUrl", {})
    template.has_output("WebSocketUrl", {})
