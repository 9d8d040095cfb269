"""What the functions' role may do: exactly the calls chalicelib makes, on exactly the resources
it makes them on, and explicit denials where a broader grant could creep in (the append-only
audit table, SNS topics). A reviewer checks the role against the code here, in one place.
"""

from __future__ import annotations

from collections.abc import Mapping

import aws_cdk as cdk
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_ssm as ssm

from eclinic_infra.files import Files
from eclinic_infra.functions import WS_STAGE
from eclinic_infra.mail import Mail
from eclinic_infra.reminders import ReminderSchedules
from eclinic_infra.shared_secrets import SharedSecrets

# The append-only table: the functions may add and read its items, never change or remove one.
AUDIT_TABLE = "audit"
AUDIT_DENIED = (
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:PartiQLUpdate",
    "dynamodb:PartiQLDelete",
)


def grant_functions(
    role: iam.Role,
    *,
    ws_api_id: str,
    tables: Mapping[str, dynamodb.Table],
    mail: Mail,
    bus: events.EventBus,
    user_pool: cognito.UserPool,
    files: Files,
    secrets: SharedSecrets,
    endpoints: ssm.StringParameter,
    reminders: ReminderSchedules,
) -> None:
    """Exactly what chalicelib calls, on exactly these resources."""
    stack = cdk.Stack.of(role)

    def with_indexes(arns: list[str]) -> list[str]:
        return [*arns, *(f"{arn}/index/*" for arn in arns)]

    audit_arn = tables[AUDIT_TABLE].table_arn
    table_arns = [t.table_arn for suffix, t in tables.items() if suffix != AUDIT_TABLE]
    role.add_to_policy(
        iam.PolicyStatement(
            actions=[
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "dynamodb:Query",
                "dynamodb:BatchWriteItem",
                "dynamodb:ConditionCheckItem",
                "dynamodb:DescribeTable",
            ],
            resources=with_indexes(table_arns),
        )
    )
    # The audit trail is append-only: a new item (a conditional Put, alone or inside
    # TransactWriteItems, which IAM checks as PutItem) and reads. Nothing that changes or
    # removes an item, and an explicit Deny so that no later grant can add it.
    role.add_to_policy(
        iam.PolicyStatement(
            actions=["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:Query", "dynamodb:DescribeTable"],
            resources=with_indexes([audit_arn]),
        )
    )
    role.add_to_policy(
        iam.PolicyStatement(
            effect=iam.Effect.DENY,
            actions=[*AUDIT_DENIED],
            resources=with_indexes([audit_arn]),
        )
    )
    role.add_to_policy(
        iam.PolicyStatement(
            actions=["ses:SendRawEmail", "ses:SendEmail"],
            resources=[
                stack.format_arn(
                    service="ses",
                    resource="identity",
                    resource_name=mail.sender_identity.email_identity_name,
                ),
                stack.format_arn(
                    service="ses",
                    resource="configuration-set",
                    resource_name=mail.configuration_set.configuration_set_name,
                ),
            ],
        )
    )
    role.add_to_policy(iam.PolicyStatement(actions=["events:PutEvents"], resources=[bus.event_bus_arn]))
    role.add_to_policy(
        iam.PolicyStatement(
            actions=["execute-api:ManageConnections"],
            resources=[
                stack.format_arn(
                    service="execute-api",
                    resource=ws_api_id,
                    resource_name=f"{WS_STAGE}/*/@connections/*",
                )
            ],
        )
    )
    role.add_to_policy(
        iam.PolicyStatement(
            actions=[
                "cognito-idp:ListGroups",
                "cognito-idp:AdminInitiateAuth",
                "cognito-idp:AdminRespondToAuthChallenge",
            ],
            resources=[user_pool.user_pool_arn],
        )
    )
    role.add_to_policy(
        iam.PolicyStatement(
            actions=["s3:PutObject", "s3:GetObject"],
            resources=[
                files.bucket.arn_for_objects("screenshots/*"),
                files.bucket.arn_for_objects("documents/*"),
            ],
        )
    )
    # A picture the worker put after the patient's consent expired is deleted (and that audited).
    role.add_to_policy(
        iam.PolicyStatement(
            actions=["s3:DeleteObject"], resources=[files.bucket.arn_for_objects("screenshots/*")]
        )
    )
    role.add_to_policy(
        iam.PolicyStatement(actions=["kms:GenerateDataKey", "kms:Decrypt"], resources=[files.key.key_arn])
    )
    role.add_to_policy(
        iam.PolicyStatement(
            actions=["secretsmanager:GetSecretValue"],
            resources=[
                secrets.link.secret_arn,
                secrets.worker.secret_arn,
                secrets.turn.secret_arn,
            ],
        )
    )
    role.add_to_policy(iam.PolicyStatement(actions=["ssm:GetParameter"], resources=[endpoints.parameter_arn]))
    reminders.grant_planning(role)
    # Texts go straight to phone numbers (chalicelib/texts/sender.py): an SMS publish has no
    # resource to name, so it is allowed on "*" and publishing to any topic is denied.
    role.add_to_policy(
        iam.PolicyStatement(actions=["sns:Publish", "sns:CheckIfPhoneNumberIsOptedOut"], resources=["*"])
    )
    role.add_to_policy(
        iam.PolicyStatement(
            effect=iam.Effect.DENY,
            actions=["sns:Publish"],
            resources=[stack.format_arn(service="sns", region="*", account="*", resource="*")],
        )
    )
