"""The reminders' side of the stack: the EventBridge Scheduler group that holds one one-time
schedule per appointment and reminder, and the role Scheduler assumes to invoke the reminder
function, which may do that and nothing else.

The functions create, move and delete schedules in this group only (`schedule/<group>/*`),
and may pass this role only, to Scheduler only: they cannot make a schedule that invokes
anything else, nor hand the role to another service. The role trusts Scheduler only for
schedules of this account's group (aws:SourceAccount, aws:SourceArn), so another account's
schedule cannot borrow it.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from constructs import Construct

SCHEDULER = "scheduler.amazonaws.com"


class ReminderSchedules(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, group_name: str) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.group = scheduler.CfnScheduleGroup(self, "Group", name=group_name)
        self.group_name = group_name
        # What the functions may create, update and delete: the schedules of this group.
        self.schedules_arn = stack.format_arn(
            service="scheduler", resource="schedule", resource_name=f"{group_name}/*"
        )
        self.role = iam.Role(
            self,
            "InvokeRole",
            description="EventBridge Scheduler invokes the reminder function with it, and nothing else.",
            assumed_by=iam.ServicePrincipal(
                SCHEDULER,
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {"aws:SourceArn": self.schedules_arn},
                },
            ),
        )

    def may_invoke(self, function_arn: str) -> None:
        """The role's one permission: invoke the reminder function."""
        self.role.add_to_policy(
            iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[function_arn])
        )

    def grant_planning(self, grantee: iam.Role) -> None:
        """What `EventBridgeReminderScheduler` calls, on this group's schedules, and passing
        this role to Scheduler only."""
        grantee.add_to_policy(
            iam.PolicyStatement(
                actions=["scheduler:CreateSchedule", "scheduler:UpdateSchedule", "scheduler:DeleteSchedule"],
                resources=[self.schedules_arn],
            )
        )
        grantee.add_to_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[self.role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": SCHEDULER}},
            )
        )
