"""What operators hear about the TURN service: alarms on the instances' CPU and bandwidth and on
the balancer's healthy hosts, a message for every instance that could not be launched, and its
two dashboard widgets. docs/operations.md says what to do about each alarm.

The resources are made in the TurnService construct's scope, with the ids they have always
had, so that moving them here renamed nothing in the template.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_autoscaling as autoscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_sns as sns
from constructs import Construct

from eclinic_infra.operations import add_alarm
from eclinic_infra.turn_instances import TurnSizing

AT_LEAST = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD


def add_turn_alarms(
    scope: Construct,
    *,
    group: autoscaling.AutoScalingGroup,
    sizing: TurnSizing,
    turn_targets: elbv2.NetworkTargetGroup,
    tls_targets: elbv2.NetworkTargetGroup,
    topic: sns.ITopic,
    dashboard: cloudwatch.Dashboard,
) -> None:
    action = actions.SnsAction(topic)
    five = cdk.Duration.minutes(5)
    by_group = {"AutoScalingGroupName": group.auto_scaling_group_name}

    def ec2_metric(name: str, statistic: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace="AWS/EC2",
            metric_name=name,
            dimensions_map=by_group,
            statistic=statistic,
            period=five,
        )

    cpu, network_out = ec2_metric("CPUUtilization", "Average"), ec2_metric("NetworkOut", "Average")
    alarms = [
        ("TurnCpu", cpu, 85, AT_LEAST, False, "TURN instances: CPU above 85%"),
        (
            "TurnNetworkOut",
            network_out,
            sizing.alarm_bytes_per_minute,
            AT_LEAST,
            False,
            "TURN instances: network out above 80% of the instance type's baseline",
        ),
        (
            "TurnUnhealthyHosts",
            turn_targets.metrics.un_healthy_host_count(period=five, statistic="Maximum"),
            1,
            AT_LEAST,
            False,
            "TURN: an unhealthy host behind UDP/TCP 3478",
        ),
        (
            "TurnTlsUnhealthyHosts",
            tls_targets.metrics.un_healthy_host_count(period=five, statistic="Maximum"),
            1,
            AT_LEAST,
            False,
            "TURN: an unhealthy host behind 443",
        ),
        (
            "NoHealthyTurnHost",
            turn_targets.metrics.healthy_host_count(period=cdk.Duration.minutes(1), statistic="Minimum"),
            1,
            cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            True,
            "no healthy TURN host: browsers behind strict firewalls cannot connect",
        ),
    ]
    for name, metric, threshold, comparison, breaching, description in alarms:
        add_alarm(
            scope,
            name,
            metric,
            action,
            threshold=threshold,
            description=description,
            comparison=comparison,
            breaching=breaching,
        )
    # An instance that could not be started is worth a message each time, as a stopped worker is.
    events.Rule(
        scope,
        "LaunchFailed",
        description="eClinic TURN instance could not be launched",
        event_pattern=events.EventPattern(
            source=["aws.autoscaling"],
            detail_type=["EC2 Instance Launch Unsuccessful"],
            detail={"AutoScalingGroupName": [group.auto_scaling_group_name]},
        ),
        targets=[targets.SnsTopic(topic)],
    )
    dashboard.add_widgets(
        cloudwatch.GraphWidget(
            title="TURN relay", left=[network_out, ec2_metric("NetworkIn", "Average")], right=[cpu]
        ),
        cloudwatch.GraphWidget(
            title="TURN hosts",
            left=[
                turn_targets.metrics.healthy_host_count(period=five),
                turn_targets.metrics.un_healthy_host_count(period=five),
            ],
        ),
    )
