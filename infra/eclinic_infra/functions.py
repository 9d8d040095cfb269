"""The API and its functions: the Chalice app (`app.py`, packaged by `chalice package`) with its
REST and WebSocket APIs, the role every function runs as, a log group per function, and the
SSM parameter that hands the functions the APIs' own URLs.

Chalice names the resources it packages (`RestAPI`, `WebsocketAPI`, the functions by handler):
those names are fixed here once. The resources are made in the stack's own scope, with the ids
they have always had, so that moving them here renamed nothing in the template. What the role
may do is function_permissions.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ssm as ssm
from chalice.cdk import Chalice
from constructs import Construct

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = (
    "APIHandler",
    "WebsocketConnect",
    "WebsocketMessage",
    "WebsocketDisconnect",
    "SweepStaleConnections",
    "SendReminder",
)
WS_STAGE = "api"
REST_STAGE = "api"
# The logical IDs `chalice package` gives the APIs (the SAM transform makes the REST stage).
REST_API = "RestAPI"
WS_API = "WebsocketAPI"
WS_API_STAGE = "WebsocketAPIStage"
REMINDER_FUNCTION = "SendReminder"
# Every function's log group keeps its events this long, as the media workers' does (worker.py).
LOG_RETENTION = logs.RetentionDays.ONE_MONTH


class Functions:
    """The Chalice app with `environment` set on every function; `endpoints_parameter` names the
    SSM parameter (in `environment` too) that this puts the APIs' URLs in."""

    def __init__(self, scope: Construct, *, environment: Mapping[str, str], endpoints_parameter: str) -> None:
        self.scope = scope
        self.role = iam.Role(
            scope,
            "FunctionRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AWSLambdaBasicExecutionRole")
            ],
        )
        self.chalice = Chalice(
            scope,
            "App",
            source_dir=str(ROOT),
            stage_config={
                "api_gateway_stage": REST_STAGE,
                "manage_iam_role": False,
                "iam_role_arn": self.role.role_arn,
                "lambda_memory_size": 512,
                "lambda_timeout": 30,
                "environment_variables": dict(environment),
            },
        )
        self.rest_api_id = self.chalice.get_resource(REST_API).ref
        self.ws_api_id = self.chalice.get_resource(WS_API).ref
        self.reminder_function_arn = self.chalice.get_resource(REMINDER_FUNCTION).get_att("Arn").to_string()
        self.page_url = _api_url("https", self.rest_api_id, REST_STAGE)
        self.ws_url = _api_url("wss", self.ws_api_id, WS_STAGE)
        self.endpoints = ssm.StringParameter(
            scope,
            "Endpoints",
            parameter_name=endpoints_parameter,
            description="The APIs' URLs for the functions (in their environment they would be a cycle).",
            string_value=cdk.Fn.join(
                "",
                [
                    '{"public_base_url": "',
                    self.page_url,
                    '", "ws_url": "',
                    self.ws_url,
                    '", "ws_management_url": "',
                    _api_url("https", self.ws_api_id, WS_STAGE),
                    '", "reminder_function_arn": "',
                    self.reminder_function_arn,
                    '"}',
                ],
            ),
        )
        self.api_origin = cdk.Fn.join(
            "", ["https://", self.rest_api_id, ".execute-api.", cdk.Aws.REGION, ".", cdk.Aws.URL_SUFFIX]
        )

    def add_log_groups(self) -> dict[str, logs.LogGroup]:
        """Each function logs to a group of its own with a retention (Lambda's implicit
        /aws/lambda/... group would keep everything forever); the function waits for it."""
        function_logs: dict[str, logs.LogGroup] = {}
        for name in FUNCTIONS:
            log_group = logs.LogGroup(
                self.scope, f"{name}Logs", retention=LOG_RETENTION, removal_policy=cdk.RemovalPolicy.DESTROY
            )
            self.chalice.get_resource(name).add_property_override(
                "LoggingConfig", {"LogGroup": log_group.log_group_name}
            )
            function_logs[name] = log_group
        return function_logs

    def function_refs(self) -> dict[str, str]:
        """Every function's name (its Ref), by handler."""
        return {name: self.chalice.get_resource(name).ref for name in FUNCTIONS}

    def add_environment_variable(self, name: str, value: str) -> None:
        """A variable for every function, for a value that exists only after the app does."""
        for function in FUNCTIONS:
            self.chalice.add_environment_variable(name, value, function)


def _api_url(scheme: str, api_id: str, stage: str) -> str:
    return cdk.Fn.join(
        "", [scheme, "://", api_id, ".execute-api.", cdk.Aws.REGION, ".", cdk.Aws.URL_SUFFIX, "/", stage]
    )
