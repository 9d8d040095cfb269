"""What stands in front of the APIs: a WAF web ACL on the REST API's stage (a per-IP rate limit on
the sign-in routes against password guessing, and AWS's managed rule groups for common attacks
and known bad inputs), and throttling on both stages, so that a flood reaches the functions and
the tables at no more than the stage's rate.

WAF cannot be attached to a WebSocket API: that one has stage throttling only."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

# The Chalice routes for sign-in, challenge, forgotten and reset passwords all live under it.
AUTH_PATH = "/api/auth/"
AUTH_WINDOW_SECONDS = 300
# Documents reach the API as JSON bodies of up to 7 MiB (app.py caps every body itself): the
# common rule set's 8 KB body-size rule would block every one of them, so it only counts.
COUNTED_COMMON_RULES = ("SizeRestrictions_BODY",)


def _visibility(metric_name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=metric_name, sampled_requests_enabled=True
    )


def _starts_with(prefix: str) -> wafv2.CfnWebACL.StatementProperty:
    """The request's path, URL-decoded and normalized (`//`, `/./`, `/../` resolved), starts with
    `prefix`: spelling the path differently does not step around the rule."""
    return wafv2.CfnWebACL.StatementProperty(
        byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
            field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(uri_path={}),
            positional_constraint="STARTS_WITH",
            search_string=prefix,
            text_transformations=[
                wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="URL_DECODE"),
                wafv2.CfnWebACL.TextTransformationProperty(priority=1, type="NORMALIZE_PATH"),
            ],
        )
    )


def _managed(name: str, priority: int, **statement: Any) -> wafv2.CfnWebACL.RuleProperty:
    return wafv2.CfnWebACL.RuleProperty(
        name=name,
        priority=priority,
        override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
        statement=wafv2.CfnWebACL.StatementProperty(
            managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                vendor_name="AWS", name=name, **statement
            )
        ),
        visibility_config=_visibility(name),
    )


class ApiProtection(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        rest_api: cdk.CfnResource,
        rest_api_logical_id: str,
        rest_stage: str,
        ws_stage: cdk.CfnResource,
        auth_requests_per_window: cdk.CfnParameter,
        rest_rate: float,
        rest_burst: int,
        ws_rate: float,
        ws_burst: int,
    ) -> None:
        super().__init__(scope, construct_id)
        # WAF sees the path the client sent: with the stage in front on the execute-api URL
        # (/api/api/auth/login), without it behind a custom domain mapped to the stage.
        auth_paths = [f"/{rest_stage}{AUTH_PATH}", AUTH_PATH]
        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            name=name,
            scope="REGIONAL",
            description="eClinic REST API: sign-in rate limit per IP, AWS managed rule groups",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility(name),
            rules=[
                wafv2.CfnWebACL.RuleProperty(
                    name="AuthRateLimit",
                    priority=0,
                    action=wafv2.CfnWebACL.RuleActionProperty(
                        block=wafv2.CfnWebACL.BlockActionProperty(
                            custom_response=wafv2.CfnWebACL.CustomResponseProperty(response_code=429)
                        )
                    ),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                            aggregate_key_type="IP",
                            limit=auth_requests_per_window.value_as_number,
                            evaluation_window_sec=AUTH_WINDOW_SECONDS,
                            scope_down_statement=wafv2.CfnWebACL.StatementProperty(
                                or_statement=wafv2.CfnWebACL.OrStatementProperty(
                                    statements=[_starts_with(path) for path in auth_paths]
                                )
                            ),
                        )
                    ),
                    visibility_config=_visibility("AuthRateLimit"),
                ),
                _managed(
                    "AWSManagedRulesCommonRuleSet",
                    1,
                    rule_action_overrides=[
                        wafv2.CfnWebACL.RuleActionOverrideProperty(
                            name=rule,
                            action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={}),
                        )
                        for rule in COUNTED_COMMON_RULES
                    ],
                ),
                _managed("AWSManagedRulesKnownBadInputsRuleSet", 2),
            ],
        )
        # `RestAPI.Stage` is the SAM transform's name for the stage it makes of the API: the
        # association then waits for the stage, and names exactly it.
        self.association = wafv2.CfnWebACLAssociation(
            self,
            "RestStage",
            web_acl_arn=self.web_acl.attr_arn,
            resource_arn=cdk.Fn.sub(
                "arn:${AWS::Partition}:apigateway:${AWS::Region}::/restapis/"
                f"${{{rest_api_logical_id}}}/stages/${{{rest_api_logical_id}.Stage}}"
            ),
        )
        # Stage-wide throttling: every method of the REST API, every route of the WebSocket API.
        rest_api.add_property_override(
            "MethodSettings",
            [
                {
                    "ResourcePath": "/*",
                    "HttpMethod": "*",
                    "ThrottlingRateLimit": rest_rate,
                    "ThrottlingBurstLimit": rest_burst,
                }
            ],
        )
        ws_stage.add_property_override(
            "DefaultRouteSettings", {"ThrottlingRateLimit": ws_rate, "ThrottlingBurstLimit": ws_burst}
        )
