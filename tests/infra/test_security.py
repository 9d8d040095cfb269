"""The stack's share of the security fixes, against the synthesized template: WAF on the REST
stage (a per-IP limit on the sign-in routes and the managed rule groups), throttling on both
stages, the RequireMfa switch, the app client that cannot write who a clinician is, emails that
stay unverified until confirmed, log retention for every function, the append-only audit table,
and the files bucket's CORS naming the stack's own API and nothing broader."""

from __future__ import annotations

import json
from typing import Any

from tests.infra.conftest import PREFIX, deployed, rendered, resources

# What the functions must never do to an audit item.
AUDIT_MUTATIONS = {
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:PartiQLUpdate",
    "dynamodb:PartiQLDelete",
}
FUNCTION_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")


def only(template: dict[str, Any], kind: str) -> tuple[str, dict[str, Any]]:
    ((name, resource),) = resources(template, kind).items()
    return name, resource


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def web_acl_rules(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    _, acl = only(template, "AWS::WAFv2::WebACL")
    return {rule["Name"]: rule for rule in acl["Properties"]["Rules"]}


def auth_scope_down(template: dict[str, Any]) -> list[dict[str, Any]]:
    statement = web_acl_rules(template)["AuthRateLimit"]["Statement"]["RateBasedStatement"]
    scope = statement["ScopeDownStatement"]
    return [s["ByteMatchStatement"] for s in scope["OrStatement"]["Statements"]]


def test_the_web_acl_limits_sign_in_per_ip_and_runs_the_managed_rule_groups(
    synthesized: dict[str, Any],
) -> None:
    template = synthesized["json"]
    _, acl = only(template, "AWS::WAFv2::WebACL")
    assert acl["Properties"]["Scope"] == "REGIONAL"
    assert acl["Properties"]["DefaultAction"] == {"Allow": {}}
    rules = web_acl_rules(template)
    rate = rules["AuthRateLimit"]
    assert "Block" in rate["Action"]
    statement = rate["Statement"]["RateBasedStatement"]
    assert statement["AggregateKeyType"] == "IP"
    assert statement["EvaluationWindowSec"] == 300
    # The limit is a parameter, 100 requests per 5 minutes unless the deployment says otherwise.
    assert statement["Limit"] == {"Ref": "AuthRateLimit"}
    parameter = template["Parameters"]["AuthRateLimit"]
    assert (parameter["Type"], parameter["Default"]) == ("Number", 100)
    assert parameter["MinValue"] >= 10
    managed = {
        name: rule["Statement"]["ManagedRuleGroupStatement"]
        for name, rule in rules.items()
        if "ManagedRuleGroupStatement" in rule["Statement"]
    }
    assert set(managed) == {"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"}
    for name, group in managed.items():
        assert (group["VendorName"], group["Name"]) == ("AWS", name)
        assert rules[name]["OverrideAction"] == {"None": {}}, "the group's own actions block"
    # Only the body-size rule is counted instead of blocking (documents are JSON bodies of MiBs).
    overrides = managed["AWSManagedRulesCommonRuleSet"].get("RuleActionOverrides", [])
    assert {o["Name"]: o["ActionToUse"] for o in overrides} == {"SizeRestrictions_BODY": {"Count": {}}}
    assert "RuleActionOverrides" not in managed["AWSManagedRulesKnownBadInputsRuleSet"]
    priorities = [rule["Priority"] for rule in rules.values()]
    assert len(set(priorities)) == len(priorities)
    assert rate["Priority"] == min(priorities)


def test_the_rate_limit_covers_exactly_the_auth_routes(synthesized: dict[str, Any]) -> None:
    """The scope-down names paths starting with /api/auth/ on the REST stage (the stage in front,
    as WAF sees an execute-api URL), spelled any way (URL-decoded, normalized); of the API's
    routes it takes in the auth routes and nothing else."""
    template = synthesized["json"]
    matches = auth_scope_down(template)
    for match in matches:
        assert match["FieldToMatch"] == {"UriPath": {}}
        assert match["PositionalConstraint"] == "STARTS_WITH"
        assert {t["Type"] for t in match["TextTransformations"]} >= {"URL_DECODE", "NORMALIZE_PATH"}
    api = template["Resources"]["RestAPI"]["Properties"]
    stage = api["StageName"]
    prefixes = {m["SearchString"] for m in matches}
    assert f"/{stage}/api/auth/" in prefixes
    routes = set(api["DefinitionBody"]["paths"])
    assert "/api/auth/login" in routes
    for route in routes:
        limited = any(f"/{stage}{route}".startswith(p) or route.startswith(p) for p in prefixes)
        assert limited == route.startswith("/api/auth/"), route


def test_the_web_acl_protects_the_rest_stage(synthesized: dict[str, Any]) -> None:
    template = synthesized["json"]
    acl_name, _ = only(template, "AWS::WAFv2::WebACL")
    _, association = only(template, "AWS::WAFv2::WebACLAssociation")
    properties = association["Properties"]
    assert properties["WebACLArn"] == {"Fn::GetAtt": [acl_name, "Arn"]}
    # The SAM transform makes the REST API's stage and resolves `RestAPI.Stage` to it: the
    # association names that stage and waits for it.
    assert rendered(properties["ResourceArn"]) == (
        "arn:${AWS::Partition}:apigateway:${AWS::Region}::/restapis/${RestAPI}/stages/${RestAPI.Stage}"
    )
    assert template["Resources"]["RestAPI"]["Type"] == "AWS::Serverless::Api"
    assert template["Resources"]["RestAPI"]["Properties"]["StageName"] == "api"


def test_both_stages_are_throttled(synthesized: dict[str, Any]) -> None:
    template = synthesized["json"]
    (settings,) = template["Resources"]["RestAPI"]["Properties"]["MethodSettings"]
    assert (settings["ResourcePath"], settings["HttpMethod"]) == ("/*", "*")
    assert (settings["ThrottlingRateLimit"], settings["ThrottlingBurstLimit"]) == (100, 200)
    _, stage = only(template, "AWS::ApiGatewayV2::Stage")
    route_defaults = stage["Properties"]["DefaultRouteSettings"]
    assert (route_defaults["ThrottlingRateLimit"], route_defaults["ThrottlingBurstLimit"]) == (200, 500)


def test_require_mfa_switches_the_pool_to_totp_for_everyone(synthesized: dict[str, Any]) -> None:
    template = synthesized["json"]
    parameter = template["Parameters"]["RequireMfa"]
    assert parameter["Default"] == "false"
    assert set(parameter["AllowedValues"]) == {"true", "false"}
    _, pool = only(template, "AWS::Cognito::UserPool")
    properties = pool["Properties"]
    assert "Fn::If" in properties["MfaConfiguration"]
    assert deployed(template, properties["MfaConfiguration"], {}) == "OPTIONAL"
    assert deployed(template, properties["MfaConfiguration"], {"RequireMfa": "false"}) == "OPTIONAL"
    assert deployed(template, properties["MfaConfiguration"], {"RequireMfa": "true"}) == "ON"
    # TOTP only, whichever way: no SMS factor and no SMS configuration.
    assert properties["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]
    assert "SmsConfiguration" not in properties


def test_the_app_client_cannot_write_email_or_name(synthesized: dict[str, Any]) -> None:
    template = synthesized["json"]
    _, client = only(template, "AWS::Cognito::UserPoolClient")
    written = client["Properties"]["WriteAttributes"]
    # Cognito reads a missing or empty list as "every standard attribute": it names one.
    assert written, "an empty WriteAttributes lets the client write every standard attribute"
    assert written == ["locale"]
    assert not {"email", "name", "email_verified", "preferred_username", "phone_number"} & set(written)
    assert set(client["Properties"]["ReadAttributes"]) == {"email", "name"}


def test_a_changed_email_stays_unverified_until_confirmed(synthesized: dict[str, Any]) -> None:
    template = synthesized["json"]
    _, pool = only(template, "AWS::Cognito::UserPool")
    properties = pool["Properties"]
    assert "email" in properties["UserAttributeUpdateSettings"]["AttributesRequireVerificationBeforeUpdate"]
    assert "email" in properties["AutoVerifiedAttributes"]


def test_every_function_logs_to_a_group_with_retention(synthesized: dict[str, Any]) -> None:
    from eclinic_infra.stack import FUNCTIONS

    template = synthesized["json"]
    groups = resources(template, "AWS::Logs::LogGroup")
    for name, group in groups.items():
        assert group["Properties"]["RetentionInDays"] == 30, name
    functions = {name: f for kind in FUNCTION_TYPES for name, f in resources(template, kind).items()}
    assert set(FUNCTIONS) <= set(functions)
    used = []
    for name, function in functions.items():
        target = function["Properties"]["LoggingConfig"]["LogGroup"]
        assert set(target) == {"Ref"} and target["Ref"] in groups, name
        used.append(target["Ref"])
    assert len(set(used)) == len(used), "one log group per function"


def test_the_audit_table_is_append_only_for_the_functions(synthesized: dict[str, Any]) -> None:
    template = synthesized["json"]
    (audit,) = [
        name
        for name, table in resources(template, "AWS::DynamoDB::Table").items()
        if table["Properties"]["TableName"] == PREFIX + "audit"
    ]
    allowed: set[str] = set()
    denied: set[str] = set()
    for policy in resources(template, "AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = set(as_list(statement["Action"]))
            targets = as_list(statement.get("Resource", []))
            on_audit = [r for r in targets if r == "*" or audit in json.dumps(r)]
            if not on_audit:
                continue
            if statement["Effect"] == "Allow":
                assert not actions & AUDIT_MUTATIONS, statement
                assert not [a for a in actions if a in {"dynamodb:*", "*"}], statement
                if "FunctionRole" in json.dumps(policy["Properties"]["Roles"]):
                    allowed |= actions
            else:
                denied |= actions
    # What chalicelib/store/audit.py and dynamo.py do to it: a conditional Put (alone or in a
    # TransactWriteItems, which IAM checks as PutItem) and a Query for the trail.
    assert {"dynamodb:PutItem", "dynamodb:Query"} <= allowed
    assert denied >= AUDIT_MUTATIONS, "an explicit Deny keeps later grants from changing audit items"


def test_the_files_bucket_answers_cors_for_the_api_origin_only(synthesized: dict[str, Any]) -> None:
    template = synthesized["json"]
    bucket_name, bucket = only(template, "AWS::S3::Bucket")
    # The rule lives in one place: the custom resource (the bucket's own property cannot name
    # the API without a dependency cycle).
    assert "CorsConfiguration" not in bucket["Properties"]
    (cors,) = [
        r
        for r in resources(template, "Custom::AWS").values()
        if "putBucketCors" in json.dumps(r["Properties"]["Create"])
    ]
    api_origin = "https://${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}"
    for event in ("Create", "Update"):
        call = json.loads(rendered(cors["Properties"][event]))
        assert call["parameters"]["Bucket"] == "${" + bucket_name + "}"
        rules = call["parameters"]["CORSConfiguration"]["CORSRules"]
        assert [r["AllowedOrigins"] for r in rules] == [[api_origin]], event
        assert [r["AllowedMethods"] for r in rules] == [["GET"]], event
        assert "*" not in json.dumps([r["AllowedOrigins"] for r in rules])
    # The custom resource may set the bucket's CORS rule and do nothing else.
    (statement,) = [
        s
        for p in resources(template, "AWS::IAM::Policy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if any(str(a).lower().startswith("s3:putbucketcors") for a in as_list(s["Action"]))
    ]
    assert as_list(statement["Action"]) == ["s3:PutBucketCORS"]
    assert as_list(statement["Resource"]) == [{"Fn::GetAtt": [bucket_name, "Arn"]}]


def test_the_functions_may_delete_a_late_screenshot_and_nothing_else(synthesized: dict[str, Any]) -> None:
    """A picture that arrives after the patient's consent expired is deleted by the function
    (chalicelib's S3FileStore.delete on the screenshot's key): screenshots/ only, never documents."""
    template = synthesized["json"]
    deletes = [
        rendered(target)
        for policy in resources(template, "AWS::IAM::Policy").values()
        if "FunctionRole" in json.dumps(policy["Properties"]["Roles"])
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Effect"] == "Allow" and "s3:DeleteObject" in as_list(statement["Action"])
        for target in as_list(statement["Resource"])
    ]
    assert len(deletes) == 1 and deletes[0].endswith("/screenshots/*"), deletes
