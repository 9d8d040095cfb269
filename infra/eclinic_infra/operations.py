"""What an operator watches in the console: alarms to one SNS topic, and a dashboard with the
figures to look at first."""

from __future__ import annotations

from collections.abc import Mapping

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_sns as sns
from constructs import Construct

from eclinic_infra.worker import MediaWorkers

APP_NAMESPACE = "eClinic"
AT_LEAST = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD


class Operations(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: Mapping[str, str],
        rest_api_name: str,
        tables: Mapping[str, dynamodb.Table],
        workers: MediaWorkers,
        alarm_email: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(self, "Alarms", display_name="eClinic alarms")
        has_email = cdk.CfnCondition(
            self, "HasAlarmEmail", expression=cdk.Fn.condition_not(cdk.Fn.condition_equals(alarm_email, ""))
        )
        subscription = sns.CfnSubscription(
            self, "AlarmMail", topic_arn=self.topic.topic_arn, protocol="email", endpoint=alarm_email
        )
        subscription.cfn_options.condition = has_email
        self._action = actions.SnsAction(self.topic)
        five = cdk.Duration.minutes(5)

        for name, function_name in functions.items():
            for metric_name in ("Errors", "Throttles"):
                self._alarm(
                    f"{name}{metric_name}",
                    cloudwatch.Metric(
                        namespace="AWS/Lambda",
                        metric_name=metric_name,
                        dimensions_map={"FunctionName": function_name},
                        statistic="Sum",
                        period=five,
                    ),
                    threshold=1,
                    description=f"{name}: {metric_name.lower()} in the last 5 minutes",
                )
        self._alarm(
            "Api5xx",
            cloudwatch.Metric(
                namespace="AWS/ApiGateway",
                metric_name="5XXError",
                dimensions_map={"ApiName": rest_api_name},
                statistic="Sum",
                period=five,
            ),
            threshold=5,
            description="REST API: server errors",
        )
        for suffix, table in tables.items():
            self._alarm(
                f"Throttles{suffix.title()}",
                cloudwatch.MathExpression(
                    expression="r + w",
                    using_metrics={
                        "r": table.metric("ReadThrottleEvents", statistic="Sum", period=five),
                        "w": table.metric("WriteThrottleEvents", statistic="Sum", period=five),
                    },
                    period=five,
                ),
                threshold=1,
                description=f"DynamoDB {suffix}: throttled requests",
            )
        self._alarm(
            "SesBounceRate",
            cloudwatch.Metric(
                namespace="AWS/SES", metric_name="Reputation.BounceRate", statistic="Maximum", period=five
            ),
            threshold=0.04,
            description="SES bounce rate above 4% (SES reviews accounts at 5%)",
        )
        self._alarm(
            "WorkerCpu",
            workers.service.metric_cpu_utilization(period=five),
            threshold=85,
            description="media workers: CPU above 85%",
        )
        self._alarm(
            "NoLiveWorker",
            cloudwatch.Metric(
                namespace="ECS/ContainerInsights",
                metric_name="RunningTaskCount",
                dimensions_map={
                    "ClusterName": workers.cluster.cluster_name,
                    "ServiceName": workers.service.service_name,
                },
                statistic="Minimum",
                period=cdk.Duration.minutes(1),
            ),
            threshold=1,
            comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            breaching=True,
            description="no media worker is running: calls cannot start",
        )
        # A worker task that stops (crash, failed health check) is worth a message each time.
        events.Rule(
            self,
            "WorkerTaskStopped",
            description="eClinic media worker task stopped",
            event_pattern=events.EventPattern(
                source=["aws.ecs"],
                detail_type=["ECS Task State Change"],
                detail={"clusterArn": [workers.cluster.cluster_arn], "lastStatus": ["STOPPED"]},
            ),
            targets=[targets.SnsTopic(self.topic)],
        )

        def app_metric(name: str, statistic: str = "Sum") -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace=APP_NAMESPACE,
                metric_name=name,
                dimensions_map={"service": "eclinic-api"},
                statistic=statistic,
                period=five,
            )

        dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=f"eclinic-{cdk.Aws.STACK_NAME}")
        dashboard.add_widgets(
            cloudwatch.GraphWidget(title="Appointments created", left=[app_metric("AppointmentsCreated")]),
            cloudwatch.GraphWidget(
                title="Patients waiting / sessions running",
                left=[app_metric("PatientsOnline"), app_metric("SessionsStarted")],
            ),
            cloudwatch.GraphWidget(title="Call setup failures", left=[app_metric("CallSetupFailures")]),
            cloudwatch.GraphWidget(
                title="Worker load",
                left=[workers.active_visits],
                right=[workers.service.metric_cpu_utilization(period=five)],
            ),
            cloudwatch.GraphWidget(
                title="Transcoded streams (no shared codec)", left=[workers.transcoded_streams]
            ),
        )
        self.dashboard = dashboard

    def _alarm(
        self,
        name: str,
        metric: cloudwatch.IMetric,
        *,
        threshold: float,
        description: str,
        comparison: cloudwatch.ComparisonOperator = AT_LEAST,
        breaching: bool = False,
    ) -> None:
        add_alarm(
            self,
            name,
            metric,
            self._action,
            threshold=threshold,
            description=description,
            comparison=comparison,
            breaching=breaching,
        )


def add_alarm(
    scope: Construct,
    name: str,
    metric: cloudwatch.IMetric,
    action: cloudwatch.IAlarmAction,
    *,
    threshold: float,
    description: str,
    comparison: cloudwatch.ComparisonOperator = AT_LEAST,
    breaching: bool = False,
) -> cloudwatch.Alarm:
    """One alarm of one period to the alarm topic; `breaching`: missing data counts as bad."""
    alarm = cloudwatch.Alarm(
        scope,
        name,
        metric=metric,
        threshold=threshold,
        evaluation_periods=1,
        comparison_operator=comparison,
        alarm_description=description,
        treat_missing_data=cloudwatch.TreatMissingData.BREACHING
        if breaching
        else cloudwatch.TreatMissingData.NOT_BREACHING,
    )
    alarm.add_alarm_action(action)
    return alarm
